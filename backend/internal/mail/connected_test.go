package mail

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/mail/mailpittest"
	"github.com/parleychat/parley/backend/internal/store"
)

// Replies to a visitor with a widget socket open on some backend are not
// mailed (they see them live); once the last socket has been closed for
// the delay, the unread ones go in one email. A backend that crashed with
// the visitor's socket open stops vouching for it once its heartbeat is
// stale, so its visitors are mailed after all.
func TestReplyMailedOnlyWhenNotConnected(t *testing.T) {
	mp := mailpittest.Start(t)
	w := newWorld(t, "en", nil)
	ctx := context.Background()
	svc := New(w.st, testConfig(mp)) // 300 ms delay
	stop := svc.Start()
	defer stop()
	v := w.conv.VisitorID
	ctrl := w.control(t)

	// Connected on backend "b1": two replies, no email however long they wait.
	_, err := w.st.SyncVisitorSockets(ctx, "b1", []int64{v}, nil, false)
	check(t, err)
	w.say(t, store.AuthorVisitor, "Hello?")
	w.say(t, store.AuthorAgent, "Hi, how can I help?")
	w.say(t, store.AuthorAgent, "Still there?")
	waitPastDelay(t, ctrl)
	if n := outboxTo(t, w); n != 0 {
		t.Fatalf("a connected visitor got %d emails", n)
	}
	ok, err := w.st.VisitorConnected(ctx, v, time.Second)
	check(t, err)
	if !ok {
		t.Fatal("the visitor does not count as connected")
	}

	// The socket closes: after the delay the unread burst goes, once.
	_, err = w.st.SyncVisitorSockets(ctx, "b1", nil, []int64{v}, false)
	check(t, err)
	got := mp.WaitTo(t, w.email, 1, 10*time.Second)
	if m := got[0]; !strings.Contains(m.Text, "Hi, how can I help?") || !strings.Contains(m.Text, "Still there?") {
		t.Fatalf("the burst email lacks a reply:\n%s", m.Text)
	}
	waitNoDue(t, w.st)

	// Back on backend "b2", which then crashes (its heartbeat goes stale
	// without the socket being marked closed): a reply is mailed once the
	// heartbeat is older than store.VisitorSocketsFresh.
	_, err = w.st.SyncVisitorSockets(ctx, "b2", []int64{v}, nil, false)
	check(t, err)
	w.say(t, store.AuthorAgent, "Your parcel left today.")
	waitPastDelay(t, ctrl)
	if n := outboxTo(t, w); n != 1 {
		t.Fatalf("%d emails while connected to b2, want the first only", n)
	}
	_, err = w.st.DB().Exec(`UPDATE backend_heartbeats SET seen_at = now() - $1::interval WHERE backend = 'b2'`,
		(store.VisitorSocketsFresh + time.Second).String())
	check(t, err)
	got = mp.WaitTo(t, w.email, 2, 10*time.Second)
	if !strings.Contains(got[1].Text, "Your parcel left today.") || strings.Contains(got[1].Text, "Still there?") {
		t.Fatalf("second email:\n%s", got[1].Text)
	}
}

// waitPastDelay has the reply job look at every mark written before now,
// past the delay: a reply to ctrl (a visitor never connected), written
// now, is mailed once past the delay, and the job takes the oldest first.
func waitPastDelay(t *testing.T, ctrl *world) {
	t.Helper()
	ctrl.say(t, store.AuthorAgent, "A reply to the control.")
	waitNoDue(t, ctrl.st, ctrl.conv.ID)
}

// outboxTo counts the emails written to addr.
func outboxTo(t *testing.T, w *world) int {
	t.Helper()
	var n int
	check(t, w.st.DB().Get(&n, `SELECT count(*) FROM outbox WHERE recipient = $1`, w.email))
	return n
}

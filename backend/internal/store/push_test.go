package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/store"
)

// The push queue: a burst of team messages is one call; the visitor's own
// messages and internal notes make none; a failed call is retried with
// every message of the burst; a message stored while a call is being made
// is not covered by it and waits as the next burst; a removed token drops
// what waits.
func TestPushQueueBursts(t *testing.T) {
	st := store.New(dbtest.New(t))
	f := newFixture(t, st, "push")
	c := newConversation(t, f)
	ctx := context.Background()
	check(t, st.SetPushToken(ctx, f.account.ID, c.VisitorID, "fcm", "tok-1"))
	_, err := st.SetPushWebhook(ctx, f.account.ID, "http://127.0.0.1:1/hook", "0123456789abcdef")
	check(t, err)
	say := func(author, body string, internal bool) int64 {
		t.Helper()
		m, _, err := st.AppendMessage(ctx, store.NewMessage{ConversationID: c.ID, AuthorType: author, Body: body, Internal: internal})
		check(t, err)
		return m.Seq
	}
	say(store.AuthorVisitor, "hi", false)
	say(store.AuthorAgent, "a note", true)
	var calls [][]store.PushCall
	deliver := func(send func([]store.PushCall) []store.PushOutcome) int {
		t.Helper()
		n, err := st.DeliverPushes(ctx, 10, 0, func(cs []store.PushCall) []store.PushOutcome {
			calls = append(calls, cs)
			return send(cs)
		}, func(int) time.Duration { return 0 }, 5)
		check(t, err)
		return n
	}
	ok := func(cs []store.PushCall) []store.PushOutcome { return make([]store.PushOutcome, len(cs)) }
	if n := deliver(ok); n != 0 {
		t.Fatalf("%d calls for the visitor's message and a note", n)
	}
	say(store.AuthorAgent, "one", false)
	say(store.AuthorBot, "two", false)
	fail := func(cs []store.PushCall) []store.PushOutcome {
		return []store.PushOutcome{{Err: errors.New("503")}}
	}
	deliver(fail)
	three := say(store.AuthorAgent, "three", false)
	// While this call is made, a fourth message comes.
	var four int64
	deliver(func(cs []store.PushCall) []store.PushOutcome {
		four = say(store.AuthorAgent, "four", false)
		return ok(cs)
	})
	if len(calls) != 2 || calls[1][0].Messages != 3 || calls[1][0].LastSeq != three || calls[1][0].Text != "three" || calls[1][0].Attempts != 2 || calls[1][0].Token != "tok-1" {
		t.Fatalf("calls %+v", calls)
	}
	deliver(ok)
	if len(calls) != 3 || calls[2][0].Messages != 1 || calls[2][0].FirstSeq != four || calls[2][0].LastSeq != four {
		t.Fatalf("the message stored during a call: %+v", calls[len(calls)-1])
	}
	if n := deliver(ok); n != 0 {
		t.Fatalf("%d more calls after everything was delivered", n)
	}
	say(store.AuthorAgent, "five", false)
	check(t, st.SetPushToken(ctx, f.account.ID, c.VisitorID, "", ""))
	if n := deliver(ok); n != 0 || len(calls) != 3 {
		t.Fatalf("a call after the token was removed")
	}
	sent, waiting, skipped, failed, err := st.PushCounts(ctx)
	check(t, err)
	if sent != 2 || waiting != 0 || skipped != 1 || failed != 0 {
		t.Fatalf("counts sent %d waiting %d skipped %d failed %d", sent, waiting, skipped, failed)
	}
}

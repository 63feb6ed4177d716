package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/store"
)

func newConversation(t *testing.T, f *fixture) *store.Conversation {
	t.Helper()
	ctx := context.Background()
	_, v, err := f.st.CreateVisitor(ctx, f.account.ID)
	check(t, err)
	c, _, err := f.st.CreateConversation(ctx, store.NewConversation{AccountID: f.account.ID, ChatflowID: f.chatflow, InboxID: f.inbox.ID, VisitorID: v.ID})
	check(t, err)
	return c
}

// Concurrent writers get gap-free sequence numbers, and a client id stored
// twice (a resend racing its original) is one row.
func TestAppendMessageSequencesAndIdempotence(t *testing.T) {
	st := store.New(dbtest.New(t))
	f := newFixture(t, st, "seq")
	c := newConversation(t, f)
	ctx := context.Background()

	const writers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each*2)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				// Each message is sent twice at once, as a resend after a lost ack would.
				var inner sync.WaitGroup
				for r := 0; r < 2; r++ {
					inner.Add(1)
					go func() {
						defer inner.Done()
						_, _, err := st.AppendMessage(ctx, store.NewMessage{ConversationID: c.ID, ClientID: id, AuthorType: store.AuthorVisitor, Body: id})
						errs <- err
					}()
				}
				inner.Wait()
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		check(t, err)
	}
	var n, max, distinct int
	check(t, st.DB().QueryRow(`SELECT count(*), max(seq), count(DISTINCT client_id) FROM messages WHERE conversation_id = $1`, c.ID).Scan(&n, &max, &distinct))
	if n != writers*each || distinct != n {
		t.Fatalf("%d rows, %d distinct client ids; want %d", n, distinct, writers*each)
	}
	// A seq may be skipped only by a duplicate that lost the race; never reused.
	got, err := st.MessagesAfter(ctx, c.ID, 0, 1000, true)
	check(t, err)
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq {
			t.Fatalf("seq %d after %d", got[i].Seq, got[i-1].Seq)
		}
	}

	again, created, err := st.AppendMessage(ctx, store.NewMessage{ConversationID: c.ID, ClientID: "w0-0", AuthorType: store.AuthorVisitor, Body: "different body"})
	check(t, err)
	if created || again.Body != "w0-0" {
		t.Fatalf("resend created=%v body=%q", created, again.Body)
	}
}

func TestAppendMessageClosedAndInternal(t *testing.T) {
	st := store.New(dbtest.New(t))
	f := newFixture(t, st, "closed")
	c := newConversation(t, f)
	ctx := context.Background()

	_, _, err := st.AppendMessage(ctx, store.NewMessage{ConversationID: c.ID, AuthorType: store.AuthorAgent, Internal: true, Body: "note"})
	check(t, err)
	visible, err := st.MessagesAfter(ctx, c.ID, 0, 10, false)
	check(t, err)
	all, err := st.MessagesAfter(ctx, c.ID, 0, 10, true)
	check(t, err)
	if len(visible) != 0 || len(all) != 1 {
		t.Fatalf("notes: %d visible, %d for agents", len(visible), len(all))
	}

	_, err = st.DB().Exec(`UPDATE conversations SET status = 'closed' WHERE id = $1`, c.ID)
	check(t, err)
	_, _, err = st.AppendMessage(ctx, store.NewMessage{ConversationID: c.ID, ClientID: "late", AuthorType: store.AuthorVisitor, Body: "hello?", RequireOpen: true})
	if !errors.Is(err, store.ErrConversationClosed) {
		t.Fatalf("send to a closed conversation: %v", err)
	}
	if _, _, err := st.AppendMessage(ctx, store.NewMessage{ConversationID: 999999, AuthorType: store.AuthorVisitor, Body: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown conversation: %v", err)
	}
	var n int
	check(t, st.DB().Get(&n, `SELECT count(*) FROM messages WHERE conversation_id = $1`, c.ID))
	if n != 1 {
		t.Fatalf("%d messages stored", n)
	}
}

// A burst of appends (written in shared batches) gives every caller the
// answer its own message deserves: stored with the next seq of its own
// conversation and its exact body, a twin or resend as not created, a
// closed or unknown conversation refused.
func TestAppendMessageBurst(t *testing.T) {
	st := store.New(dbtest.New(t))
	f := newFixture(t, st, "burst")
	ctx := context.Background()
	convs := []*store.Conversation{newConversation(t, f), newConversation(t, f), newConversation(t, f)}
	closed := newConversation(t, f)
	_, err := st.DB().Exec(`UPDATE conversations SET status = 'closed' WHERE id = $1`, closed.ID)
	check(t, err)
	bodies := []string{`plain`, `"quoted", {braced}`, `back\slash \" NULL`, "new\nline", `NULL`, "héllo 👋", ``}

	type result struct {
		conv    int64
		id      string
		body    string
		msg     *store.Message
		created bool
		err     error
	}
	const per = 40
	var wg sync.WaitGroup
	results := make(chan result, 1000)
	send := func(conv int64, id, body string, requireOpen bool) {
		defer wg.Done()
		m, created, err := st.AppendMessage(ctx, store.NewMessage{ConversationID: conv, ClientID: id,
			AuthorType: store.AuthorVisitor, Body: body, RequireOpen: requireOpen})
		results <- result{conv, id, body, m, created, err}
	}
	for i := 0; i < per; i++ {
		for ci, c := range convs {
			body := bodies[(i+ci)%len(bodies)]
			wg.Add(2)
			go send(c.ID, fmt.Sprintf("m%d", i), body, true)
			go send(c.ID, fmt.Sprintf("m%d", i), body, true) // its twin
		}
		wg.Add(2)
		go send(closed.ID, fmt.Sprintf("c%d", i), "too late", true)
		go send(999999, fmt.Sprintf("u%d", i), "nowhere", false)
	}
	wg.Wait()
	close(results)
	created := map[int64]int{}
	for r := range results {
		switch r.conv {
		case closed.ID:
			if !errors.Is(r.err, store.ErrConversationClosed) {
				t.Fatalf("closed conversation: %v", r.err)
			}
		case 999999:
			if !errors.Is(r.err, store.ErrNotFound) {
				t.Fatalf("unknown conversation: %v", r.err)
			}
		default:
			check(t, r.err)
			if r.msg.Body != r.body || r.msg.ClientID == nil || *r.msg.ClientID != r.id || r.msg.ConversationID != r.conv {
				t.Fatalf("append %s/%s answered %+v", fmt.Sprint(r.conv), r.id, r.msg)
			}
			if r.created {
				created[r.conv]++
			}
		}
	}
	for _, c := range convs {
		if created[c.ID] != per {
			t.Fatalf("conversation %d: %d created, want %d (one per twin pair)", c.ID, created[c.ID], per)
		}
		ms, err := st.MessagesAfter(ctx, c.ID, 0, 1000, true)
		check(t, err)
		if len(ms) != per {
			t.Fatalf("conversation %d holds %d messages, want %d", c.ID, len(ms), per)
		}
		for i, m := range ms {
			if i > 0 && m.Seq <= ms[i-1].Seq {
				t.Fatalf("seq %d after %d", m.Seq, ms[i-1].Seq)
			}
		}
		var last int64
		check(t, st.DB().Get(&last, `SELECT last_seq FROM conversations WHERE id = $1`, c.ID))
		// A twin that lost the race across two batches skips a seq (the
		// documented gap); last_seq may pass the last message, never trail it.
		if last < ms[len(ms)-1].Seq {
			t.Fatalf("conversation's last_seq %d, behind its last message's %d", last, ms[len(ms)-1].Seq)
		}
	}
	var n int
	check(t, st.DB().Get(&n, `SELECT count(*) FROM messages WHERE conversation_id = $1`, closed.ID))
	if n != 0 {
		t.Fatalf("%d messages stored in a closed conversation", n)
	}
}

// A resend written by another backend while this one's batch waits for the
// conversation's lock (its snapshot cannot see the twin) is answered as
// stored before, with the twin's row: the batch is not lost.
func TestAppendMessageTwinFromAnotherBackend(t *testing.T) {
	st := store.New(dbtest.New(t))
	f := newFixture(t, st, "twin")
	c := newConversation(t, f)
	other := newConversation(t, f)
	ctx := context.Background()
	tx, err := st.DB().BeginTx(ctx, nil)
	check(t, err)
	defer tx.Rollback()
	var seq int64
	check(t, tx.QueryRowContext(ctx, `UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq`, c.ID).Scan(&seq))
	_, err = tx.ExecContext(ctx, `INSERT INTO messages (conversation_id, seq, client_id, author_type, body) VALUES ($1, $2, 'twin', 'visitor', 'first')`, c.ID, seq)
	check(t, err)

	type result struct {
		m       *store.Message
		created bool
		err     error
	}
	done := make(chan result, 2)
	for _, nm := range []store.NewMessage{
		{ConversationID: c.ID, ClientID: "twin", AuthorType: store.AuthorVisitor, Body: "first", RequireOpen: true},
		{ConversationID: other.ID, ClientID: "else", AuthorType: store.AuthorVisitor, Body: "elsewhere", RequireOpen: true},
	} {
		go func() {
			m, created, err := st.AppendMessage(ctx, nm)
			done <- result{m, created, err}
		}()
	}
	// The batch waits for the row lock the open transaction holds.
	for waiting := false; !waiting; {
		check(t, st.DB().GetContext(ctx, &waiting, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%append_messages%')`))
	}
	check(t, tx.Commit())
	for range 2 {
		r := <-done
		check(t, r.err)
		switch r.m.ConversationID {
		case c.ID:
			if r.created || r.m.Seq != seq || r.m.Body != "first" {
				t.Fatalf("the twin: created %v, seq %d, body %q; want the other backend's row (seq %d)", r.created, r.m.Seq, r.m.Body, seq)
			}
		case other.ID:
			if !r.created || r.m.Body != "elsewhere" {
				t.Fatalf("the batch's other message: created %v, %+v", r.created, r.m)
			}
		}
	}
	var n int
	check(t, st.DB().GetContext(ctx, &n, `SELECT count(*) FROM messages WHERE conversation_id = $1`, c.ID))
	if n != 1 {
		t.Fatalf("%d rows for one client id", n)
	}
}

// A form saved with a user loaded before a password change does not put
// the old password back.
func TestUpdateUserLeavesThePasswordAlone(t *testing.T) {
	st := store.New(dbtest.New(t))
	f := newFixture(t, st, "pw")
	ctx := context.Background()
	u := &store.User{AccountID: f.account.ID, Email: "ana@example.com", Name: "Ana", PasswordHash: "old-hash", Status: store.UserAvailable}
	check(t, st.CreateUser(ctx, u))
	stale, err := st.User(ctx, f.account.ID, u.ID)
	check(t, err)
	check(t, st.SetPasswordHash(ctx, f.account.ID, u.ID, "new-hash"))
	stale.Status = store.UserAway
	check(t, st.UpdateUser(ctx, stale))
	var hash, status string
	check(t, st.DB().QueryRow(`SELECT password_hash, status FROM users WHERE id = $1`, u.ID).Scan(&hash, &status))
	if hash != "new-hash" || status != store.UserAway {
		t.Fatalf("after a stale save: hash %q, status %q", hash, status)
	}
}

package mail

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/mail/mailpittest"
	"github.com/parleychat/parley/backend/internal/store"
)

// Agents hear of their chats by email only while no inbox page of theirs
// is open, as they chose: at once, hourly, or never.
func TestAgentNews(t *testing.T) {
	mp := mailpittest.Start(t)
	w := newWorld(t, "en", nil)
	ctx := context.Background()
	_, err := w.st.DB().Exec(`INSERT INTO inbox_members (inbox_id, user_id) VALUES ($1, $2)`, w.conv.InboxID, w.agent.ID)
	check(t, err)
	cfg := testConfig(mp)
	cfg.PublicURL = "https://chat.acme.test"
	cfg.WaitingAfter = time.Hour
	svc := New(w.st, cfg)
	stop := sync.OnceFunc(svc.Start())
	defer stop()
	to := w.agent.Email
	written := func() (n int) {
		check(t, w.st.DB().Get(&n, `SELECT count(*) FROM outbox WHERE recipient = $1`, to))
		return n
	}

	// An inbox page is open: the assignment and the message are seen there.
	closed := svc.InboxOpened(w.agent.ID)
	check(t, w.st.AssignToUser(ctx, w.acct.ID, w.conv.ID, w.agent.ID, "Assigned to Ann"))
	w.say(t, store.AuthorVisitor, "Anyone there?")
	waitNews(t, w.st)
	closed()

	// No page open: a message in their chat is mailed at once, with a link to it.
	w.say(t, store.AuthorVisitor, "Hello? I need the invoice.")
	got := mp.WaitTo(t, to, 1, 10*time.Second)
	if len(got) != 1 || !strings.Contains(got[0].Subject, "New message") || !strings.Contains(got[0].Text, "I need the invoice") ||
		!strings.Contains(got[0].Text, "https://chat.acme.test/inbox/conversations/") {
		t.Fatalf("agent email: %q\n%s", got[0].Subject, got[0].Text)
	}

	// Hourly: nothing until an hour after the last email, then one digest.
	check(t, w.st.SetAgentMailPref(ctx, w.agent.ID, store.NotifyHourly))
	w.say(t, store.AuthorVisitor, "Still waiting for the invoice.")
	// One more run of the job, from here: it collects the message and
	// writes what is due.
	if n, err := svc.AgentNewsOnce(ctx); err != nil || n != 0 || written() != 1 {
		t.Fatalf("hourly agent: %d emails written by a run within the hour (%v), %d in all", n, err, written())
	}
	_, err = w.st.DB().Exec(`UPDATE agent_mail_prefs SET last_sent = now() - interval '2 hours' WHERE user_id = $1`, w.agent.ID)
	check(t, err)
	got = mp.WaitTo(t, to, 2, 10*time.Second)
	if !strings.Contains(got[1].Text, "Still waiting for the invoice.") {
		t.Fatalf("digest:\n%s", got[1].Text)
	}

	// An unassigned chat that waited past the setting reaches the inbox's agents.
	check(t, w.st.SetAgentMailPref(ctx, w.agent.ID, store.NotifyInstant))
	_, v, err := w.st.CreateVisitor(ctx, w.acct.ID)
	check(t, err)
	waiting, _, err := w.st.CreateConversation(ctx, store.NewConversation{AccountID: w.acct.ID, ChatflowID: w.flow.ID, InboxID: w.conv.InboxID, VisitorID: v.ID})
	check(t, err)
	_, _, err = w.st.AppendMessage(ctx, store.NewMessage{ConversationID: waiting.ID, AuthorType: store.AuthorVisitor, Body: "Is this shop open?", ClientID: "w1"})
	check(t, err)
	_, err = w.st.DB().Exec(`UPDATE conversations SET created_at = now() - interval '2 hours' WHERE id = $1`, waiting.ID)
	check(t, err)
	got = mp.WaitTo(t, to, 3, 10*time.Second)
	if !strings.Contains(got[2].Subject, "Waiting for an answer") || !strings.Contains(got[2].Text, "Is this shop open?") {
		t.Fatalf("waiting email: %q\n%s", got[2].Subject, got[2].Text)
	}

	// Assigned with no inbox page open: told at once.
	check(t, w.st.AssignToUser(ctx, w.acct.ID, waiting.ID, w.agent.ID, "Assigned to Ann"))
	got = mp.WaitTo(t, to, 4, 10*time.Second)
	if !strings.Contains(got[3].Subject, "Assigned to you") {
		t.Fatalf("assignment email: %q\n%s", got[3].Subject, got[3].Text)
	}

	// Off: nothing more.
	check(t, w.st.SetAgentMailPref(ctx, w.agent.ID, store.NotifyOff))
	w.say(t, store.AuthorVisitor, "Bye then.")
	waitNews(t, w.st) // collected and dropped
	stop()            // and anything written, sent
	if got := mp.WaitTo(t, to, 4, time.Second); len(got) != 4 || written() != 4 {
		t.Fatalf("an agent who chose off got %d emails (%d written)", len(got), written())
	}
}

// waitNews waits until the agents' news are collected and handled.
func waitNews(t *testing.T, st *store.Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		// Collected: no open chat has a visitor message its agent was
		// neither told about nor read. Handled: no news left.
		var n int
		check(t, st.DB().Get(&n, `SELECT (SELECT count(*) FROM agent_news) + (SELECT count(*) FROM conversations c
			LEFT JOIN conversation_reads r ON r.conversation_id = c.id
			LEFT JOIN agent_message_told m ON m.conversation_id = c.id
			WHERE c.status = 'open' AND c.assignee_id IS NOT NULL AND EXISTS (SELECT 1 FROM messages v
				WHERE v.conversation_id = c.id AND v.author_type = 'visitor'
				AND v.seq > GREATEST(COALESCE(r.agent_read_seq, 0), COALESCE(m.told_seq, 0))))`))
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("agent news never handled")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// "Forgot password": a link for a user who signs in, the same (silent)
// outcome for an unknown address, and a throttle per address.
func TestPasswordResetMail(t *testing.T) {
	mp := mailpittest.Start(t)
	w := newWorld(t, "en", nil)
	ctx := context.Background()
	_, err := w.st.DB().Exec(`UPDATE users SET password_hash = 'x' WHERE id = $1`, w.agent.ID)
	check(t, err)
	svc := New(w.st, testConfig(mp))
	stop := sync.OnceFunc(svc.Start())
	defer stop()
	link := func(tok string) string { return "https://chat.acme.test/inbox/reset/" + tok }
	check(t, svc.RequestPasswordReset(ctx, "nobody@acme.test", "192.0.2.1", link))
	for range 5 {
		check(t, svc.RequestPasswordReset(ctx, strings.ToUpper(w.agent.Email), "192.0.2.1", link))
	}
	// Each request writes its email before it returns; stopped, the
	// senders have delivered what they took.
	var written int
	check(t, w.st.DB().Get(&written, `SELECT count(*) FROM outbox WHERE lower(recipient) = lower($1)`, w.agent.Email))
	mp.WaitTo(t, w.agent.Email, 3, 10*time.Second)
	stop()
	got := mp.WaitTo(t, w.agent.Email, 3, time.Second)
	if len(got) != 3 || written != 3 {
		t.Fatalf("%d reset emails (%d written) for 5 requests, want the throttle's 3", len(got), written)
	}
	i := strings.Index(got[0].Text, "https://chat.acme.test/inbox/reset/")
	if i < 0 {
		t.Fatalf("no link:\n%s", got[0].Text)
	}
	tok := strings.Fields(got[0].Text[i+len("https://chat.acme.test/inbox/reset/"):])[0]
	if _, err := w.st.PasswordResetUser(ctx, tok); err != nil {
		t.Fatalf("the link's token: %v", err)
	}
	if _, err := w.st.UsePasswordReset(ctx, tok, "newhash"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.st.UsePasswordReset(ctx, tok, "again"); err != store.ErrNotFound {
		t.Fatalf("a used link worked again: %v", err)
	}
	if all, _ := mp.Messages(); len(all) != 3 {
		t.Fatalf("%d emails in all; the unknown address got one?", len(all))
	}
}

// Emails are unique per account only: "forgot password" for an address that
// signs in to two accounts mails each account's user a link of their own.
func TestPasswordResetMailForEachAccount(t *testing.T) {
	mp := mailpittest.Start(t)
	w := newWorld(t, "en", nil)
	ctx := context.Background()
	_, err := w.st.DB().Exec(`UPDATE users SET password_hash = 'x' WHERE id = $1`, w.agent.ID)
	check(t, err)
	other := &store.Account{Name: "Globex"}
	check(t, w.st.CreateAccount(ctx, other))
	twin := &store.User{AccountID: other.ID, Email: w.agent.Email, Name: "Ann at Globex", PasswordHash: "y"}
	check(t, w.st.CreateUser(ctx, twin))
	svc := New(w.st, testConfig(mp))
	stop := svc.Start()
	defer stop()
	const base = "https://chat.acme.test/inbox/reset/"
	check(t, svc.RequestPasswordReset(ctx, w.agent.Email, "192.0.2.1", func(tok string) string { return base + tok }))
	got := mp.WaitTo(t, w.agent.Email, 2, 10*time.Second)
	users := map[int64]bool{}
	for _, m := range got {
		i := strings.Index(m.Text, base)
		if i < 0 {
			t.Fatalf("no link:\n%s", m.Text)
		}
		u, err := w.st.PasswordResetUser(ctx, strings.Fields(m.Text[i+len(base):])[0])
		check(t, err)
		users[u.ID] = true
	}
	if len(got) != 2 || !users[w.agent.ID] || !users[twin.ID] {
		t.Fatalf("reset links for users %v, want %d and %d", users, w.agent.ID, twin.ID)
	}
}

package mail

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/mail/mailpittest"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// world is an account with a chatflow in lang, an agent and a conversation
// whose visitor left an address.
type world struct {
	st    *store.Store
	acct  *store.Account
	agent *store.User
	flow  *store.ChatflowRow
	conv  *store.Conversation
	email string
}

func newWorld(t *testing.T, lang string, edit func(*chatflow.Chatflow)) *world {
	t.Helper()
	ctx := context.Background()
	st := store.New(dbtest.New(t))
	w := &world{st: st, acct: &store.Account{Name: "Acme", CompanyName: "Acme Shoes"}}
	check(t, st.CreateAccount(ctx, w.acct))
	w.agent = &store.User{AccountID: w.acct.ID, Email: "agent@acme.test", Name: "Ann Agent", HasSeat: true}
	check(t, st.CreateUser(ctx, w.agent))
	in := &store.Inbox{AccountID: w.acct.ID, Name: "Support", HasChatChannel: true}
	check(t, st.CreateInbox(ctx, in))
	cf := chatflow.Default()
	cf.Name, cf.InboxID, cf.Language, cf.Enabled = "Web", in.ID, lang, true
	cf.Look.AccentColor = "#aa3300"
	if edit != nil {
		edit(&cf)
	}
	row, err := cf.Row(w.acct.ID)
	check(t, err)
	check(t, st.CreateChatflow(ctx, row))
	w.flow = row
	_, v, err := st.CreateVisitor(ctx, w.acct.ID)
	check(t, err)
	w.conv, _, err = st.CreateConversation(ctx, store.NewConversation{AccountID: w.acct.ID, ChatflowID: row.ID, InboxID: in.ID,
		VisitorID: v.ID, PageURL: "https://shop.example/pricing?x=1"})
	check(t, err)
	w.email = fmt.Sprintf("visitor-%d-%d@example.net", w.conv.ID, time.Now().UnixNano())
	check(t, st.ClaimEmail(ctx, w.acct.ID, v.ID, w.conv.ID, w.email))
	return w
}

// control is w with another visitor's conversation, with its own address,
// in the same account.
func (w *world) control(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	c := *w
	_, v, err := w.st.CreateVisitor(ctx, w.acct.ID)
	check(t, err)
	c.conv, _, err = w.st.CreateConversation(ctx, store.NewConversation{AccountID: w.acct.ID, ChatflowID: w.flow.ID, InboxID: w.conv.InboxID, VisitorID: v.ID})
	check(t, err)
	c.email = fmt.Sprintf("control-%d-%d@example.net", c.conv.ID, time.Now().UnixNano())
	check(t, w.st.ClaimEmail(ctx, w.acct.ID, v.ID, c.conv.ID, c.email))
	return &c
}

func (w *world) say(t *testing.T, author string, body string) *store.Message {
	t.Helper()
	m := store.NewMessage{ConversationID: w.conv.ID, AuthorType: author, Body: body, ClientID: store.NewToken()[:12]}
	if author == store.AuthorAgent {
		m.AuthorID = w.agent.ID
	}
	msg, _, err := w.st.AppendMessage(context.Background(), m)
	check(t, err)
	return msg
}

func testConfig(mp *mailpittest.Mailpit) Config {
	return Config{Host: "127.0.0.1", Port: mp.SMTPPort, TLS: TLSNone, From: "chat@parley.test",
		ReplyDelay: 300 * time.Millisecond, PollEvery: 50 * time.Millisecond, RetryMin: 100 * time.Millisecond,
		RetryMax: 400 * time.Millisecond, Timeout: 5 * time.Second}
}

// An outage while emails are due loses none and, once the server is back,
// delivers each exactly once, with the Message-ID its row was given, even
// with two backends' senders claiming from the same outbox.
func TestOutboxOutageDeliversEachOnce(t *testing.T) {
	mp := mailpittest.Start(t)
	w := newWorld(t, "en", nil)
	ctx := context.Background()
	mp.Stop() // the SMTP server is down while the emails are written
	cfg := testConfig(mp)
	a, b := New(w.st, cfg), New(w.st, cfg)
	const n = 60
	ids := map[string]bool{}
	for i := range n {
		e := &store.OutboxEmail{AccountID: &w.acct.ID, Kind: store.MailAgent, MessageID: a.NewMessageID(),
			Recipient: fmt.Sprintf("r%d@example.net", i), Subject: fmt.Sprintf("Hello %d", i), TextBody: "body", HTMLBody: "<p>body</p>"}
		_, err := w.st.EnqueueEmail(ctx, e, store.MailLimit{})
		check(t, err)
		ids[strings.Trim(e.MessageID, "<>")] = true
	}
	stopA, stopB := sync.OnceFunc(a.Start()), sync.OnceFunc(b.Start())
	defer stopA()
	defer stopB()
	// Wait until every row has failed at least once.
	deadline := time.Now().Add(20 * time.Second)
	for {
		var untried int
		check(t, w.st.DB().Get(&untried, `SELECT count(*) FROM outbox WHERE attempts = 0`))
		if untried == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d emails never attempted during the outage", untried)
		}
		time.Sleep(50 * time.Millisecond)
	}
	sent, _, _, err := w.st.OutboxCounts(ctx)
	check(t, err)
	if sent != 0 {
		t.Fatalf("%d marked sent while the server was down", sent)
	}
	mp.Start()
	deadline = time.Now().Add(30 * time.Second)
	for {
		sent, waiting, failed, err := w.st.OutboxCounts(ctx)
		check(t, err)
		if failed != 0 {
			t.Fatalf("%d emails given up", failed)
		}
		if sent == n && waiting == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sent %d of %d after the server came back", sent, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Stopped, the senders have finished what they were sending: a
	// duplicate would be in the mailbox now.
	stopA()
	stopB()
	got, err := mp.Messages()
	check(t, err)
	if len(got) != n {
		t.Fatalf("mailpit has %d messages, want exactly %d", len(got), n)
	}
	for _, m := range got {
		if !ids[m.MessageID] {
			t.Fatalf("message %q (%s) has a Message-ID no row has", m.Subject, m.MessageID)
		}
		delete(ids, m.MessageID)
	}
}

// An agent's burst of replies to a visitor who does not read them becomes
// one email after the delay, in the chatflow's language, with the brand,
// the replies, a working reopen link and the conversation's reply address.
func TestReplyBurstOneEmail(t *testing.T) {
	mp := mailpittest.Start(t)
	w := newWorld(t, "nl", nil)
	ctx := context.Background()
	_, err := w.st.UpdateAccount(ctx, w.acct.ID, store.AccountUpdate{MailReplyDomain: ptr("reply.acme.test"), MailSenderName: ptr("Acme Support")})
	check(t, err)
	svc := New(w.st, testConfig(mp))
	stop := svc.Start()
	defer stop()
	w.say(t, store.AuthorVisitor, "Do you ship to Belgium?")
	w.say(t, store.AuthorAgent, "Yes we do <b>fast</b>")
	w.say(t, store.AuthorAgent, "Within 2 days.")
	mp.WaitTo(t, w.email, 1, 10*time.Second)
	// No mark left to decide on (each goes in the transaction writing its
	// email): a second email for the same burst would be written by now.
	waitNoDue(t, w.st)
	got := mp.WaitTo(t, w.email, 1, time.Second)
	if n := outboxTo(t, w); len(got) != 1 || n != 1 {
		t.Fatalf("%d emails (%d written) for one burst, want 1", len(got), n)
	}
	m := got[0]
	if m.Subject != "Nieuw antwoord van Acme Shoes" {
		t.Errorf("subject %q, want the Dutch one with the brand", m.Subject)
	}
	if m.From.Name != "Acme Support" || m.From.Address != "chat@parley.test" {
		t.Errorf("from %+v", m.From)
	}
	for _, want := range []string{"Yes we do <b>fast</b>", "Within 2 days.", "Ann Agent", "Ga verder met het gesprek"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.Text, "Belgium") {
		t.Errorf("the visitor's own message is not a reply:\n%s", m.Text)
	}
	if !strings.Contains(m.HTML, "Yes we do &lt;b&gt;fast&lt;/b&gt;") || !strings.Contains(m.HTML, "#aa3300") {
		t.Errorf("HTML not escaped or without the accent colour:\n%s", m.HTML)
	}
	i := strings.Index(m.Text, "https://shop.example/pricing?x=1#"+ResumeFragment)
	if i < 0 {
		t.Fatalf("no reopen link on the start page:\n%s", m.Text)
	}
	tok := strings.Fields(m.Text[i+len("https://shop.example/pricing?x=1#"+ResumeFragment):])[0]
	id, err := svc.ResumeConversation(ctx, tok)
	if err != nil || id != w.conv.ID {
		t.Fatalf("reopen token names %d (%v), want %d", id, err, w.conv.ID)
	}
	if len(m.ReplyTo) != 1 || !strings.HasPrefix(m.ReplyTo[0].Address, "reply+") || !strings.HasSuffix(m.ReplyTo[0].Address, "@reply.acme.test") {
		t.Errorf("reply-to %+v", m.ReplyTo)
	}

	// Replies the visitor reads in the chat before the delay are not mailed.
	last := w.say(t, store.AuthorAgent, "Anything else?")
	_, _, err = w.st.MarkRead(ctx, w.conv.ID, store.ReadVisitor, last.Seq)
	check(t, err)
	waitNoDue(t, w.st)
	if got := mp.WaitTo(t, w.email, 1, time.Second); len(got) != 1 {
		t.Fatalf("a read reply was mailed: %d emails", len(got))
	}
}

// waitNoDue waits until no mail_due mark is left (of convs, when given).
func waitNoDue(t *testing.T, st *store.Store, convs ...int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if len(convs) == 0 {
			check(t, st.DB().Get(&n, `SELECT count(*) FROM mail_due`))
		} else {
			check(t, st.DB().Get(&n, `SELECT count(*) FROM mail_due WHERE conversation_id = ANY($1)`, pq.Array(convs)))
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("mail_due never emptied")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Offline confirmation, transcript on request and at close: each once,
// in the chatflow's language; the per-address limit holds; a visitor who
// refused the communication consent gets no transcript at close but
// still gets the replies to their chat.
func TestVisitorEmails(t *testing.T) {
	mp := mailpittest.Start(t)
	w := newWorld(t, "de", func(c *chatflow.Chatflow) { c.EmailCapture.TranscriptAtClose = true })
	ctx := context.Background()
	cfg := testConfig(mp)
	cfg.PerAddress = 4
	svc := New(w.st, cfg)
	stop := svc.Start()
	defer stop()

	// Two messages left while nobody could answer, each marking the
	// confirmation in its own commit: one email.
	for i, text := range []string{"Hallo, ist jemand da?", "Ich warte."} {
		_, _, err := w.st.AppendMessage(ctx, store.NewMessage{ConversationID: w.conv.ID, AuthorType: store.AuthorVisitor,
			Body: text, ClientID: "offline-" + strconv.Itoa(i), ConfirmOffline: true})
		check(t, err)
	}
	waitNoDue(t, w.st)
	got := mp.WaitTo(t, w.email, 1, 10*time.Second)
	if got[0].Subject != "Wir haben Ihre Nachricht erhalten" || !strings.Contains(got[0].Text, "Hallo, ist jemand da?") ||
		!strings.Contains(got[0].Text, w.email) {
		t.Fatalf("offline confirmation: %q\n%s", got[0].Subject, got[0].Text)
	}

	check(t, svc.SendTranscript(ctx, w.conv))
	got = mp.WaitTo(t, w.email, 2, 10*time.Second)
	if got[1].Subject != "Ihr Gespräch mit Acme Shoes" || !strings.Contains(strings.ReplaceAll(got[1].Text, "\r\n", "\n"), "Sie:\n    Hallo, ist jemand da?") {
		t.Fatalf("transcript: %q\n%s", got[1].Subject, got[1].Text)
	}

	_, err := w.st.CloseConversation(ctx, w.acct.ID, w.conv.ID, "closed")
	check(t, err)
	got = mp.WaitTo(t, w.email, 3, 10*time.Second)
	if got[2].Subject != "Ihr Gespräch mit Acme Shoes" {
		t.Fatalf("transcript at close: %q", got[2].Subject)
	}

	// The fourth email is the last the hour allows; the fifth is refused.
	check(t, svc.SendTranscript(ctx, w.conv))
	if err := svc.SendTranscript(ctx, w.conv); err != ErrRateLimited {
		t.Fatalf("fifth email in the hour: %v, want ErrRateLimited", err)
	}
	mp.WaitTo(t, w.email, 4, 10*time.Second)

	// Refused communication consent: no transcript at close, replies still come.
	r := newWorld(t, "en", func(c *chatflow.Chatflow) { c.EmailCapture.TranscriptAtClose = true })
	_, err = r.st.DB().Exec(`INSERT INTO consents (account_id, visitor_id, chatflow_id, conversation_id, kind, decision, text, text_hash)
		VALUES ($1, $2, $3, $4, 'communication', 'refused', 'News?', 'x')`, r.acct.ID, r.conv.VisitorID, r.flow.ID, r.conv.ID)
	check(t, err)
	rs := New(r.st, cfg)
	stopR := sync.OnceFunc(rs.Start())
	defer stopR()
	r.say(t, store.AuthorVisitor, "hi")
	r.say(t, store.AuthorAgent, "Hello there")
	got = mp.WaitTo(t, r.email, 1, 10*time.Second)
	if got[0].Subject != "New reply from Acme Shoes" {
		t.Fatalf("reply to a refusing visitor: %q", got[0].Subject)
	}
	_, err = r.st.CloseConversation(ctx, r.acct.ID, r.conv.ID, "closed")
	check(t, err)
	waitNoDue(t, r.st) // the close's mark decided on
	stopR()            // and anything written, sent
	if got, n := mp.WaitTo(t, r.email, 1, time.Second), outboxTo(t, r); len(got) != 1 || n != 1 {
		t.Fatalf("a visitor who refused communication got %d emails (%d written), want only the reply", len(got), n)
	}
}

// Every language has every text.
func TestTextsComplete(t *testing.T) {
	for _, lang := range widget.Languages {
		for k := range texts["en"] {
			if texts[lang][k] == "" {
				t.Errorf("%s lacks %q", lang, k)
			}
		}
	}
}

// Tokens: a forged, expired or other-purpose token is refused.
func TestTokens(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	at := time.Now()
	tok := Sign(key, PurposeReply, 42, time.Hour, at)
	if id, err := Verify(key, PurposeReply, strings.ToUpper(tok), at); err != nil || id != 42 {
		t.Fatalf("verify: %d %v", id, err)
	}
	if _, err := Verify(key, PurposeResume, tok, at); err == nil {
		t.Error("a reply token opened a conversation")
	}
	if _, err := Verify(key, PurposeReply, tok, at.Add(2*time.Hour)); err == nil {
		t.Error("an expired token was accepted")
	}
	b := []byte(tok)
	b[3] ^= 1
	if _, err := Verify(key, PurposeReply, string(b), at); err == nil {
		t.Error("a forged token was accepted")
	}
}

func ptr[T any](v T) *T { return &v }

var _ = json.Marshal
var _ sync.Mutex

// Old sent email, spent reset links and stale presence are pruned; what
// is recent or still due stays.
func TestPruneMail(t *testing.T) {
	w := newWorld(t, "en", nil)
	ctx := context.Background()
	db := w.st.DB()
	for i, q := range []string{
		`INSERT INTO outbox (kind, message_id, recipient, subject, text_body, sent_at, created_at) VALUES ('agent', '<old@x>', 'a@x', 's', 't', now() - interval '40 days', now() - interval '40 days')`,
		`INSERT INTO outbox (kind, message_id, recipient, subject, text_body, sent_at) VALUES ('agent', '<new@x>', 'a@x', 's', 't', now())`,
		`INSERT INTO outbox (kind, message_id, recipient, subject, text_body, created_at) VALUES ('agent', '<due@x>', 'a@x', 's', 't', now() - interval '40 days')`,
		`INSERT INTO password_reset_requests (email, created_at) VALUES ('a@x', now() - interval '2 days')`,
		`INSERT INTO inbox_presence (user_id, backend, seen_at) VALUES (` + strconv.FormatInt(w.agent.ID, 10) + `, 'gone', now() - interval '2 hours')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
	}
	n, err := w.st.PruneMail(ctx)
	check(t, err)
	if n != 3 {
		t.Fatalf("pruned %d rows, want 3", n)
	}
	var left []string
	check(t, db.Select(&left, `SELECT message_id FROM outbox ORDER BY id`))
	if len(left) != 2 || left[0] != "<new@x>" || left[1] != "<due@x>" {
		t.Fatalf("outbox left %v", left)
	}
}

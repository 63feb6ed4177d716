package e2e

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-smtp"

	"github.com/parleychat/parley/backend/internal/mail"
	"github.com/parleychat/parley/backend/internal/mail/mailpittest"
	"github.com/parleychat/parley/backend/internal/store"
)

// mailSystem is Parley sending through a throwaway Mailpit.
func mailSystem(t *testing.T, env ...string) (*System, *mailpittest.Mailpit) {
	t.Helper()
	mp := mailpittest.Start(t)
	c := StartCluster(t, ClusterOptions{Env: append([]string{"SMTP_HOST=127.0.0.1", "SMTP_PORT=" + strconv.Itoa(mp.SMTPPort),
		"SMTP_TLS=none", "MAIL_FROM=chat@parley.test", "MAIL_REPLY_DELAY=1s"}, env...)})
	return &System{Cluster: c, Edge: c.Edges[0].URL}, mp
}

var resumeLink = regexp.MustCompile(`https?://\S+#parley-resume=[0-9a-v]+`)

// The promise the widget makes offline, kept: a visitor leaves a message
// and an address while the team is away and gets the confirmation once; the
// agent's replies reach them by email after the delay, once for the burst;
// the email's link opens the chat in a fresh browser (no cookie, no
// storage) on the page where it started, with the same conversation, and
// what they write there lands in it; "email me this conversation" mails
// the transcript.
func TestEmailOfflineReplyAndReopenLink(t *testing.T) {
	s, mp := mailSystem(t)
	var cfID, agentID int64
	if err := s.DB.Get(&cfID, `SELECT id FROM chatflows WHERE public_id = $1`, s.Demo.ChatflowID); err != nil {
		t.Fatal(err)
	}
	if err := s.DB.Get(&agentID, `SELECT id FROM users WHERE email = $1`, s.Demo.AgentEmail); err != nil {
		t.Fatal(err)
	}
	if code, body := liveREST(t, s, "PATCH", fmt.Sprintf("/api/v1/chatflows/%d", cfID), map[string]any{
		"availability":  map[string]any{"mode": "user_availability", "reply_time": "few_minutes", "away_message": "We are away right now"},
		"email_capture": map[string]any{"when": "when_offline"},
	}); code != 200 {
		t.Fatalf("patch chatflow: %d %s", code, body)
	}
	if code, body := liveREST(t, s, "PATCH", fmt.Sprintf("/api/v1/users/%d", agentID), map[string]any{"status": "away"}); code != 200 {
		t.Fatalf("patch user: %d %s", code, body)
	}

	visitor := Tab(t)
	runT(t, visitor, chromedp.Navigate(s.Host()+"/demo/?from=email-test"))
	waitJS(t, visitor, "the widget", `window.Parley && Parley.status() === 'ready'`, 20*time.Second)
	runT(t, visitor, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=launcher]')`)))
	waitJS(t, visitor, "the away presence", widgetShows("presence", "We are away right now"), 10*time.Second)
	visitorSays(t, visitor, "Do you ship to Belgium?")
	waitJS(t, visitor, "the email ask", widgetShows("email-form", "email"), 10*time.Second)
	addr := fmt.Sprintf("ana-%d@example.net", time.Now().UnixNano())
	runT(t, visitor,
		chromedp.SendKeys(chromedp.JSPath(shadow+`.querySelector('[data-parley=email-input]')`), addr),
		chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=email-send]')`)))
	waitJS(t, visitor, "the offline note with the address", widgetShows("note", addr), 10*time.Second)

	got := mp.WaitTo(t, addr, 1, 20*time.Second)
	if got[0].Subject != "We received your message" || !strings.Contains(got[0].Text, "Do you ship to Belgium?") {
		t.Fatalf("offline confirmation: %q\n%s", got[0].Subject, got[0].Text)
	}

	// The visitor leaves; the agent answers twice (as stored by the inbox).
	runT(t, visitor, chromedp.Navigate("about:blank"))
	var conv store.Conversation
	if err := s.DB.Get(&conv, `SELECT id, public_id, visitor_id FROM conversations ORDER BY id DESC LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"Yes, we ship to Belgium.", "Delivery takes 2 days."} {
		if _, _, err := s.Store.AppendMessage(context.Background(), store.NewMessage{ConversationID: conv.ID,
			ClientID: store.NewToken()[:10], AuthorType: store.AuthorAgent, AuthorID: agentID, Body: text}); err != nil {
			t.Fatal(err)
		}
	}
	got = mp.WaitTo(t, addr, 2, 20*time.Second)
	reply := got[1]
	if reply.Subject != "New reply from Parley Demo Shop" {
		t.Fatalf("reply subject %q", reply.Subject)
	}
	for _, want := range []string{"Yes, we ship to Belgium.", "Delivery takes 2 days."} {
		if !strings.Contains(reply.Text, want) {
			t.Fatalf("the reply email lacks %q:\n%s", want, reply.Text)
		}
	}
	link := resumeLink.FindString(reply.Text)
	if !strings.HasPrefix(link, s.Host()+"/demo/?from=email-test#parley-resume=") {
		t.Fatalf("reopen link %q is not on the start page", link)
	}

	// A fresh browser: no cookie, no storage. The link reopens the chat
	// with the conversation, and the token leaves the address bar.
	fresh := Tab(t)
	runT(t, fresh, chromedp.Navigate(link))
	waitJS(t, fresh, "the chat open on its own", shadow+`.querySelector('[data-parley=window]').hidden === false`, 20*time.Second)
	waitJS(t, fresh, "the agent's replies", widgetHas("agent", "Delivery takes 2 days."), 10*time.Second)
	waitJS(t, fresh, "the visitor's first message", widgetHas("visitor", "Do you ship to Belgium?"), 10*time.Second)
	if href := evalString(t, fresh, `location.href`); strings.Contains(href, "parley-resume") {
		t.Fatalf("the token stayed in the address bar: %s", href)
	}
	visitorSays(t, fresh, "Great, thanks!")
	waitFor(t, "the new message in the same conversation", 10*time.Second, func() bool {
		var n int
		s.DB.Get(&n, `SELECT count(*) FROM messages WHERE conversation_id = $1 AND body = 'Great, thanks!'`, conv.ID)
		return n == 1
	})

	// "Email me this conversation".
	btn := chromedp.JSPath(shadow + `.querySelector('[data-parley=transcript]')`)
	waitJS(t, fresh, "the transcript button", shadow+`.querySelector('[data-parley=transcript]').hidden === false`, 10*time.Second)
	runT(t, fresh, chromedp.Click(btn))
	waitJS(t, fresh, "the transcript notice", widgetShows("status", "emailed you this conversation"), 10*time.Second)
	got = mp.WaitTo(t, addr, 3, 20*time.Second)
	if tr := got[2]; !strings.HasPrefix(tr.Subject, "Your conversation with") || !strings.Contains(tr.Text, "Great, thanks!") ||
		!strings.Contains(tr.Text, "Yes, we ship to Belgium.") {
		t.Fatalf("transcript: %q\n%s", tr.Subject, tr.Text)
	}
	// Exactly once each: once no mark is left to decide on and every email
	// written is sent, nothing more can come.
	var written int
	waitFor(t, "every email decided and sent", 20*time.Second, func() bool {
		var due, unsent int
		s.DB.Get(&due, `SELECT count(*) FROM mail_due WHERE conversation_id = $1`, conv.ID)
		s.DB.Get(&unsent, `SELECT count(*) FROM outbox WHERE recipient = $1 AND sent_at IS NULL AND failed_at IS NULL`, addr)
		s.DB.Get(&written, `SELECT count(*) FROM outbox WHERE recipient = $1`, addr)
		return due == 0 && unsent == 0
	})
	if all := mp.WaitTo(t, addr, written, 10*time.Second); len(all) != 3 || written != 3 {
		for _, m := range all {
			t.Logf("%s", m.Subject)
		}
		t.Fatalf("%d emails (%d written), want 3", len(all), written)
	}
}

// A visitor's reply by email shows up live in the agent's open thread,
// quoted history stripped; mail for anyone else is refused at RCPT.
func TestEmailReplyLiveInAgentThread(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inAddr := l.Addr().String()
	l.Close()
	s, _ := mailSystem(t, "MAIL_IN_ADDR="+inAddr)
	ctx := context.Background()
	var acctID int64
	if err := s.DB.Get(&acctID, `SELECT id FROM accounts WHERE public_id = $1`, s.Demo.Site); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.UpdateAccount(ctx, acctID, store.AccountUpdate{MailReplyDomain: ptrTo("reply.demo.test")}); err != nil {
		t.Fatal(err)
	}

	visitor, agent := Tab(t), Tab(t)
	signIn(t, agent, s)
	runT(t, visitor, chromedp.Navigate(s.Host()+"/demo/"))
	waitJS(t, visitor, "the widget", `window.Parley && Parley.status() === 'ready'`, 20*time.Second)
	runT(t, visitor, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=launcher]')`)))
	visitorSays(t, visitor, "hello from the chat")
	waitJS(t, agent, "the conversation in the list", `document.querySelector('[data-conversation]')`, 10*time.Second)
	runT(t, agent, chromedp.Click(chromedp.CSS(`[data-conversation]`)))
	waitJS(t, agent, "the message in the thread", threadHas("hello from the chat"), 10*time.Second)
	waitJS(t, agent, "the thread's live socket", `document.getElementById('live-status').dataset.state === 'live'`, 10*time.Second)

	var convID int64
	if err := s.DB.Get(&convID, `SELECT id FROM conversations ORDER BY id DESC LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	key, err := s.Store.MailKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	to := "reply+" + mail.Sign(key, mail.PurposeReply, convID, time.Hour, time.Now()) + "@reply.demo.test"
	c, err := smtp.Dial(inAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("ana@example.net", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("someone@gmail.com", nil); err == nil {
		t.Fatal("a foreign recipient was accepted: the server relays")
	}
	if err := c.Rcpt(to, nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(w, "From: ana@example.net\r\nTo: "+to+"\r\nSubject: Re: your chat\r\nMessage-ID: <e2e-1@example.net>\r\n\r\n"+
		"I answer by email, thanks!\r\n\r\nOn Tue, Parley Demo Shop <chat@parley.test> wrote:\r\n> hello from the chat\r\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	waitJS(t, agent, "the emailed reply in the open thread", threadHas("I answer by email, thanks!"), 10*time.Second)
	if n := evalString(t, agent, `String([...document.querySelectorAll('#thread [data-seq]')].filter(m => m.textContent.includes('wrote:')).length)`); n != "0" {
		t.Fatalf("the quoted history reached the thread (%s messages)", n)
	}
	waitJS(t, visitor, "the emailed reply in the widget too", widgetHas("visitor", "I answer by email, thanks!"), 10*time.Second)
}

func ptrTo[T any](v T) *T { return &v }

// "Forgot password?" on the sign-in page: the same answer for a known and
// an unknown address, one email with a one-time link, a new password that
// signs in, and the old one and the used link that no longer work.
func TestForgotPasswordByEmail(t *testing.T) {
	s, mp := mailSystem(t)
	tab := Tab(t)
	ask := func(email string) string {
		runT(t, tab,
			chromedp.Navigate(s.Edge+"/inbox/login"),
			chromedp.Click(chromedp.CSS(`#forgot-link`)),
			chromedp.WaitVisible(chromedp.CSS(`#forgot-email`)),
			chromedp.SendKeys(chromedp.CSS(`#forgot-email`), email),
			chromedp.Click(chromedp.CSS(`[data-action=send-reset]`)),
			chromedp.WaitVisible(chromedp.CSS(`#forgot-sent`)))
		return evalString(t, tab, `document.getElementById('forgot-sent').textContent`)
	}
	unknown := ask("nobody-here@example.net")
	known := ask(s.Demo.AgentEmail)
	if unknown != known {
		t.Fatalf("the answer tells addresses apart: %q vs %q", unknown, known)
	}
	got := mp.WaitTo(t, s.Demo.AgentEmail, 1, 20*time.Second)
	link := regexp.MustCompile(`https?://\S+/inbox/reset/\S+`).FindString(got[0].Text)
	if link == "" {
		t.Fatalf("no reset link:\n%s", got[0].Text)
	}
	const newPass = "a new long password 42"
	runT(t, tab,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`#new-password`)),
		chromedp.SendKeys(chromedp.CSS(`#new-password`), newPass),
		chromedp.SendKeys(chromedp.CSS(`#new-password-again`), newPass),
		chromedp.Click(chromedp.CSS(`[data-action=set-password]`)))
	waitJS(t, tab, "the sign-in page", `location.pathname === '/inbox/login'`, 10*time.Second)
	runT(t, tab,
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), s.Demo.AgentEmail),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), newPass),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)))
	waitJS(t, tab, "the inbox with the new password", `location.pathname === '/inbox' || location.pathname === '/inbox/'`, 10*time.Second)
	runT(t, tab, chromedp.Navigate(link))
	waitJS(t, tab, "the used link refused", `!!document.getElementById('reset-refused')`, 10*time.Second)
	if all, _ := mp.Messages(); len(all) != 1 {
		t.Fatalf("%d emails; only the known address should get one", len(all))
	}
}

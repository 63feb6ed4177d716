package mailin

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/mail"
	"github.com/parleychat/parley/backend/internal/store"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type fixture struct {
	st   *store.Store
	conv *store.Conversation
	addr string // the server's address
	to   string // the conversation's reply address
	key  []byte
}

func setup(t *testing.T, cfg Config) *fixture {
	t.Helper()
	ctx := context.Background()
	st := store.New(dbtest.New(t))
	acct := &store.Account{Name: "Acme"}
	check(t, st.CreateAccount(ctx, acct))
	_, err := st.UpdateAccount(ctx, acct.ID, store.AccountUpdate{MailReplyDomain: ptr("reply.acme.test")})
	check(t, err)
	in := &store.Inbox{AccountID: acct.ID, Name: "Support", HasChatChannel: true}
	check(t, st.CreateInbox(ctx, in))
	cf := chatflow.Default()
	cf.Name, cf.InboxID, cf.Enabled = "Web", in.ID, true
	row, err := cf.Row(acct.ID)
	check(t, err)
	check(t, st.CreateChatflow(ctx, row))
	_, v, err := st.CreateVisitor(ctx, acct.ID)
	check(t, err)
	conv, _, err := st.CreateConversation(ctx, store.NewConversation{AccountID: acct.ID, ChatflowID: row.ID, InboxID: in.ID, VisitorID: v.ID})
	check(t, err)
	m := mail.New(st, mail.Config{})
	key, err := m.Key(ctx)
	check(t, err)
	srv := New(st, m, cfg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(t, err)
	go srv.Serve(l)
	t.Cleanup(func() { srv.smtp.Close() })
	return &fixture{st: st, conv: conv, addr: l.Addr().String(), key: key,
		to: "reply+" + mail.Sign(key, mail.PurposeReply, conv.ID, time.Hour, time.Now()) + "@reply.acme.test"}
}

// send delivers msg to rcpt over SMTP and returns the first refusal.
func (f *fixture) send(t *testing.T, rcpt, msg string) error {
	t.Helper()
	c, err := smtp.Dial(f.addr)
	check(t, err)
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		return err
	}
	if err := c.Mail("ana@example.net", nil); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(strings.ReplaceAll(msg, "\n", "\r\n"))); err != nil {
		return err
	}
	return w.Close()
}

func (f *fixture) messages(t *testing.T) []store.Message {
	t.Helper()
	ms, err := f.st.MessagesAfter(context.Background(), f.conv.ID, 0, 100, true)
	check(t, err)
	return ms
}

func code(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

const replyMail = `From: Ana <ana@example.net>
To: {to}
Subject: Re: New reply from Acme
Message-ID: <abc-123@example.net>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Thanks, that works for me =E2=80=93 see you.

On Tue, 1 Dec 2026 at 10:00, Acme <reply@acme.test> wrote:
> Yes, we ship to Belgium.
> Delivery takes 2 days.
--alt
Content-Type: text/html; charset=utf-8

<p>Thanks, that works for me &ndash; see you.</p><blockquote>Yes, we ship</blockquote>
--alt--
--outer
Content-Type: application/pdf; name="order.pdf"
Content-Disposition: attachment; filename="order.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PD4+CmVuZG9iagp0cmFpbGVyCjw8Pj4KJSVFT0YK
--outer--
`

// A reply lands in its conversation as the visitor's message, quoted
// history stripped, the PDF kept as an attachment; the same email again
// stores nothing new.
func TestReplyLandsInConversation(t *testing.T) {
	f := setup(t, Config{})
	msg := strings.ReplaceAll(replyMail, "{to}", f.to)
	check(t, f.send(t, f.to, msg))
	check(t, f.send(t, f.to, msg)) // a retried delivery
	ms := f.messages(t)
	if len(ms) != 2 {
		t.Fatalf("%d messages, want the text and the file: %+v", len(ms), ms)
	}
	var text, file *store.Message
	for i := range ms {
		if ms[i].AuthorType != store.AuthorVisitor {
			t.Fatalf("message by %q", ms[i].AuthorType)
		}
		if ms[i].HasAttachment {
			file = &ms[i]
		} else {
			text = &ms[i]
		}
	}
	if text == nil || text.Body != "Thanks, that works for me – see you." {
		t.Fatalf("text %+v", text)
	}
	if file == nil || file.Body != "order.pdf" {
		t.Fatalf("file message %+v", file)
	}
	atts, err := f.st.AttachmentsOfMessages(context.Background(), []store.Message{*file})
	check(t, err)
	if a := atts[file.ID]; a == nil || a.ContentType != "application/pdf" {
		t.Fatalf("attachment %+v", atts)
	}
}

// HTML-only mail becomes text.
func TestHTMLOnlyReply(t *testing.T) {
	f := setup(t, Config{})
	check(t, f.send(t, f.to, `From: ana@example.net
To: `+f.to+`
Subject: Re: hi
Message-ID: <html-1@example.net>
MIME-Version: 1.0
Content-Type: text/html; charset=iso-8859-1

<html><head><style>p{color:red}</style></head><body><p>Gr`+"\xfc"+`&szlig;e &amp; thanks!</p><div>Second line<br>third</div>
<div class="gmail_quote">On Monday Acme wrote: old text</div></body></html>
`))
	ms := f.messages(t)
	if len(ms) != 1 || ms[0].Body != "Grüße & thanks!\nSecond line\nthird" {
		t.Fatalf("messages %+v", ms)
	}
}

// Bad input is refused in the SMTP conversation and stores nothing.
func TestRefusals(t *testing.T) {
	f := setup(t, Config{MaxBytes: 4096})
	good := "From: a@example.net\nTo: x\nSubject: s\n\nhello\n"
	expired := "reply+" + mail.Sign(f.key, mail.PurposeReply, f.conv.ID, -time.Hour, time.Now()) + "@reply.acme.test"
	otherDomain := strings.Replace(f.to, "@reply.acme.test", "@elsewhere.test", 1)
	resume := "reply+" + mail.Sign(f.key, mail.PurposeResume, f.conv.ID, time.Hour, time.Now()) + "@reply.acme.test"
	for _, c := range []struct {
		name, rcpt, msg string
		code            int
	}{
		{"foreign recipient", "bob@gmail.com", good, 550},
		{"valid token at another domain", otherDomain, good, 550},
		{"unknown token", "reply+0000000000000000000000000000000000000@reply.acme.test", good, 550},
		{"expired token", expired, good, 550},
		{"token of another purpose", resume, good, 550},
		{"oversized", f.to, "Subject: big\n\n" + strings.Repeat(strings.Repeat("x", 70)+"\n", 120), 552},
		{"multipart without boundary", f.to, "Subject: s\nMIME-Version: 1.0\nContent-Type: multipart/mixed\n\nhello\n", 554},
		{"broken base64", f.to, "Subject: s\nContent-Transfer-Encoding: base64\n\n!!!not base64!!!\n", 554},
		{"unknown transfer encoding", f.to, "Subject: s\nContent-Transfer-Encoding: x-magic\n\nhello\n", 554},
		{"only quoted history", f.to, "Subject: s\n\n> old\n> text\n", 554},
	} {
		err := f.send(t, c.rcpt, c.msg)
		if code(err) != c.code {
			t.Errorf("%s: %v, want %d", c.name, err, c.code)
		}
	}
	if ms := f.messages(t); len(ms) != 0 {
		t.Fatalf("refused mail stored %d messages: %+v", len(ms), ms)
	}
	check(t, f.send(t, f.to, good)) // and the server still takes good mail
}

func TestStripQuoted(t *testing.T) {
	for in, want := range map[string]string{
		"Sure!\n\nOn Tue, 1 Dec 2026, Acme <r@x> wrote:\n> old":                 "Sure!",
		"Sure!\n\nOn Tue, 1 Dec 2026 at 10:00, Acme\n<reply@x> wrote:\n> old":   "Sure!",
		"Prima\n\nOp di 1 dec. 2026 om 10:00 schreef Acme <r@x>:\n> oud":        "Prima",
		"Gut\n\nAm 01.12.2026 um 10:00 schrieb Acme <r@x>:\n> alt":              "Gut",
		"Oui\n\nLe mar. 1 déc. 2026 à 10:00, Acme <r@x> a écrit :\n> vieux":     "Oui",
		"Sí\n\nEl mar, 1 dic 2026 a las 10:00, Acme (<r@x>) escribió:\n> viejo": "Sí",
		"Yes\n\n-----Original Message-----\nFrom: Acme":                         "Yes",
		"Yes\n\nFrom: Acme <r@x>\nSent: Tuesday\nTo: Ana\nSubject: Re":          "Yes",
		"Yes\n-- \nAna, sent from my phone":                                     "Yes",
		"One\n> quoted\nTwo":                                                    "One\nTwo",
	} {
		if got := StripQuoted(in); got != want {
			t.Errorf("StripQuoted(%q) = %q, want %q", in, got, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

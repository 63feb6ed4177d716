package chat_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/identity"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// setFlow gives the world's chatflow a type and settings (JSON).
func (w *world) setFlow(t *testing.T, typ, settings string) {
	t.Helper()
	_, err := w.db.Exec(`UPDATE chatflows SET type = $1, settings = $2 WHERE id = $3`, typ, settings, w.cfID)
	must(t, err)
}

// published is the world's chatflow as the widget receives it.
func (w *world) published(t *testing.T) widget.ChatflowConfig {
	t.Helper()
	row, err := w.st.Chatflow(context.Background(), w.account.ID, w.cfID)
	must(t, err)
	cf, err := chatflow.FromRow(row)
	must(t, err)
	acct, err := w.st.Account(context.Background(), w.account.ID) // as published now
	must(t, err)
	return chatflow.Publish(cf, acct, nil, widget.Presence{})
}

func (w *world) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	must(t, w.db.Get(&n, query, args...))
	return n
}

const explicitConsent = `{"options":{"data_consent":{"enabled":true,"type":"explicit",
	"text":"We keep your <b>messages</b> to answer you. {privacy_policy}","privacy_url":"https://shop.example/privacy"}}}`

func TestExplicitConsentBlocksSendingUntilGranted(t *testing.T) {
	w := newWorld(t)
	w.setFlow(t, "live_agent", explicitConsent)
	notice := w.published(t).Consents.DataProcessing
	if notice == nil || notice.Mode != widget.ConsentExplicit || notice.Accept == "" || notice.Version == "" {
		t.Fatalf("published data-processing notice %+v", notice)
	}
	if p := notice.Parts; len(p) != 2 || !strings.Contains(p[0].Text, "<b>messages</b>") || p[1].Href != "https://shop.example/privacy" {
		t.Fatalf("notice parts %+v: markup must stay text, the link a part", p)
	}

	l := w.link(t)
	s := l.open()
	s.send(hello("", "", 0))
	wel := s.next(t, widget.FrameWelcome)
	token := wel.Token
	if wel.Version != "" {
		t.Fatalf("a new visitor's welcome says they agreed (%q)", wel.Version)
	}
	s.send(widget.Frame{Type: widget.FrameSend, ID: "m1", Text: "Hello?"})
	if f := s.errorCode(t, widget.ErrConsentRequired); f.ID != "m1" {
		t.Fatalf("consent_required without the message id: %+v", f)
	}
	if n := w.count(t, `SELECT count(*) FROM conversations`) + w.count(t, `SELECT count(*) FROM messages`); n != 0 {
		t.Fatalf("%d rows stored before consent", n)
	}

	// Refusing keeps it blocked; agreeing opens it.
	s.send(widget.Frame{Type: widget.FrameConsent, ID: "c1", Kind: widget.ConsentDataProcessing, Decision: widget.DecisionRefused, Version: notice.Version, Page: "https://shop.example/a"})
	if f := s.next(t, widget.FrameConsent); f.Decision != widget.DecisionRefused || f.ID != "c1" {
		t.Fatalf("consent answer %+v", f)
	}
	s.send(widget.Frame{Type: widget.FrameSend, ID: "m1", Text: "Hello?"})
	s.errorCode(t, widget.ErrConsentRequired)
	s.send(widget.Frame{Type: widget.FrameConsent, ID: "c2", Kind: widget.ConsentDataProcessing, Decision: widget.DecisionGranted, Version: notice.Version, Page: "https://shop.example/b"})
	s.next(t, widget.FrameConsent)
	s.send(widget.Frame{Type: widget.FrameSend, ID: "m1", Text: "Hello?"})
	ack := s.next(t, widget.FrameAck)
	s.next(t, widget.FrameMessage)

	// Both records are beside the conversation, with the exact text and page.
	conv := w.conversation(t, ack.Conversation)
	cs, err := w.st.Consents(context.Background(), w.account.ID, store.ConsentFilter{ConversationID: conv.ID})
	must(t, err)
	if len(cs) != 2 || cs[0].Decision != store.ConsentGranted || cs[1].Decision != store.ConsentRefused {
		t.Fatalf("consents of the conversation: %+v", cs)
	}
	if c := cs[0]; c.Basis != store.BasisExplicit || c.PageURL != "https://shop.example/b" || c.VisitorID == nil ||
		c.Text != "We keep your <b>messages</b> to answer you. Privacy policy (https://shop.example/privacy)" {
		t.Fatalf("granted record %+v", c)
	}

	// A reload (or the next page) is still agreed, and the welcome says so,
	// so the widget does not ask again; a changed text must be agreed again.
	r := l.open()
	r.send(hello(token, ack.Conversation, ack.Seq))
	if wel := r.next(t, widget.FrameWelcome); wel.Version != notice.Version {
		t.Fatalf("welcome of a visitor who agreed carries version %q, want %q", wel.Version, notice.Version)
	}
	r.send(widget.Frame{Type: widget.FrameSend, ID: "m2", Text: "Still there?"})
	ack2 := r.next(t, widget.FrameAck)
	w.setFlow(t, "live_agent", strings.Replace(explicitConsent, "answer you", "answer you and improve", 1))
	r2 := l.open()
	r2.send(hello(token, ack.Conversation, ack2.Seq))
	if wel := r2.next(t, widget.FrameWelcome); wel.Version != "" {
		t.Fatalf("welcome after the text changed carries version %q", wel.Version)
	}
	r2.send(widget.Frame{Type: widget.FrameSend, ID: "m3", Text: "And now?"})
	r2.errorCode(t, widget.ErrConsentRequired)
}

func TestStaleConsentVersionIsRefusedAndNothingRecorded(t *testing.T) {
	w := newWorld(t)
	w.setFlow(t, "live_agent", explicitConsent)
	old := w.published(t).Consents.DataProcessing.Version
	s := w.link(t).open()
	s.send(hello("", "", 0))
	s.next(t, widget.FrameWelcome)

	// The text changed after the page loaded.
	w.setFlow(t, "live_agent", strings.Replace(explicitConsent, "<b>messages</b>", "chats", 1))
	s.send(widget.Frame{Type: widget.FrameConsent, ID: "c1", Kind: widget.ConsentDataProcessing, Decision: widget.DecisionGranted, Version: old})
	if f := s.errorCode(t, widget.ErrStaleConsent); f.ID != "c1" {
		t.Fatalf("stale_consent %+v", f)
	}
	// A consent the chatflow does not ask (no subscription type): stale too.
	s.send(widget.Frame{Type: widget.FrameConsent, Kind: widget.ConsentCommunication, Decision: widget.DecisionGranted, Version: old})
	s.errorCode(t, widget.ErrStaleConsent)
	// Malformed ones are bad frames.
	s.send(widget.Frame{Type: widget.FrameConsent, Kind: "marketing", Decision: widget.DecisionGranted, Version: old})
	s.errorCode(t, widget.ErrBadFrame)
	s.send(widget.Frame{Type: widget.FrameConsent, Kind: widget.ConsentCookie, Decision: "maybe", Version: old})
	s.errorCode(t, widget.ErrBadFrame)
	if n := w.count(t, `SELECT count(*) FROM consents`); n != 0 {
		t.Fatalf("%d consents recorded from stale or bad frames", n)
	}
	// The current version is accepted and sending opens.
	s.send(widget.Frame{Type: widget.FrameConsent, Kind: widget.ConsentDataProcessing, Decision: widget.DecisionGranted, Version: w.published(t).Consents.DataProcessing.Version})
	s.next(t, widget.FrameConsent)
	s.send(widget.Frame{Type: widget.FrameSend, ID: "m1", Text: "hi"})
	s.next(t, widget.FrameAck)
}

func TestLegitimateInterestIsImpliedByTheFirstMessage(t *testing.T) {
	w := newWorld(t) // the defaults: legitimate interest
	_, _, convID := w.chat(t, w.link(t), "hello")
	cs, err := w.st.Consents(context.Background(), w.account.ID, store.ConsentFilter{ConversationID: w.conversation(t, convID).ID})
	must(t, err)
	if len(cs) != 1 || cs[0].Kind != store.ConsentDataProcessing || cs[0].Basis != store.BasisLegitimateInterest ||
		cs[0].Decision != store.ConsentGranted || cs[0].Text == "" || cs[0].PageURL != "https://shop.example/pricing" {
		t.Fatalf("implied consent %+v", cs)
	}
}

func TestCookieRefusalHasNoVisitorAndCommunicationReachesTheContact(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	st := &store.SubscriptionType{AccountID: w.account.ID, Name: "Newsletter"}
	must(t, w.st.CreateSubscriptionType(ctx, st))
	w.setFlow(t, "live_agent", `{"options":{"cookie_consent":{"enabled":true,"when":"before_chat"},
		"data_consent":{"enabled":true,"type":"legitimate_interest"},
		"communication_consent":{"enabled":true,"subscription_type_id":`+itoa(st.ID)+`}}}`)
	cfg := w.published(t)
	if cfg.Consents.Cookie == nil || cfg.Consents.Communication == nil || !strings.Contains(cfg.Consents.Communication.Parts[0].Text, "Acme") {
		t.Fatalf("published consents %+v", cfg.Consents)
	}
	s := w.link(t).open()
	s.send(hello("", "", 0))
	wel := s.next(t, widget.FrameWelcome)
	s.send(widget.Frame{Type: widget.FrameConsent, Kind: widget.ConsentCookie, Decision: widget.DecisionRefused, Version: cfg.Consents.Cookie.Version})
	s.next(t, widget.FrameConsent)
	var visitor *int64
	must(t, w.db.Get(&visitor, `SELECT visitor_id FROM consents WHERE kind = 'cookie'`))
	if visitor != nil {
		t.Fatalf("a refused cookie banner was recorded with visitor %d", *visitor)
	}
	// Subscribed before there is a contact: it lands on the contact an
	// identification of this visitor brings (a typed address brings none).
	s.send(widget.Frame{Type: widget.FrameConsent, Kind: widget.ConsentCommunication, Decision: widget.DecisionGranted, Version: cfg.Consents.Communication.Version})
	s.next(t, widget.FrameConsent)
	tok, err := identity.Issue(ctx, w.st, w.account.ID, identity.Request{Email: "nina@example.com"})
	must(t, err)
	s = w.link(t).open() // the next page, identified
	s.send(identifiedHello(wel.Token, "nina@example.com", tok.Token))
	if wel := s.next(t, widget.FrameWelcome); !wel.Identified {
		t.Fatalf("identified welcome %+v", wel)
	}
	// The session applies the choice after the welcome is on its way.
	var subs []store.ContactSubscription
	waitUntil(t, "a subscription on the identified contact", 5*time.Second, func() bool {
		subs, err = w.st.ContactSubscriptions(ctx, w.account.ID, tok.ContactID)
		must(t, err)
		return len(subs) > 0
	})
	if len(subs) != 1 || subs[0].Status != store.Subscribed || subs[0].Name != "Newsletter" {
		t.Fatalf("subscriptions %+v", subs)
	}
	// The company renamed mid-chat: the page reloads its config and the
	// visitor answers the new label on the same socket; it is current, not stale.
	_, err = w.db.Exec(`UPDATE accounts SET company_name = 'Acme Renamed' WHERE id = $1`, w.account.ID)
	must(t, err)
	renamed := w.published(t).Consents.Communication
	if renamed.Version == cfg.Consents.Communication.Version || !strings.Contains(renamed.Parts[0].Text, "Acme Renamed") {
		t.Fatalf("the label did not follow the new company name: %+v", renamed)
	}
	s.send(widget.Frame{Type: widget.FrameConsent, Kind: widget.ConsentCommunication, Decision: widget.DecisionGranted, Version: renamed.Version})
	if f := s.next(t, widget.FrameConsent); f.Version != renamed.Version {
		t.Fatalf("answer to the renamed label: %+v", f)
	}
	// Unsubscribing with a known contact changes it at once.
	s.send(widget.Frame{Type: widget.FrameConsent, Kind: widget.ConsentCommunication, Decision: widget.DecisionRefused, Version: renamed.Version})
	s.next(t, widget.FrameConsent)
	subs, _ = w.st.ContactSubscriptions(ctx, w.account.ID, tok.ContactID)
	if len(subs) != 1 || subs[0].Status != store.Unsubscribed {
		t.Fatalf("after refusing: %+v", subs)
	}
}

// waitUntil polls ok until it holds, failing the test after within: for
// what a session does after the frame a test waits on.
func waitUntil(t *testing.T, what string, within time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// identifiedHello is a hello of an identified visitor.
func identifiedHello(token, email, idToken string) widget.Frame {
	h := hello(token, "", 0)
	h.Email, h.IDToken = email, idToken
	return h
}

func TestIdentificationChatsAsTheContactOrWarns(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	tok, err := identity.Issue(ctx, w.st, w.account.ID, identity.Request{Email: "ivy@example.com", Name: "Ivy",
		Properties: map[string]any{"plan": "pro", "seats": 12.0}})
	must(t, err)
	l := w.link(t)

	s := l.open()
	s.send(identifiedHello("", "ivy@example.com", tok.Token))
	wel := s.next(t, widget.FrameWelcome)
	if !wel.Identified || wel.Warning != "" || wel.Email != "ivy@example.com" || wel.Properties == nil ||
		(*wel.Properties)["plan"] != "pro" || (*wel.Properties)["seats"] != "12" {
		t.Fatalf("identified welcome %+v", wel)
	}
	s.send(widget.Frame{Type: widget.FrameSend, ID: "m1", Text: "Hi, it is Ivy"})
	ack := s.next(t, widget.FrameAck)
	conv := w.conversation(t, ack.Conversation)
	if conv.ContactID == nil || *conv.ContactID != tok.ContactID {
		t.Fatalf("conversation contact %v, want %d", conv.ContactID, tok.ContactID)
	}

	// Another page without any visitor token: the conversation follows the contact.
	p := l.open()
	p.send(identifiedHello("", "ivy@example.com", tok.Token))
	if wel := p.next(t, widget.FrameWelcome); !wel.Identified || wel.Conversation != ack.Conversation || wel.Token == "" {
		t.Fatalf("second page welcome %+v, want conversation %s", wel, ack.Conversation)
	}
	if m := p.next(t, widget.FrameMessage); m.Text != "Hi, it is Ivy" {
		t.Fatalf("replay %+v", m)
	}

	// Another account's token, an expired one, another email: anonymous, with a warning.
	other := &store.Account{PublicID: "site_b", Name: "Other"}
	must(t, w.st.CreateAccount(ctx, other))
	foreign, err := identity.Issue(ctx, w.st, other.ID, identity.Request{Email: "ivy@example.com"})
	must(t, err)
	expired, err := identity.Issue(ctx, w.st, w.account.ID, identity.Request{Email: "old@example.com"})
	must(t, err)
	_, err = w.db.Exec(`UPDATE identification_tokens SET expires_at = now() - interval '1 minute' WHERE contact_id = $1`, expired.ContactID)
	must(t, err)
	for name, h := range map[string]widget.Frame{
		"other account": identifiedHello("", "ivy@example.com", foreign.Token),
		"expired":       identifiedHello("", "old@example.com", expired.Token),
		"other email":   identifiedHello("", "eve@example.com", tok.Token),
		"no token":      identifiedHello("", "ivy@example.com", ""),
	} {
		a := l.open()
		a.send(h)
		wel := a.next(t, widget.FrameWelcome)
		if wel.Identified || wel.Warning == "" || wel.Email != "" || wel.Properties != nil || wel.Conversation != "" {
			t.Fatalf("%s: welcome %+v, want anonymous with a warning", name, wel)
		}
		if name == "expired" && !strings.Contains(wel.Warning, "expired") {
			t.Fatalf("expired: warning %q", wel.Warning)
		}
		// The chat goes on anonymously.
		a.send(widget.Frame{Type: widget.FrameSend, ID: "x", Text: "anonymous hi"})
		if c := w.conversation(t, a.next(t, widget.FrameAck).Conversation); c.ContactID != nil {
			t.Fatalf("%s: anonymous conversation linked to contact %d", name, *c.ContactID)
		}
	}
}

func TestErasureMidSessionStartsOverAsANewVisitor(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	l := w.link(t)
	idt, err := identity.Issue(ctx, w.st, w.account.ID, identity.Request{Email: "gone@example.com"})
	must(t, err)
	s := l.open()
	s.send(identifiedHello("", "gone@example.com", idt.Token))
	token := s.next(t, widget.FrameWelcome).Token
	s.send(widget.Frame{Type: widget.FrameSend, ID: "m1", Text: "Please forget me afterwards"})
	convID := s.next(t, widget.FrameAck).Conversation
	s.next(t, widget.FrameMessage)
	c, err := w.st.Contact(ctx, w.account.ID, idt.ContactID)
	must(t, err)
	oldConv := w.conversation(t, convID)

	_, err = w.st.EraseContact(ctx, w.account.ID, c.ID)
	must(t, err)
	// The session learns at once: a fresh welcome, a new token, no conversation.
	wel := s.next(t, widget.FrameWelcome)
	if wel.Token == "" || wel.Token == token || wel.Conversation != "" || wel.Email != "" {
		t.Fatalf("welcome after erasure %+v", wel)
	}
	s.send(widget.Frame{Type: widget.FrameSend, ID: "m2", Text: "Hello again"})
	ack := s.next(t, widget.FrameAck)
	s.next(t, widget.FrameMessage)
	if ack.Conversation == convID {
		t.Fatal("wrote into the erased conversation")
	}
	newConv := w.conversation(t, ack.Conversation)
	if newConv.VisitorID == oldConv.VisitorID || newConv.ContactID != nil {
		t.Fatalf("new conversation %+v still tied to the erased visitor or contact", newConv)
	}
	if n := w.count(t, `SELECT count(*) FROM messages WHERE conversation_id = $1`, oldConv.ID) +
		w.count(t, `SELECT count(*) FROM visitors WHERE id = $1`, oldConv.VisitorID) +
		w.count(t, `SELECT count(*) FROM consents WHERE visitor_id = $1`, oldConv.VisitorID); n != 0 {
		t.Fatalf("%d rows of the erased visitor exist again", n)
	}
	// The old token is gone too.
	r := l.open()
	r.send(hello(token, convID, 0))
	if wel := r.next(t, widget.FrameWelcome); wel.Token == token || wel.Conversation != "" {
		t.Fatalf("old token resumed: %+v", wel)
	}
	s.quiet(t, 100*time.Millisecond)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestSendAfterAnUnannouncedErasureStartsOver(t *testing.T) {
	// The erasure's notice never reached this backend (say, it was down):
	// the next send finds the conversation and the visitor gone.
	w := newWorld(t)
	s, token, convID := w.chat(t, w.link(t), "first")
	conv := w.conversation(t, convID)
	_, err := w.db.Exec(`DELETE FROM messages WHERE conversation_id = $1; `, conv.ID)
	must(t, err)
	_, err = w.db.Exec(`DELETE FROM consents WHERE visitor_id = $1`, conv.VisitorID)
	must(t, err)
	_, err = w.db.Exec(`DELETE FROM tickets WHERE conversation_id = $1`, conv.ID)
	must(t, err)
	_, err = w.db.Exec(`DELETE FROM conversations WHERE id = $1`, conv.ID)
	must(t, err)
	_, err = w.db.Exec(`DELETE FROM visitors WHERE id = $1`, conv.VisitorID)
	must(t, err)

	s.send(widget.Frame{Type: widget.FrameSend, ID: "m2", Text: "second"})
	wel := s.next(t, widget.FrameWelcome)
	if wel.Token == token || wel.Conversation != "" {
		t.Fatalf("welcome %+v", wel)
	}
	// Either the send was caught in between (refused as closed, then sent
	// again by the widget), or the session had started over already and
	// stored it in a new conversation: nothing is lost either way.
	var ack widget.Frame
	select {
	case ev := <-s.events:
		for ev.closed == nil && ev.frame.Type == widget.FramePresence {
			ev = <-s.events
		}
		switch {
		case ev.closed != nil:
			t.Fatalf("session closed %+v", ev.closed)
		case ev.frame.Type == widget.FrameError && ev.frame.Code == widget.ErrConvClosed && ev.frame.ID == "m2":
			s.send(widget.Frame{Type: widget.FrameSend, ID: "m2", Text: "second"})
			ack = s.next(t, widget.FrameAck)
		case ev.frame.Type == widget.FrameAck && ev.frame.ID == "m2":
			ack = ev.frame
		default:
			t.Fatalf("got %+v, want m2 refused as closed or stored anew", ev.frame)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer to m2")
	}
	if c := w.conversation(t, ack.Conversation); c.VisitorID == conv.VisitorID {
		t.Fatal("the erased visitor wrote again")
	}
}

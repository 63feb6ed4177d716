package chat_test

import (
	"context"
	"testing"

	"github.com/parleychat/parley/backend/internal/identity"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// An address typed into the widget is the visitor's unverified claim: a
// stranger typing a customer's address reaches nothing of the customer —
// not their contact (name, properties, earlier conversations), not their
// subscriptions, not their export, not their next chat.
func TestATypedEmailNeverTakesOverAContact(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	newsletter := &store.SubscriptionType{AccountID: w.account.ID, Name: "Newsletter"}
	must(t, w.st.CreateSubscriptionType(ctx, newsletter))
	w.setFlow(t, "live_agent", `{"options":{"communication_consent":{"enabled":true,"subscription_type_id":`+itoa(newsletter.ID)+`}}}`)
	comm := w.published(t).Consents.Communication

	// The customer: identified by the site, subscribed, with a past chat.
	idt, err := identity.Issue(ctx, w.st, w.account.ID, identity.Request{Email: "cara@example.com", Name: "Cara Customer",
		Properties: map[string]any{"plan": "gold"}})
	must(t, err)
	cara := idt.ContactID
	_, err = w.st.SetContactSubscription(ctx, w.account.ID, cara, newsletter.ID, store.Subscribed, 0)
	must(t, err)
	l := w.link(t)
	c := l.open()
	c.send(identifiedHello("", "cara@example.com", idt.Token))
	c.next(t, widget.FrameWelcome)
	c.send(widget.Frame{Type: widget.FrameSend, ID: "c1", Text: "Where is my order?"})
	caraConv := w.conversation(t, c.next(t, widget.FrameAck).Conversation)
	_, err = w.st.CloseConversation(ctx, w.account.ID, caraConv.ID, "closed")
	must(t, err)

	// The stranger chats, types Cara's address and refuses the newsletter.
	s, token, strangerID := w.chat(t, l, "Please refund order 17 to my new card")
	s.send(widget.Frame{Type: widget.FrameEmail, ID: "e1", Email: "Cara@Example.com"})
	if f := s.next(t, widget.FrameEmail); f.Email != "Cara@Example.com" {
		t.Fatalf("email answer %+v", f)
	}
	s.send(widget.Frame{Type: widget.FrameConsent, ID: "k1", Kind: widget.ConsentCommunication, Decision: widget.DecisionRefused, Version: comm.Version})
	s.next(t, widget.FrameConsent)
	stranger := w.conversation(t, strangerID)

	// 1. The conversation is not Cara's: no contact link, the claim kept apart.
	if stranger.ContactID != nil || stranger.ClaimedEmail != "Cara@Example.com" {
		t.Errorf("stranger's conversation: contact %v, claim %q", stranger.ContactID, stranger.ClaimedEmail)
	}
	var linked *int64
	must(t, w.db.Get(&linked, `SELECT contact_id FROM visitors WHERE id = $1`, stranger.VisitorID))
	if linked != nil {
		t.Errorf("the stranger's visitor is linked to contact %d", *linked)
	}
	// The stranger's next page tells them only what they typed themselves.
	r := l.open()
	r.send(hello(token, strangerID, 0))
	if wel := r.next(t, widget.FrameWelcome); wel.Identified || wel.Properties != nil || wel.Email != "Cara@Example.com" {
		t.Errorf("stranger's welcome %+v", wel)
	}

	// 2. Cara's subscription is what she chose, not what the stranger clicked.
	subs, err := w.st.ContactSubscriptions(ctx, w.account.ID, cara)
	must(t, err)
	if len(subs) != 1 || subs[0].Status != store.Subscribed {
		t.Errorf("Cara's subscriptions %+v", subs)
	}
	contact, err := w.st.Contact(ctx, w.account.ID, cara)
	must(t, err)
	if contact.Name != "Cara Customer" || contact.PropertyMap()["plan"] != "gold" || !contact.Verified {
		t.Errorf("Cara's contact %+v", contact)
	}

	// 3. Cara's export lists her chat only.
	x, err := w.st.ExportContact(ctx, w.account.ID, cara)
	must(t, err)
	if len(x.Conversations) != 1 || x.Conversations[0].ID != caraConv.ID {
		t.Errorf("Cara's export lists %d conversations", len(x.Conversations))
	}
	for _, k := range x.Consents {
		if k.VisitorID != nil && *k.VisitorID == stranger.VisitorID {
			t.Errorf("Cara's export holds the stranger's consent %+v", k)
		}
	}

	// 4. Cara chats again, identified, from a new browser: a conversation of
	// her own, never the stranger's.
	idt2, err := identity.Issue(ctx, w.st, w.account.ID, identity.Request{Email: "cara@example.com"})
	must(t, err)
	n := l.open()
	n.send(identifiedHello("", "cara@example.com", idt2.Token))
	if wel := n.next(t, widget.FrameWelcome); !wel.Identified || wel.Conversation != "" {
		t.Errorf("Cara's welcome %+v: resumed %q (the stranger's is %s)", wel, wel.Conversation, strangerID)
	}
	n.send(widget.Frame{Type: widget.FrameSend, ID: "c2", Text: "Hi again"})
	if ack := n.next(t, widget.FrameAck); ack.Conversation == strangerID {
		t.Error("Cara wrote into the stranger's conversation")
	}
	// Nor does naming the stranger's conversation hand it over.
	h := identifiedHello("", "cara@example.com", idt2.Token)
	h.Conversation = strangerID
	o := l.open()
	o.send(h)
	o.errorCode(t, widget.ErrForbidden)
	o.expectClose(t, widget.CloseForbidden)
}

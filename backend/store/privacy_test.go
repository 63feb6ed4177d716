package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/parleychat/parley/backend/dbtest"
	"github.com/parleychat/parley/backend/store"
)

func TestChatflowContactsGetTheMarketingFlagOnlyWhenCreated(t *testing.T) {
	st := store.New(dbtest.New(t))
	ctx := context.Background()
	f := newFixture(t, st, "mk")
	_, v, err := st.CreateVisitor(ctx, f.account.ID)
	check(t, err)

	c, created, err := st.CaptureChatflowContact(ctx, store.NewChatflowContact{AccountID: f.account.ID, VisitorID: v.ID, Email: "Ann@Example.com", Marketing: true})
	check(t, err)
	if !created || !c.Marketing {
		t.Fatalf("new contact: created %v, marketing %v", created, c.Marketing)
	}
	again, created, err := st.CaptureChatflowContact(ctx, store.NewChatflowContact{AccountID: f.account.ID, VisitorID: v.ID, Email: "ann@example.com", Marketing: false})
	check(t, err)
	if created || again.ID != c.ID || !again.Marketing {
		t.Fatalf("existing contact: created %v, same %v, marketing %v", created, again.ID == c.ID, again.Marketing)
	}
	// A contact that existed before (left through another chatflow) is not made a marketing contact.
	old, err := st.CaptureEmail(ctx, f.account.ID, v.ID, 0, "bob@example.com")
	check(t, err)
	bob, created, err := st.CaptureChatflowContact(ctx, store.NewChatflowContact{AccountID: f.account.ID, VisitorID: v.ID, Email: "bob@example.com", Marketing: true})
	check(t, err)
	if created || bob.ID != old.ID || bob.Marketing {
		t.Fatalf("older contact: created %v, marketing %v", created, bob.Marketing)
	}
	var linked int64
	check(t, st.DB().Get(&linked, `SELECT contact_id FROM visitors WHERE id = $1`, v.ID))
	if linked != bob.ID {
		t.Fatal("the visitor is not linked to the contact")
	}
	other := newFixture(t, st, "mk2")
	if _, _, err := st.CaptureChatflowContact(ctx, store.NewChatflowContact{AccountID: other.account.ID, VisitorID: v.ID, Email: "eve@example.com"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another account's visitor: %v", err)
	}
}

func TestConsentRecordsStayInTheirAccountAndConversation(t *testing.T) {
	st := store.New(dbtest.New(t))
	ctx := context.Background()
	a, b := newFixture(t, st, "ca"), newFixture(t, st, "cb")
	_, v, err := st.CreateVisitor(ctx, a.account.ID)
	check(t, err)
	_, v2, err := st.CreateVisitor(ctx, a.account.ID)
	check(t, err)
	conv, _, err := st.CreateConversation(ctx, store.NewConversation{AccountID: a.account.ID, ChatflowID: a.chatflow, InboxID: a.inbox.ID, VisitorID: v.ID})
	check(t, err)
	contact, err := st.CaptureEmail(ctx, a.account.ID, v.ID, conv.ID, "ann@example.com")
	check(t, err)

	// Refused cookie banner: no visitor exists, nothing identifying is kept.
	r, err := st.RecordConsent(ctx, store.NewConsent{AccountID: a.account.ID, ChatflowID: a.chatflow, Kind: store.ConsentCookie,
		Decision: store.ConsentRefused, Text: "We use cookies.", PageURL: "https://shop.example/"})
	check(t, err)
	if r.VisitorID != nil || r.ContactID != nil || r.TextHash != store.TextHash("We use cookies.") {
		t.Fatalf("anonymous record %+v", r)
	}
	// The contact comes from the conversation.
	r, err = st.RecordConsent(ctx, store.NewConsent{AccountID: a.account.ID, ConversationID: conv.ID, Kind: store.ConsentDataProcessing,
		Basis: store.BasisExplicit, Decision: store.ConsentGranted, Text: "We store data."})
	check(t, err)
	if r.ContactID == nil || *r.ContactID != contact.ID || r.VisitorID == nil || *r.VisitorID != v.ID {
		t.Fatalf("record %+v: contact and visitor not taken from the conversation", r)
	}
	for name, n := range map[string]store.NewConsent{
		"another account's conversation": {AccountID: b.account.ID, ConversationID: conv.ID},
		"another visitor's conversation": {AccountID: a.account.ID, ConversationID: conv.ID, VisitorID: v2.ID},
		"another account's visitor":      {AccountID: b.account.ID, VisitorID: v.ID},
		"another account's chatflow":     {AccountID: b.account.ID, ChatflowID: a.chatflow},
		"another account's contact":      {AccountID: b.account.ID, ContactID: contact.ID},
	} {
		n.Kind, n.Decision, n.Text = store.ConsentCookie, store.ConsentGranted, "x"
		if _, err := st.RecordConsent(ctx, n); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := st.RecordConsent(ctx, store.NewConsent{AccountID: a.account.ID, Kind: "marketing", Decision: store.ConsentGranted}); err == nil {
		t.Error("an unknown kind is recorded")
	}
	list, err := st.Consents(ctx, a.account.ID, store.ConsentFilter{ConversationID: conv.ID})
	check(t, err)
	if len(list) != 1 || list[0].Kind != store.ConsentDataProcessing {
		t.Fatalf("conversation's consents %+v", list)
	}
	if _, err := st.Consents(ctx, b.account.ID, store.ConsentFilter{ContactID: contact.ID}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another account's contact filter: %v", err)
	}
}

func TestErasureLeavesAnotherContactsConversationOnASharedBrowser(t *testing.T) {
	st := store.New(dbtest.New(t))
	ctx := context.Background()
	f := newFixture(t, st, "sh")
	_, v, err := st.CreateVisitor(ctx, f.account.ID)
	check(t, err)
	// Bob chats first on this browser, then Ann on the same one.
	bobConv, _, err := st.CreateConversation(ctx, store.NewConversation{AccountID: f.account.ID, ChatflowID: f.chatflow, InboxID: f.inbox.ID, VisitorID: v.ID})
	check(t, err)
	bob, err := st.CaptureEmail(ctx, f.account.ID, v.ID, bobConv.ID, "bob@example.com")
	check(t, err)
	_, err = st.CloseConversation(ctx, f.account.ID, bobConv.ID, "closed")
	check(t, err)
	annConv, _, err := st.CreateConversation(ctx, store.NewConversation{AccountID: f.account.ID, ChatflowID: f.chatflow, InboxID: f.inbox.ID, VisitorID: v.ID})
	check(t, err)
	ann, err := st.CaptureEmail(ctx, f.account.ID, v.ID, annConv.ID, "ann@example.com")
	check(t, err)

	n, err := st.EraseContact(ctx, f.account.ID, ann.ID)
	check(t, err)
	if n.Conversations != 1 || n.Visitors != 0 {
		t.Fatalf("erased %+v", n)
	}
	if _, err := st.Conversation(ctx, f.account.ID, bobConv.ID); err != nil {
		t.Fatalf("Bob's conversation went with Ann: %v", err)
	}
	if _, err := st.Contact(ctx, f.account.ID, bob.ID); err != nil {
		t.Fatal("Bob went with Ann")
	}
	var contactID *int64
	check(t, st.DB().Get(&contactID, `SELECT contact_id FROM visitors WHERE id = $1`, v.ID))
	if contactID != nil {
		t.Fatal("the shared browser still points at the erased contact")
	}
}

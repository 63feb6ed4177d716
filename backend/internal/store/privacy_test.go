package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/store"
)

// identifyVisitor makes (or finds) the contact with email, verified, and
// links the visitor and its open conversations to it, as an identified
// hello does.
func identifyVisitor(t *testing.T, st *store.Store, accountID, visitorID int64, email string) *store.Contact {
	t.Helper()
	ctx := context.Background()
	_, _, c, err := st.IdentifyContact(ctx, store.Identification{AccountID: accountID, Email: email}, time.Hour)
	check(t, err)
	check(t, st.LinkVisitorContact(ctx, accountID, visitorID, c.ID))
	return c
}

func TestAClaimedEmailTouchesNoContact(t *testing.T) {
	st := store.New(dbtest.New(t))
	ctx := context.Background()
	f := newFixture(t, st, "cl")
	_, owner, err := st.CreateVisitor(ctx, f.account.ID)
	check(t, err)
	ann := identifyVisitor(t, st, f.account.ID, owner.ID, "ann@example.com")
	if !ann.Verified {
		t.Fatal("an identified contact is not verified")
	}

	_, v, err := st.CreateVisitor(ctx, f.account.ID)
	check(t, err)
	conv, _, err := st.CreateConversation(ctx, store.NewConversation{AccountID: f.account.ID, ChatflowID: f.chatflow, InboxID: f.inbox.ID, VisitorID: v.ID})
	check(t, err)
	check(t, st.ClaimEmail(ctx, f.account.ID, v.ID, conv.ID, "ANN@example.com"))
	got, err := st.Conversation(ctx, f.account.ID, conv.ID)
	check(t, err)
	if got.ContactID != nil || got.ClaimedEmail != "ANN@example.com" {
		t.Fatalf("claimed conversation: contact %v, claim %q", got.ContactID, got.ClaimedEmail)
	}
	var linked *int64
	var claim string
	check(t, st.DB().QueryRow(`SELECT contact_id, claimed_email FROM visitors WHERE id = $1`, v.ID).Scan(&linked, &claim))
	if linked != nil || claim != "ANN@example.com" {
		t.Fatalf("claiming visitor: contact %v, claim %q", linked, claim)
	}
	if after, err := st.Contact(ctx, f.account.ID, ann.ID); err != nil || !after.UpdatedAt.Equal(ann.UpdatedAt) {
		t.Fatalf("the contact changed: %v %v", after, err)
	}
	if n := countRows(t, st, `SELECT count(*) FROM contacts WHERE account_id = $1`, f.account.ID); n != 1 {
		t.Fatalf("%d contacts: a claim made one", n)
	}
	// A later conversation of the visitor carries the claim too.
	_, err = st.CloseConversation(ctx, f.account.ID, conv.ID, "closed")
	check(t, err)
	next, _, err := st.CreateConversation(ctx, store.NewConversation{AccountID: f.account.ID, ChatflowID: f.chatflow, InboxID: f.inbox.ID, VisitorID: v.ID})
	check(t, err)
	if next.ClaimedEmail != "ANN@example.com" || next.ContactID != nil {
		t.Fatalf("next conversation: claim %q, contact %v", next.ClaimedEmail, next.ContactID)
	}
	other := newFixture(t, st, "cl2")
	if err := st.ClaimEmail(ctx, other.account.ID, v.ID, 0, "eve@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another account's visitor: %v", err)
	}
	_, v2, err := st.CreateVisitor(ctx, f.account.ID)
	check(t, err)
	if err := st.ClaimEmail(ctx, f.account.ID, v2.ID, next.ID, "eve@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another visitor's conversation: %v", err)
	}
}

func countRows(t *testing.T, st *store.Store, q string, args ...any) int {
	t.Helper()
	var n int
	check(t, st.DB().Get(&n, q, args...))
	return n
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
	contact := identifyVisitor(t, st, a.account.ID, v.ID, "ann@example.com")

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
	bob := identifyVisitor(t, st, f.account.ID, v.ID, "bob@example.com")
	_, err = st.CloseConversation(ctx, f.account.ID, bobConv.ID, "closed")
	check(t, err)
	_, _, err = st.CreateConversation(ctx, store.NewConversation{AccountID: f.account.ID, ChatflowID: f.chatflow, InboxID: f.inbox.ID, VisitorID: v.ID})
	check(t, err)
	ann := identifyVisitor(t, st, f.account.ID, v.ID, "ann@example.com")

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

package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/store"
)

// A crowd of first messages at once: every visitor gets one conversation
// with its ticket, a visitor sending from several tabs at once gets the
// same one (created once), and a visitor of another account is refused.
func TestCreateConversationCrowdAtOnce(t *testing.T) {
	st := store.New(dbtest.New(t))
	ctx := context.Background()
	a, b := newFixture(t, st, "a"), newFixture(t, st, "b")
	const visitors, tabs = 150, 3
	ids := make([]int64, visitors)
	for i := range ids {
		_, v, err := st.CreateVisitor(ctx, a.account.ID)
		check(t, err)
		ids[i] = v.ID
	}
	_, other, err := st.CreateVisitor(ctx, b.account.ID)
	check(t, err)

	type got struct {
		conv    *store.Conversation
		created bool
		err     error
	}
	results := make([][]got, visitors)
	var wg sync.WaitGroup
	for i := range ids {
		results[i] = make([]got, tabs)
		for k := range tabs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, created, err := st.CreateConversation(ctx, store.NewConversation{AccountID: a.account.ID, ChatflowID: a.chatflow,
					InboxID: a.inbox.ID, VisitorID: ids[i], PageURL: "https://shop.example/p"})
				results[i][k] = got{c, created, err}
			}()
		}
	}
	var wrong error
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _, wrong = st.CreateConversation(ctx, store.NewConversation{AccountID: a.account.ID, ChatflowID: a.chatflow,
			InboxID: a.inbox.ID, VisitorID: other.ID})
	}()
	wg.Wait()
	if !errors.Is(wrong, store.ErrNotFound) {
		t.Errorf("another account's visitor: %v, want ErrNotFound", wrong)
	}
	for i, rs := range results {
		created := 0
		for _, r := range rs {
			if r.err != nil {
				t.Fatalf("visitor %d: %v", i, r.err)
			}
			if r.conv.ID != rs[0].conv.ID || r.conv.VisitorID != ids[i] || r.conv.PageURL != "https://shop.example/p" || r.conv.Status != store.StatusOpen {
				t.Fatalf("visitor %d: conversation %+v, first tab's %d", i, r.conv, rs[0].conv.ID)
			}
			if r.created {
				created++
			}
		}
		if created != 1 {
			t.Errorf("visitor %d: %d tabs were told they created the conversation, want 1", i, created)
		}
	}
	var convs, tickets int
	check(t, st.DB().Get(&convs, `SELECT count(*) FROM conversations WHERE account_id = $1`, a.account.ID))
	check(t, st.DB().Get(&tickets, `SELECT count(*) FROM tickets t JOIN conversations c ON c.id = t.conversation_id
		WHERE c.account_id = $1 AND t.status = $2`, a.account.ID, store.TicketStatusNew))
	if convs != visitors || tickets != visitors {
		t.Fatalf("%d conversations and %d new tickets for %d visitors", convs, tickets, visitors)
	}
	// An open conversation is found again, not doubled.
	c, created, err := st.CreateConversation(ctx, store.NewConversation{AccountID: a.account.ID, ChatflowID: a.chatflow, InboxID: a.inbox.ID, VisitorID: ids[0]})
	check(t, err)
	if created || c.ID != results[0][0].conv.ID {
		t.Fatalf("again: conversation %d created=%v, want %d not created", c.ID, created, results[0][0].conv.ID)
	}
}

// A conversation created with AttachConsents and an implied consent: the
// consent given before it is attached, the implied one is recorded with it
// (its text's hash as RecordConsent keeps it), and nothing is recorded
// when the conversation existed already.
func TestCreateConversationCarriesTheConsents(t *testing.T) {
	st := store.New(dbtest.New(t))
	ctx := context.Background()
	f := newFixture(t, st, "consents")
	_, v, err := st.CreateVisitor(ctx, f.account.ID)
	check(t, err)
	_, err = st.RecordConsent(ctx, store.NewConsent{AccountID: f.account.ID, VisitorID: v.ID, ChatflowID: f.chatflow,
		Kind: store.ConsentCookie, Decision: store.ConsentGranted, Text: "Cookies?"})
	check(t, err)
	implied := &store.NewConsent{AccountID: f.account.ID, VisitorID: v.ID, ChatflowID: f.chatflow, Kind: store.ConsentDataProcessing,
		Basis: store.BasisLegitimateInterest, Decision: store.ConsentGranted, Text: "We process what you write.", Language: "en",
		PageURL: "https://shop.example/p"}
	nc := store.NewConversation{AccountID: f.account.ID, ChatflowID: f.chatflow, InboxID: f.inbox.ID, VisitorID: v.ID,
		AttachConsents: true, Consent: implied}
	c, created, err := st.CreateConversation(ctx, nc)
	check(t, err)
	if !created {
		t.Fatal("not created")
	}
	_, _, err = st.CreateConversation(ctx, nc) // open already: nothing more recorded
	check(t, err)
	var rows []struct {
		Kind string `db:"kind"`
		Conv *int64 `db:"conversation_id"`
		Hash string `db:"text_hash"`
		Text string `db:"text"`
	}
	check(t, st.DB().Select(&rows, `SELECT kind, conversation_id, text_hash, text FROM consents WHERE visitor_id = $1 ORDER BY id`, v.ID))
	if len(rows) != 2 || rows[0].Conv == nil || *rows[0].Conv != c.ID || rows[1].Conv == nil || *rows[1].Conv != c.ID ||
		rows[1].Kind != store.ConsentDataProcessing || rows[1].Hash != store.TextHash(implied.Text) {
		t.Fatalf("consents %+v, want the cookie consent attached and the implied one recorded with conversation %d", rows, c.ID)
	}
}

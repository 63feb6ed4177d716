package housekeeping

import (
	"context"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/store"
)

// Visitors that never sent anything go once they are old enough, in
// batches; a visitor that chatted, consented, left an address, was
// identified or came back recently stays.
func TestSilentVisitorsAreDeletedInBatches(t *testing.T) {
	db := dbtest.New(t)
	st := store.New(db)
	ctx := context.Background()
	acct := &store.Account{Name: "Visitors"}
	check(t, st.CreateAccount(ctx, acct))
	in := &store.Inbox{AccountID: acct.ID, Name: "Support"}
	check(t, st.CreateInbox(ctx, in))
	visitor := func() int64 {
		_, v, err := st.CreateVisitor(ctx, acct.ID)
		check(t, err)
		return v.ID
	}
	age := func(id int64, created, seen time.Duration) {
		_, err := db.Exec(`UPDATE visitors SET created_at = now() - make_interval(secs => $2), last_seen_at = now() - make_interval(secs => $3) WHERE id = $1`,
			id, created.Seconds(), seen.Seconds())
		check(t, err)
	}
	var silent []int64
	for range 5 {
		id := visitor()
		age(id, 48*time.Hour, 47*time.Hour)
		silent = append(silent, id)
	}
	keep := map[string]int64{}
	keep["chatted"] = visitor()
	_, _, err := st.CreateConversation(ctx, store.NewConversation{AccountID: acct.ID, InboxID: in.ID, VisitorID: keep["chatted"]})
	check(t, err)
	keep["consented"] = visitor()
	_, err = st.RecordConsent(ctx, store.NewConsent{AccountID: acct.ID, VisitorID: keep["consented"], Kind: store.ConsentCookie, Decision: store.ConsentGranted, Text: "Cookies?"})
	check(t, err)
	keep["left an address"] = visitor()
	check(t, st.ClaimEmail(ctx, acct.ID, keep["left an address"], 0, "ann@example.com"))
	keep["identified"] = visitor()
	_, _, c, err := st.IdentifyContact(ctx, store.Identification{AccountID: acct.ID, Email: "ivy@example.com"}, time.Hour)
	check(t, err)
	check(t, st.LinkVisitorContact(ctx, acct.ID, keep["identified"], c.ID))
	keep["seen lately"] = visitor()
	for name, id := range keep {
		if name == "seen lately" {
			age(id, 48*time.Hour, time.Hour)
		} else {
			age(id, 48*time.Hour, 47*time.Hour)
		}
	}
	keep["new"] = visitor()

	res, err := New(st, Config{Batch: 2}).RunOnce(ctx)
	check(t, err)
	if res.Removed["visitors"] != 5 {
		t.Fatalf("removed %d visitors, want 5 (all: %v)", res.Removed["visitors"], res.Removed)
	}
	for _, id := range silent {
		var n int
		check(t, db.Get(&n, `SELECT count(*) FROM visitors WHERE id = $1`, id))
		if n != 0 {
			t.Errorf("silent visitor %d kept", id)
		}
	}
	for name, id := range keep {
		var n int
		check(t, db.Get(&n, `SELECT count(*) FROM visitors WHERE id = $1`, id))
		if n != 1 {
			t.Errorf("the visitor that %s was deleted", name)
		}
	}
	// A shorter age reaches the visitor seen an hour ago.
	res, err = New(st, Config{SilentVisitorAge: 30 * time.Minute}).RunOnce(ctx)
	check(t, err)
	if res.Removed["visitors"] != 1 {
		t.Fatalf("with a 30-minute age removed %d, want 1", res.Removed["visitors"])
	}
}

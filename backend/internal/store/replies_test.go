package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/migrations"
)

func newUser(t *testing.T, st *store.Store, account int64, email, role string) *store.User {
	t.Helper()
	u := &store.User{AccountID: account, Email: email, Name: email, Role: role}
	check(t, st.CreateUser(context.Background(), u))
	return u
}

// shortcuts lists what u may use, as "/shortcut=body" with a "*" on shared ones.
func shortcuts(t *testing.T, st *store.Store, u *store.User) []string {
	t.Helper()
	rs, err := st.SavedReplies(context.Background(), u.AccountID, u.ID)
	check(t, err)
	out := []string{}
	for _, r := range rs {
		s := "/" + r.Shortcut + "=" + r.Body
		if r.Shared {
			s += "*"
		}
		out = append(out, s)
	}
	return out
}

func wantList(t *testing.T, st *store.Store, u *store.User, want ...string) {
	t.Helper()
	got := shortcuts(t, st, u)
	if len(want) == 0 {
		want = []string{}
	}
	if len(got) != len(want) {
		t.Fatalf("%s sees %q, want %q", u.Email, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s sees %q, want %q", u.Email, got, want)
		}
	}
}

func TestSavedRepliesPersonalSharedAndWhoMayChangeThem(t *testing.T) {
	st := store.New(dbtest.New(t))
	ctx := context.Background()
	a, b := newFixture(t, st, "a"), newFixture(t, st, "b")
	alice := newUser(t, st, a.account.ID, "alice@a.example", store.RoleAgent)
	bob := newUser(t, st, a.account.ID, "bob@a.example", store.RoleAgent)
	carol := newUser(t, st, a.account.ID, "carol@a.example", store.RoleAdmin)
	dave := newUser(t, st, b.account.ID, "dave@b.example", store.RoleAdmin)

	mine := &store.SavedReply{AccountID: a.account.ID, Shortcut: "hi", Body: "Hi, Alice here.", AuthorID: &alice.ID}
	team := &store.SavedReply{AccountID: a.account.ID, Shortcut: "refund", Body: "Refunds take 3 days.", Shared: true, AuthorID: &alice.ID}
	check(t, st.CreateSavedReply(ctx, mine))
	check(t, st.CreateSavedReply(ctx, team))
	if !team.Shared || team.AuthorName != "alice@a.example" || mine.Shared {
		t.Fatalf("created %+v and %+v", mine, team)
	}
	wantList(t, st, alice, "/hi=Hi, Alice here.", "/refund=Refunds take 3 days.*")
	wantList(t, st, bob, "/refund=Refunds take 3 days.*")
	wantList(t, st, dave)

	// Shortcuts are unique per kind: shared in the account, personal per agent.
	dup := &store.SavedReply{AccountID: a.account.ID, Shortcut: "refund", Body: "x", Shared: true, AuthorID: &bob.ID}
	if err := st.CreateSavedReply(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second shared /refund: %v", err)
	}
	check(t, st.CreateSavedReply(ctx, &store.SavedReply{AccountID: a.account.ID, Shortcut: "hi", Body: "Hi, Bob here.", AuthorID: &bob.ID}))
	check(t, st.CreateSavedReply(ctx, &store.SavedReply{AccountID: a.account.ID, Shortcut: "refund", Body: "My refund text.", AuthorID: &bob.ID}))
	wantList(t, st, bob, "/hi=Hi, Bob here.", "/refund=My refund text.", "/refund=Refunds take 3 days.*")
	wantList(t, st, alice, "/hi=Hi, Alice here.", "/refund=Refunds take 3 days.*")

	// Someone else's personal reply, or another account's, is unknown to them.
	for _, u := range []*store.User{bob, carol, dave} {
		if _, err := st.SavedReply(ctx, u, mine.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s reads alice's personal reply: %v", u.Email, err)
		}
		if _, err := st.UpdateSavedReply(ctx, u, mine.ID, "hi", "hacked", false); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s edits alice's personal reply: %v", u.Email, err)
		}
		if err := st.DeleteSavedReply(ctx, u, mine.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s deletes alice's personal reply: %v", u.Email, err)
		}
	}
	if _, err := st.UpdateSavedReply(ctx, dave, team.ID, "refund", "hacked", true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another account edits the shared reply: %v", err)
	}
	// A teammate who is not admin may use the shared reply but not change it.
	if _, err := st.UpdateSavedReply(ctx, bob, team.ID, "refund", "hacked", true); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("bob edits alice's shared reply: %v", err)
	}
	if err := st.DeleteSavedReply(ctx, bob, team.ID); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("bob deletes alice's shared reply: %v", err)
	}
	wantList(t, st, alice, "/hi=Hi, Alice here.", "/refund=Refunds take 3 days.*")

	// An admin may edit it, but not take it away from the team.
	r, err := st.UpdateSavedReply(ctx, carol, team.ID, "refunds", "Refunds take 5 days.", true)
	check(t, err)
	if r.Shortcut != "refunds" || r.AuthorName != "alice@a.example" {
		t.Fatalf("after the admin's edit: %+v", r)
	}
	if _, err := st.UpdateSavedReply(ctx, carol, team.ID, "refunds", "x", false); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("admin makes alice's shared reply personal: %v", err)
	}
	wantList(t, st, bob, "/hi=Hi, Bob here.", "/refund=My refund text.", "/refunds=Refunds take 5 days.*")

	// Its author may make it personal: teammates lose it.
	_, err = st.UpdateSavedReply(ctx, alice, team.ID, "refunds", "Refunds take 5 days.", false)
	check(t, err)
	wantList(t, st, bob, "/hi=Hi, Bob here.", "/refund=My refund text.")
	wantList(t, st, carol)
	// Sharing again where the team already has the shortcut is a conflict.
	check(t, st.CreateSavedReply(ctx, &store.SavedReply{AccountID: a.account.ID, Shortcut: "refunds", Body: "Bob's.", Shared: true, AuthorID: &bob.ID}))
	if _, err := st.UpdateSavedReply(ctx, alice, team.ID, "refunds", "Refunds take 5 days.", true); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("sharing onto a taken shortcut: %v", err)
	}

	// A deleted author's personal replies go; shared ones stay, for admins to change.
	_, err = st.UpdateSavedReply(ctx, alice, team.ID, "refund", "Refunds take 5 days.", true)
	check(t, err)
	check(t, st.DeleteUser(ctx, a.account.ID, alice.ID))
	wantList(t, st, carol, "/refund=Refunds take 5 days.*", "/refunds=Bob's.*")
	orphan, err := st.SavedReply(ctx, carol, team.ID)
	check(t, err)
	if orphan.AuthorID != nil || orphan.AuthorName != "" || orphan.EditableBy(bob) || !orphan.EditableBy(carol) {
		t.Fatalf("orphaned shared reply %+v", orphan)
	}
	var left int
	check(t, st.DB().Get(&left, `SELECT count(*) FROM saved_replies WHERE id = $1`, mine.ID))
	if left != 0 {
		t.Fatal("a deleted user's personal reply stayed")
	}
	check(t, st.DeleteSavedReply(ctx, carol, team.ID))
	wantList(t, st, bob, "/hi=Hi, Bob here.", "/refund=My refund text.", "/refunds=Bob's.*")
}

// Replies saved before 0009 had no author and every agent of the account
// used them; after the migration they still do, and only admins change them.
func TestSavedRepliesFromBeforeSharingStayShared(t *testing.T) {
	db := dbtest.New(t)
	ctx := context.Background()
	_, err := db.Exec(`DROP SCHEMA public CASCADE; CREATE SCHEMA public`)
	check(t, err)
	all, err := migrations.All()
	check(t, err)
	var upgrade string
	for _, m := range all {
		switch {
		case m.Version < 9:
			if _, err := db.Exec(m.SQL); err != nil {
				t.Fatalf("%s: %v", m.Name, err)
			}
		case m.Version == 9:
			upgrade = m.SQL
		}
	}
	st := store.New(db)
	f := newFixture(t, st, "a")
	agent := newUser(t, st, f.account.ID, "agent@a.example", store.RoleAgent)
	admin := newUser(t, st, f.account.ID, "admin@a.example", store.RoleAdmin)
	var id int64
	check(t, db.Get(&id, `INSERT INTO saved_replies (account_id, shortcut, body) VALUES ($1, 'thanks', 'Thank you!') RETURNING id`, f.account.ID))
	if _, err := db.Exec(upgrade); err != nil {
		t.Fatalf("0009: %v", err)
	}
	wantList(t, st, agent, "/thanks=Thank you!*")
	r, err := st.SavedReply(ctx, agent, id)
	check(t, err)
	if r.EditableBy(agent) || !r.EditableBy(admin) {
		t.Fatalf("old reply editable by agent %v, by admin %v", r.EditableBy(agent), r.EditableBy(admin))
	}
	if err := st.DeleteSavedReply(ctx, agent, r.ID); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("agent deletes an old reply: %v", err)
	}
	if _, err := st.UpdateSavedReply(ctx, admin, r.ID, "thanks", "Thanks a lot!", true); err != nil {
		t.Fatal(err)
	}
	wantList(t, st, agent, "/thanks=Thanks a lot!*")
}

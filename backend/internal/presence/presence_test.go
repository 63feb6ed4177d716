package presence

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/backend/internal/store"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type world struct {
	db   *sqlx.DB
	st   *store.Store
	acct *store.Account
	ada  *store.User
	bob  *store.User // the control, in an account of his own (see swept)
	sub  *events.Subscription
}

func setup(t *testing.T) *world {
	t.Helper()
	dsn := dbtest.URL(t)
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	bus, err := events.Listen(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	st := store.New(db)
	st.SetNotifier(bus.Send)
	ctx := context.Background()
	acct := &store.Account{Name: "Presence"}
	if err := st.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	ada := &store.User{AccountID: acct.ID, Email: "ada@example.com", Name: "Ada", HasSeat: true, Status: store.UserAvailable, MaxOpenChats: 5}
	if err := st.CreateUser(ctx, ada); err != nil {
		t.Fatal(err)
	}
	other := &store.Account{Name: "Control"}
	if err := st.CreateAccount(ctx, other); err != nil {
		t.Fatal(err)
	}
	bob := &store.User{AccountID: other.ID, Email: "bob@example.com", Name: "Bob", HasSeat: true, Status: store.UserAvailable, MaxOpenChats: 5}
	if err := st.CreateUser(ctx, bob); err != nil {
		t.Fatal(err)
	}
	w := &world{db: db, st: st, acct: acct, ada: ada, bob: bob, sub: bus.Subscribe(acct.ID)}
	t.Cleanup(w.sub.Close)
	return w
}

// status waits until Ada's status and chosen status are as wanted.
func (w *world) status(t *testing.T, want, chosen string, within time.Duration) {
	t.Helper()
	w.statusOf(t, w.ada, want, chosen, within)
}

// swept returns once a sweep has looked at every agent after the away time
// from now: Bob, available, has a page on tr whose close tr writes now,
// and the sweep (one UPDATE over every account) turns him away only then.
func (w *world) swept(t *testing.T, tr *Tracker, after time.Duration) {
	t.Helper()
	if err := w.st.SetUserStatus(context.Background(), w.bob.AccountID, w.bob.ID, store.UserAvailable); err != nil {
		t.Fatal(err)
	}
	closed := tr.Opened(w.bob.ID)
	until(t, "Bob's page written", 3*time.Second, func() bool {
		var n int
		if err := w.db.Get(&n, `SELECT count(*) FROM agent_sockets WHERE user_id = $1 AND left_at IS NULL`, w.bob.ID); err != nil {
			t.Fatal(err)
		}
		return n > 0
	})
	closed()
	w.statusOf(t, w.bob, store.UserAway, store.UserAvailable, after+3*time.Second)
}

// statusOf waits until who's status and chosen status are as wanted.
func (w *world) statusOf(t *testing.T, who *store.User, want, chosen string, within time.Duration) {
	t.Helper()
	var got, gotChosen string
	ok := func() bool {
		u, err := w.st.User(context.Background(), who.AccountID, who.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, gotChosen = u.Status, ""
		if u.ChosenStatus != nil {
			gotChosen = *u.ChosenStatus
		}
		return got == want && gotChosen == chosen
	}
	if !until(t, "", within, ok) {
		t.Fatalf("%s: status %q (chosen %q), want %q (chosen %q)", who.Name, got, gotChosen, want, chosen)
	}
}

// until polls cond every 50 ms until it holds (true) or within has passed
// (false; with what set, that fails the test).
func until(t *testing.T, what string, within time.Duration, cond func() bool) bool {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			if what != "" {
				t.Fatalf("timed out waiting for %s", what)
			}
			return false
		}
	}
	return true
}

// presenceNotice waits for a presence notice of the account.
func (w *world) presenceNotice(t *testing.T) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case n := <-w.sub.C:
			if n.Kind == events.KindPresence {
				return
			}
		case <-timeout:
			t.Fatal("no presence notice")
		}
	}
}

// TestAwayWithNoPageAndBackOnReturn: an agent whose only inbox page (on
// backend A) closes turns away after the away time, with a notice, though
// backend B runs the sweep too; a page on B brings them back; their own
// away stays away whatever pages do; signing out is offline and returning
// brings their own choice back.
func TestAwayWithNoPageAndBackOnReturn(t *testing.T) {
	w := setup(t)
	const after = 600 * time.Millisecond
	a, b := New(w.st, Config{AwayAfter: after}), New(w.st, Config{AwayAfter: after})
	stopA, stopB := a.Start(), b.Start()
	defer stopB()

	// Never had a page: left alone.
	w.swept(t, b, after)
	w.status(t, store.UserAvailable, "", 0)

	closeA := a.Opened(w.ada.ID)
	closeA2 := a.Opened(w.ada.ID) // a second tab
	w.swept(t, a, after)
	w.status(t, store.UserAvailable, "", 0) // pages open: still available
	closeA()
	w.swept(t, a, after)
	w.status(t, store.UserAvailable, "", 0) // one tab is still open
	left := time.Now()
	closeA2()
	w.status(t, store.UserAway, store.UserAvailable, after+3*time.Second)
	if d := time.Since(left); d < after {
		t.Fatalf("away after %v, before the away time %v", d, after)
	}
	w.presenceNotice(t)

	// Back on another backend: available again at once.
	closeB := b.Opened(w.ada.ID)
	w.status(t, store.UserAvailable, "", 3*time.Second)

	// Her own away is hers: closing and opening pages leaves it.
	if err := w.st.SetUserStatus(context.Background(), w.acct.ID, w.ada.ID, store.UserAway); err != nil {
		t.Fatal(err)
	}
	closeB()
	w.swept(t, b, after)
	w.status(t, store.UserAway, "", 0)
	closeB = b.Opened(w.ada.ID)
	w.swept(t, b, after) // b writes her page before Bob's
	w.status(t, store.UserAway, "", 0)

	// Signing out is offline; returning puts her choice (away) back.
	if err := w.st.SignedOut(context.Background(), w.acct.ID, w.ada.ID); err != nil {
		t.Fatal(err)
	}
	w.status(t, store.UserOffline, store.UserAway, 0)
	if back, err := w.st.Returned(context.Background(), w.ada.ID); err != nil || back == nil || back.Status != store.UserAway {
		t.Fatalf("returned: %+v %v", back, err)
	}
	w.status(t, store.UserAway, "", 0)
	closeB()

	// Backend A stops cleanly while it holds her page: it stops counting.
	if err := w.st.SetUserStatus(context.Background(), w.acct.ID, w.ada.ID, store.UserAvailable); err != nil {
		t.Fatal(err)
	}
	a.Opened(w.ada.ID)
	w.swept(t, a, after)
	w.status(t, store.UserAvailable, "", 0)
	stopA()
	w.status(t, store.UserAway, store.UserAvailable, after+3*time.Second)
}

// TestCrashedBackendStopsCounting: a page on a backend whose heartbeat
// went stale no longer keeps its agent available.
func TestCrashedBackendStopsCounting(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	const after = 300 * time.Millisecond
	// A backend reports her page open, then crashes: it never writes again.
	if _, _, err := w.st.SyncAgentSockets(ctx, "crashed", []int64{w.ada.ID}, nil, true); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.Exec(`UPDATE users SET status_at = now() - interval '1 hour' WHERE id = $1`, w.ada.ID); err != nil {
		t.Fatal(err)
	}
	if away, err := w.st.AwayIdleAgents(ctx, after); err != nil || len(away) != 0 {
		t.Fatalf("away while the backend vouches for her page: %+v %v", away, err)
	}
	if _, err := w.db.Exec(`UPDATE backend_heartbeats SET seen_at = now() - interval '2 minutes' WHERE backend = 'crashed'`); err != nil {
		t.Fatal(err)
	}
	away, err := w.st.AwayIdleAgents(ctx, after)
	if err != nil || len(away) != 1 || away[0].UserID != w.ada.ID {
		t.Fatalf("away after the crash: %+v %v", away, err)
	}
	w.status(t, store.UserAway, store.UserAvailable, 0)
	w.presenceNotice(t)
}

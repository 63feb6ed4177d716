package housekeeping

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/store"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// tables are what a round sweeps, as Result.Removed names them.
var tables = []string{"identification_tokens", "user_sessions", "login_failures", "user_invitations"}

// live is one row of each kind that must survive a round.
type live struct {
	accountID      int64
	email, token   string
	sessionSecret  string
	invitation     string
	failureEmail   string
	failureAddress string
}

// seed writes expired rows of every kind (n of each) and one live row of
// each kind, through the store's own writes; expiry is reached by moving
// times back, not by waiting. The store's own sweeps (a new session drops
// the user's expired ones, a failure drops those older than its keep) run
// before anything is moved back, so they leave the seed alone.
func seed(t *testing.T, st *store.Store, n int) live {
	t.Helper()
	ctx := context.Background()
	acct := &store.Account{Name: "Housekeeping"}
	check(t, st.CreateAccount(ctx, acct))
	u := &store.User{AccountID: acct.ID, Email: "agent@example.com", Name: "Agent"}
	check(t, st.CreateUser(ctx, u))
	l := live{accountID: acct.ID, email: "ann@example.com", failureEmail: "typo@example.com", failureAddress: "198.51.100.7"}
	var err error
	l.token, _, _, err = st.IdentifyContact(ctx, store.Identification{AccountID: acct.ID, Email: l.email}, time.Hour)
	check(t, err)
	l.sessionSecret, _, err = st.CreateSession(ctx, u.ID, time.Hour)
	check(t, err)
	l.invitation, _, err = st.CreateInvitation(ctx, acct.ID, u.ID, time.Hour)
	check(t, err)

	var old [][]byte
	for i := range n {
		_, _, _, err := st.IdentifyContact(ctx, store.Identification{AccountID: acct.ID, Email: fmt.Sprintf("old%d@example.com", i)}, -time.Minute)
		check(t, err)
		secret, _, err := st.CreateSession(ctx, u.ID, time.Hour)
		check(t, err)
		old = append(old, store.HashToken(secret))
		check(t, st.RecordLoginFailure(ctx, "guesser@example.com", fmt.Sprintf("192.0.2.%d", i), time.Hour))
		invited := &store.User{AccountID: acct.ID, Email: fmt.Sprintf("invited%d@example.com", i), Name: "Invited"}
		check(t, st.CreateUser(ctx, invited))
		_, _, err = st.CreateInvitation(ctx, acct.ID, invited.ID, -time.Minute)
		check(t, err)
	}
	check(t, st.RecordLoginFailure(ctx, l.failureEmail, l.failureAddress, time.Hour))
	_, err = st.DB().Exec(`UPDATE user_sessions SET expires_at = now() - interval '1 minute' WHERE id_hash = ANY($1)`, pq.ByteaArray(old))
	check(t, err)
	// Past the 15-minute throttling window, inside the hour the store itself keeps.
	_, err = st.DB().Exec(`UPDATE login_failures SET created_at = now() - interval '30 minutes' WHERE email = 'guesser@example.com'`)
	check(t, err)
	return l
}

// counts returns the rows left in each swept table.
func counts(t *testing.T, db *sqlx.DB) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	for _, table := range tables {
		var n int64
		check(t, db.Get(&n, `SELECT count(*) FROM `+table))
		m[table] = n
	}
	return m
}

// stillLive checks the live rows still work where they are used.
func stillLive(t *testing.T, st *store.Store, l live) {
	t.Helper()
	ctx := context.Background()
	if _, err := st.ContactByIdentificationToken(ctx, l.accountID, l.email, l.token); err != nil {
		t.Errorf("live identification token: %v", err)
	}
	if _, err := st.SessionBySecret(ctx, l.sessionSecret); err != nil {
		t.Errorf("live session: %v", err)
	}
	if _, err := st.InvitedUser(ctx, l.invitation); err != nil {
		t.Errorf("live invitation: %v", err)
	}
	byEmail, byIP, err := st.LoginFailures(ctx, l.failureEmail, l.failureAddress, time.Hour)
	check(t, err)
	if byEmail != 1 || byIP != 1 {
		t.Errorf("recent sign-in failure counts %d by email, %d by address; want 1 and 1", byEmail, byIP)
	}
}

func wantRemoved(t *testing.T, res Result, n int64) {
	t.Helper()
	if res.Skipped {
		t.Fatal("round skipped")
	}
	for _, table := range tables {
		if res.Removed[table] != n {
			t.Errorf("removed %d from %s, want %d (all: %v)", res.Removed[table], table, n, res.Removed)
		}
	}
}

func TestRunOnceDeletesExpiredRowsInBatchesAndKeepsLiveOnes(t *testing.T) {
	db := dbtest.New(t)
	st := store.New(db)
	l := seed(t, st, 5)
	// A batch of 2 takes three statements for 5 rows: the repeat is exercised.
	job := New(st, Config{Batch: 2, LoginFailureAge: 15 * time.Minute})

	res, err := job.RunOnce(context.Background())
	check(t, err)
	wantRemoved(t, res, 5)
	if res.Total() != 20 {
		t.Errorf("total %d, want 20", res.Total())
	}
	for table, n := range counts(t, db) {
		if n != 1 {
			t.Errorf("%s keeps %d rows, want the 1 live one", table, n)
		}
	}
	stillLive(t, st, l)

	res, err = job.RunOnce(context.Background())
	check(t, err)
	wantRemoved(t, res, 0)
}

func TestSecondRunnerSkipsWhileTheFirstHoldsTheLock(t *testing.T) {
	// Two pools on one database stand for two backends.
	u := dbtest.URL(t)
	dbA, dbB := open(t, u), open(t, u)
	stA, stB := store.New(dbA), store.New(dbB)
	seed(t, stA, 3)

	first := New(stA, Config{})
	inside, release := make(chan struct{}), make(chan struct{})
	first.held = func() {
		close(inside)
		<-release
	}
	type outcome struct {
		res Result
		err error
	}
	done := make(chan outcome)
	go func() {
		res, err := first.RunOnce(context.Background())
		done <- outcome{res, err}
	}()
	<-inside

	second := New(stB, Config{})
	res, err := second.RunOnce(context.Background())
	check(t, err)
	if !res.Skipped || res.Total() != 0 {
		t.Fatalf("second runner while the first holds the lock: %+v", res)
	}
	for table, n := range counts(t, dbB) {
		if n != 4 {
			t.Errorf("%s has %d rows while the first runner waits, want 4", table, n)
		}
	}

	close(release)
	o := <-done
	check(t, o.err)
	wantRemoved(t, o.res, 3)

	// The lock went with the first round: the second runner now works.
	res, err = second.RunOnce(context.Background())
	check(t, err)
	wantRemoved(t, res, 0)
}

func TestDatabaseErrorIsReportedAndTheNextRoundWorks(t *testing.T) {
	u, name := freshDatabase(t)
	rename(t, name, name+"_away")
	job := New(store.New(open(t, u)), Config{})

	res, err := job.RunOnce(context.Background())
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("round on a missing database: %+v, err %v", res, err)
	}

	rename(t, name+"_away", name)
	st := store.New(open(t, u))
	l := seed(t, st, 2)
	res, err = job.RunOnce(context.Background())
	check(t, err)
	wantRemoved(t, res, 2)
	stillLive(t, st, l)
}

func TestRunLogsAFailedRoundRecoversAndStops(t *testing.T) {
	u, name := freshDatabase(t)
	rename(t, name, name+"_away")
	logs := &recorder{failed: make(chan struct{}), removed: make(chan struct{})}
	// Rounds follow each other at once, so the test waits for events, not time.
	stop := New(store.New(open(t, u)), Config{Every: time.Millisecond, Logger: slog.New(logs)}).Start()

	<-logs.failed
	rename(t, name+"_away", name)
	st := store.New(open(t, u))
	seed(t, st, 1)
	<-logs.removed
	stop() // returns only once the loop has ended

	if logs.err == "" || !strings.Contains(logs.err, "does not exist") {
		t.Errorf("failed round logged err %q", logs.err)
	}
}

// recorder is a slog.Handler noting the first failed round and the first
// round that removed rows.
type recorder struct {
	mu               sync.Mutex
	err              string
	failed, removed  chan struct{}
	sawFail, sawGone bool
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case rec.Level == slog.LevelWarn && !r.sawFail:
		r.sawFail = true
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "err" {
				r.err = a.Value.String()
			}
			return true
		})
		close(r.failed)
	case rec.Level == slog.LevelInfo && !r.sawGone:
		r.sawGone = true
		close(r.removed)
	}
	return nil
}

// freshDatabase returns a fresh migrated database's URL and name.
func freshDatabase(t *testing.T) (string, string) {
	t.Helper()
	u := dbtest.URL(t)
	parsed, err := url.Parse(u)
	check(t, err)
	return u, strings.TrimPrefix(parsed.Path, "/")
}

// rename renames a database that nobody is connected to.
func rename(t *testing.T, from, to string) {
	t.Helper()
	admin, err := sql.Open("postgres", dbtest.Cluster(t).URL("postgres"))
	check(t, err)
	defer admin.Close()
	_, err = admin.Exec(`ALTER DATABASE ` + from + ` RENAME TO ` + to)
	check(t, err)
}

func open(t *testing.T, u string) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("postgres", u)
	check(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

package server_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"net/http/httptest"

	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/seed"
	"github.com/parleychat/parley/backend/internal/server"
	"github.com/parleychat/parley/backend/internal/store"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestCancelledRequestFreesItsConnection: a REST request stuck behind a row
// lock is abandoned by its client; its query is cancelled and its database
// connection returns to the pool at once, not when the lock goes.
func TestCancelledRequestFreesItsConnection(t *testing.T) {
	ctx := context.Background()
	dsn := dbtest.URL(t)
	s, err := server.New(ctx, server.Config{DatabaseURL: dsn, LinkSecret: "secret", MaxDBConns: 10, Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	demo, err := seed.EnsureDemo(ctx, s.Store, filepath.Join(t.TempDir(), "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	acct, err := s.Store.AccountBySite(ctx, demo.Site)
	if err != nil {
		t.Fatal(err)
	}
	_, v, err := s.Store.CreateVisitor(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	var inbox int64
	if err := s.DB.Get(&inbox, `SELECT id FROM inboxes WHERE account_id = $1 LIMIT 1`, acct.ID); err != nil {
		t.Fatal(err)
	}
	conv, _, err := s.Store.CreateConversation(ctx, store.NewConversation{AccountID: acct.ID, InboxID: inbox, VisitorID: v.ID})
	if err != nil {
		t.Fatal(err)
	}

	// Another session holds the conversation's row for the whole test.
	holder, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	tx, err := holder.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`SELECT id FROM conversations WHERE id = $1 FOR UPDATE`, conv.ID); err != nil {
		t.Fatal(err)
	}

	ts := httptest.NewServer(s.Handler)
	defer ts.Close()
	defer tx.Rollback() // before ts.Close, which waits for the handler
	reqCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(reqCtx, http.MethodPost, ts.URL+"/api/v1/conversations/"+strconv.FormatInt(conv.ID, 10)+"/close", nil)
	req.Header.Set("Authorization", "Bearer "+demo.APIKey)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()

	waiting := func() int {
		var n int
		if err := holder.Get(&n, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`); err != nil {
			t.Fatal(err)
		}
		return n
	}
	poll(t, "the request to wait on the lock", 10*time.Second, func() bool { return waiting() == 1 })
	if n := s.DB.Stats().InUse; n == 0 {
		t.Fatal("the waiting request holds no pooled connection")
	}

	cancel()
	<-done
	start := time.Now()
	poll(t, "the query to be cancelled and its connection freed", 2*time.Second, func() bool {
		return waiting() == 0 && s.DB.Stats().InUse == 0
	})
	t.Logf("connection back in the pool %v after the client went away (lock still held)", time.Since(start).Round(time.Millisecond))
}

func poll(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

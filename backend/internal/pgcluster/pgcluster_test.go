package pgcluster

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTempClusterStartsAndAnswers(t *testing.T) {
	ctx := context.Background()
	tc, err := StartTemp(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if err := tc.CreateDatabase(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if err := tc.CreateDatabase(ctx, "x"); err != nil {
		t.Fatalf("second create: %v", err)
	}
	db, err := sql.Open("postgres", tc.URL("x"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT 41 + 1`).Scan(&n); err != nil || n != 42 {
		t.Fatalf("query: %v %d", err, n)
	}
	if !tc.Running() {
		t.Fatal("not running")
	}
}

// A cluster wants its password: a local connection without it, or with a
// wrong one, is refused.
func TestClusterWantsItsPassword(t *testing.T) {
	ctx := context.Background()
	tc, err := StartTemp(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	refused(t, fmt.Sprintf("postgres://%s@127.0.0.1:%d/postgres?sslmode=disable", User, tc.Port))
	refused(t, fmt.Sprintf("postgres://%s:wrong@127.0.0.1:%d/postgres?sslmode=disable", User, tc.Port))
	if fi, err := os.Stat(tc.Dir + ".password"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v %v", fi, err)
	}
}

// A cluster made when clusters trusted every local connection (what `make
// run` kept in .data/pg) wants a password from its next start on.
func TestOldTrustingClusterGetsAPassword(t *testing.T) {
	ctx := context.Background()
	root, err := os.MkdirTemp("", "parley-pg-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(root)
	os.Chmod(root, 0o755) // the postgres user must reach it when the test runs as root
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(filepath.Join(root, "pg"), port)
	if err != nil {
		t.Fatal(err)
	}
	// As Init did before: trust.
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := c.chown(c.Dir); err != nil {
		t.Fatal(err)
	}
	if out, err := c.cmd("initdb", "-D", c.Dir, "-U", User, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v %s", err, out)
	}
	if err := c.Start(ctx, true); err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	refused(t, fmt.Sprintf("postgres://%s@127.0.0.1:%d/postgres?sslmode=disable", User, port))
	// The same folder opened again (the next `make run`) knows the password.
	again, err := New(c.Dir, port)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("postgres", again.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("with the kept password: %v", err)
	}
}

func refused(t *testing.T, dsn string) {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PingContext(context.Background()); err == nil || !strings.Contains(err.Error(), "password") {
		t.Fatalf("connection to %s: %v, want refused for the password", dsn, err)
	}
}

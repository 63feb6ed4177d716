// Package dbtest gives tests a real, migrated PostgreSQL database of their own.
//
// One throwaway cluster serves a whole test binary; every call to New clones
// a fresh database from a migrated template, so tests never see each other's rows.
package dbtest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/parleychat/parley/backend/internal/pgcluster"
	"github.com/parleychat/parley/migrations"
)

var (
	once    sync.Once
	cluster *pgcluster.Temp
	initErr error
	counter atomic.Int64
)

const template = "parley_template"

// Main wraps testing.M.Run and removes the shared cluster afterwards:
//
//	func TestMain(m *testing.M) { dbtest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if cluster != nil {
		cluster.Close()
	}
	os.Exit(code)
}

func start() {
	ctx := context.Background()
	cluster, initErr = pgcluster.StartTemp(ctx)
	if initErr != nil {
		return
	}
	if initErr = cluster.CreateDatabase(ctx, template); initErr != nil {
		return
	}
	db, err := sql.Open("postgres", cluster.URL(template))
	if err != nil {
		initErr = err
		return
	}
	defer db.Close()
	if _, initErr = migrations.Apply(ctx, db); initErr != nil {
		return
	}
	if col := os.Getenv(FutureColumnEnv); col != "" {
		initErr = AddColumnEverywhere(ctx, db, col)
	}
}

// FutureColumnEnv names an environment variable: when set, every test
// database has a column of that name added to each of its tables, as a
// later version's migration would add it while this code still runs.
const FutureColumnEnv = "PARLEY_DBTEST_FUTURE_COLUMN"

// AddColumnEverywhere adds an integer column named col (with a default, as a
// later migration's new column would have one or be nullable) to every
// table of db's public schema.
func AddColumnEverywhere(ctx context.Context, db *sql.DB, col string) error {
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(tables) == 0 {
		return fmt.Errorf("dbtest: no tables to add %s to", col)
	}
	for _, t := range tables {
		if _, err := db.ExecContext(ctx, fmt.Sprintf(`ALTER TABLE %q ADD COLUMN %q int DEFAULT 7`, t, col)); err != nil {
			return fmt.Errorf("dbtest: add %s to %s: %w", col, t, err)
		}
	}
	return nil
}

// Cluster returns the shared throwaway cluster, starting it if needed.
func Cluster(t testing.TB) *pgcluster.Temp {
	t.Helper()
	once.Do(start)
	if initErr != nil {
		t.Fatalf("dbtest: %v", initErr)
	}
	return cluster
}

// URL creates a fresh migrated database and returns its connection string.
func URL(t testing.TB) string {
	t.Helper()
	c := Cluster(t)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), counter.Add(1))
	admin, err := sql.Open("postgres", c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE DATABASE ` + name + ` TEMPLATE ` + template); err != nil {
		t.Fatalf("dbtest: create database: %v", err)
	}
	return c.URL(name)
}

// New returns a connection pool to a fresh migrated database, closed when the test ends.
func New(t testing.TB) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("postgres", URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

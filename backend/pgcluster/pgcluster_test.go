package pgcluster

import (
	"context"
	"database/sql"
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

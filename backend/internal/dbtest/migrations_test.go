package dbtest_test

import (
	"context"
	"testing"

	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/migrations"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestApplyIsIdempotent(t *testing.T) {
	db := dbtest.New(t) // already migrated from the template
	ran, err := migrations.Apply(context.Background(), db.DB)
	if err != nil {
		t.Fatal(err)
	}
	if len(ran) != 0 {
		t.Fatalf("second apply ran %v", ran)
	}
	all, _ := migrations.All()
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM schema_migrations`); err != nil || n != len(all) {
		t.Fatalf("recorded %d of %d migrations (%v)", n, len(all), err)
	}
	for _, table := range []string{"accounts", "users", "teams", "inboxes", "chatflows", "visitors", "contacts", "conversations", "messages", "tickets"} {
		var ok bool
		if err := db.Get(&ok, `SELECT to_regclass($1) IS NOT NULL`, table); err != nil || !ok {
			t.Errorf("table %s missing (%v)", table, err)
		}
	}
}

package store_test

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/migrations"
)

type countKey struct {
	inbox    int64
	status   string
	assignee int64
}

// directCounts counts the account's conversations straight from the table.
func directCounts(t *testing.T, db *sqlx.DB, account int64) map[countKey]int {
	t.Helper()
	var rows []store.ConversationCount
	check(t, db.Select(&rows, `SELECT inbox_id, status, COALESCE(assignee_id, 0) AS assignee_id, count(*) AS n
		FROM conversations WHERE account_id = $1 GROUP BY 1, 2, 3`, account))
	return countMap(rows)
}

func countMap(rows []store.ConversationCount) map[countKey]int {
	m := map[countKey]int{}
	for _, r := range rows {
		m[countKey{r.InboxID, r.Status, r.AssigneeID}] += r.N
	}
	return m
}

// matchCounts compares the kept counts (ConversationCounts, and ViewCounts
// of each agent) with a direct count of the conversations.
func matchCounts(t *testing.T, db *sqlx.DB, st *store.Store, account int64, agents []int64, when string) {
	t.Helper()
	ctx := context.Background()
	want := directCounts(t, db, account)
	got, err := st.ConversationCounts(ctx, account)
	check(t, err)
	if g := countMap(got); !maps.Equal(g, want) || len(got) != len(g) {
		t.Fatalf("%s: kept counts %v, direct %v", when, got, want)
	}
	for _, a := range agents {
		var direct struct {
			Unassigned, Mine, Open, Closed int
		}
		check(t, db.QueryRow(`SELECT count(*) FILTER (WHERE c.status = 'open' AND c.assignee_id IS NULL),
			count(*) FILTER (WHERE c.status = 'open' AND c.assignee_id = $1),
			count(*) FILTER (WHERE c.status = 'open'), count(*) FILTER (WHERE c.status = 'closed')
			FROM conversations c JOIN inbox_members m ON m.inbox_id = c.inbox_id AND m.user_id = $1`, a).
			Scan(&direct.Unassigned, &direct.Mine, &direct.Open, &direct.Closed))
		vc, err := st.ViewCounts(ctx, a)
		check(t, err)
		if vc.Unassigned != direct.Unassigned || vc.Mine != direct.Mine || vc.Open != direct.Open || vc.Closed != direct.Closed {
			t.Fatalf("%s: agent %d view counts %+v, direct %+v", when, a, vc, direct)
		}
		var byInbox []struct {
			Inbox int64 `db:"inbox_id"`
			N     int   `db:"n"`
		}
		check(t, db.Select(&byInbox, `SELECT m.inbox_id, count(c.id) FILTER (WHERE c.status = 'open') AS n
			FROM inbox_members m LEFT JOIN conversations c ON c.inbox_id = m.inbox_id WHERE m.user_id = $1 GROUP BY 1`, a))
		if len(byInbox) != len(vc.ByInbox) {
			t.Fatalf("%s: agent %d inboxes %v, direct %v", when, a, vc.ByInbox, byInbox)
		}
		for _, b := range byInbox {
			if n, ok := vc.ByInbox[b.Inbox]; !ok || n != b.N {
				t.Fatalf("%s: agent %d inbox %d: %d open, direct %d", when, a, b.Inbox, n, b.N)
			}
		}
	}
}

func pendingCounts(t *testing.T, db *sqlx.DB, account int64) int {
	t.Helper()
	var n int
	check(t, db.Get(&n, `SELECT count(*) FROM conversation_count_deltas WHERE account_id = $1`, account))
	return n
}

// The counts beside the views stay equal to a direct count through every
// change a conversation goes through, read while changes are pending
// (another backend folding) and once they are folded in.
func TestConversationCountsMatchDirectCount(t *testing.T) {
	db := dbtest.New(t)
	st := store.New(db)
	ctx := context.Background()
	f := newFixture(t, st, "counts")
	sales := &store.Inbox{AccountID: f.account.ID, Name: "Sales", HasChatChannel: true}
	check(t, st.CreateInbox(ctx, sales))
	var agents []int64
	for _, name := range []string{"Ana", "Ben"} {
		u := &store.User{AccountID: f.account.ID, Email: name + "@example.com", Name: name, Role: "agent", HasSeat: true, Status: "available", MaxOpenChats: 10}
		check(t, st.CreateUser(ctx, u))
		agents = append(agents, u.ID)
	}
	check(t, st.SetInboxMembers(ctx, f.account.ID, f.inbox.ID, agents))
	check(t, st.SetInboxMembers(ctx, f.account.ID, sales.ID, agents[1:]))
	// Another account's conversations count nowhere.
	g := newFixture(t, st, "counts-other")
	matchCounts(t, db, st, f.account.ID, agents, "empty")

	var convs []int64
	newConv := func(fx *fixture, inbox int64) int64 {
		_, v, err := st.CreateVisitor(ctx, fx.account.ID)
		check(t, err)
		c, _, err := st.CreateConversation(ctx, store.NewConversation{AccountID: fx.account.ID, ChatflowID: fx.chatflow, InboxID: inbox, VisitorID: v.ID})
		check(t, err)
		return c.ID
	}
	for i := range 12 {
		convs = append(convs, newConv(f, []int64{f.inbox.ID, sales.ID}[i%2]))
		newConv(g, g.inbox.ID)
	}
	// Many in one statement, as a creation batch writes them.
	db.MustExec(`INSERT INTO visitors (account_id, token_hash) SELECT $1, decode(md5('cv' || g), 'hex') FROM generate_series(1, 30) g`, f.account.ID)
	db.MustExec(`INSERT INTO conversations (account_id, public_id, inbox_id, visitor_id, status, assignee_id)
		SELECT $1, 'cb_' || v.id, CASE WHEN v.id % 3 = 0 THEN $3::bigint ELSE $2::bigint END, v.id, CASE WHEN v.id % 5 = 0 THEN 'closed' ELSE 'open' END,
			CASE WHEN v.id % 4 = 0 THEN $4::bigint END
		FROM visitors v WHERE v.account_id = $1 AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.visitor_id = v.id)`,
		f.account.ID, f.inbox.ID, sales.ID, agents[1])
	matchCounts(t, db, st, f.account.ID, agents, "created")
	if n := pendingCounts(t, db, f.account.ID); n != 0 {
		t.Fatalf("%d changes pending after a read", n)
	}

	steps := []struct {
		name string
		do   func()
	}{
		{"assigned", func() {
			check(t, st.AssignToUser(ctx, f.account.ID, convs[0], agents[0], "to Ana"))
			check(t, st.AssignToUser(ctx, f.account.ID, convs[1], agents[1], "to Ben"))
			check(t, st.AssignToUser(ctx, f.account.ID, convs[2], agents[0], "to Ana"))
		}},
		{"reassigned", func() {
			check(t, st.AssignToUser(ctx, f.account.ID, convs[0], agents[1], "to Ben"))
			db.MustExec(`UPDATE conversations SET assignee_id = NULL WHERE id = $1`, convs[2])
		}},
		{"closed", func() {
			for _, c := range convs[:5] {
				_, err := st.CloseConversation(ctx, f.account.ID, c, "done")
				check(t, err)
			}
		}},
		{"reopened", func() {
			_, err := st.ReopenConversation(ctx, f.account.ID, convs[1], "again")
			check(t, err)
		}},
		{"moved", func() {
			db.MustExec(`UPDATE conversations SET inbox_id = $2 WHERE id = $1`, convs[6], sales.ID)
			db.MustExec(`UPDATE conversations SET inbox_id = $2, assignee_id = $3 WHERE account_id = $1 AND public_id LIKE 'cb_%' AND inbox_id = $4`,
				f.account.ID, f.inbox.ID, agents[0], sales.ID)
		}},
		{"unchanged", func() {
			db.MustExec(`UPDATE conversations SET status = status, last_message_at = now() WHERE account_id = $1`, f.account.ID)
		}},
		{"deleted", func() {
			db.MustExec(`DELETE FROM conversations WHERE id = ANY($1)`, fmt.Sprintf("{%d,%d}", convs[7], convs[8]))
		}},
		{"agent deleted", func() {
			db.MustExec(`DELETE FROM users WHERE id = $1`, agents[0])
			agents = agents[1:]
		}},
		{"erased", func() {
			_, v, err := st.CreateVisitor(ctx, f.account.ID)
			check(t, err)
			c, _, err := st.CreateConversation(ctx, store.NewConversation{AccountID: f.account.ID, ChatflowID: f.chatflow, InboxID: sales.ID, VisitorID: v.ID})
			check(t, err)
			ann := identifyVisitor(t, st, f.account.ID, v.ID, "ann@example.com")
			check(t, st.AssignToUser(ctx, f.account.ID, c.ID, agents[0], "to Ben"))
			matchCounts(t, db, st, f.account.ID, agents, "before erasure")
			e, err := st.EraseContact(ctx, f.account.ID, ann.ID)
			check(t, err)
			if e.Conversations != 1 {
				t.Fatalf("erased %+v", e)
			}
		}},
	}
	conn, err := db.Connx(ctx)
	check(t, err)
	defer conn.Close()
	for _, s := range steps {
		s.do()
		// Another backend is folding: the changes stay pending and count.
		_, err = conn.ExecContext(ctx, `SELECT pg_advisory_lock(7443, $1::int)`, f.account.ID)
		check(t, err)
		if pendingCounts(t, db, f.account.ID) == 0 && s.name != "unchanged" {
			t.Fatalf("%s: nothing pending", s.name)
		}
		matchCounts(t, db, st, f.account.ID, agents, s.name+", pending")
		_, err = conn.ExecContext(ctx, `SELECT pg_advisory_unlock(7443, $1::int)`, f.account.ID)
		check(t, err)
		matchCounts(t, db, st, f.account.ID, agents, s.name)
		if n := pendingCounts(t, db, f.account.ID); n != 0 {
			t.Fatalf("%s: %d changes pending after a read", s.name, n)
		}
	}

	// Housekeeping folds without a read; a deleted account's counts and
	// changes go.
	newConv(g, g.inbox.ID)
	sw, err := st.BeginSweep(ctx)
	check(t, err)
	folded, err := sw.FoldConversationCounts(ctx)
	check(t, err)
	if folded == 0 || pendingCounts(t, db, g.account.ID) != 0 {
		t.Fatalf("housekeeping folded %d, left %d", folded, pendingCounts(t, db, g.account.ID))
	}
	matchCounts(t, db, st, g.account.ID, nil, "other account")
	db.MustExec(`DELETE FROM accounts WHERE id = $1`, g.account.ID)
	_, err = sw.FoldConversationCounts(ctx)
	sw.Close()
	check(t, err)
	var left int
	check(t, db.Get(&left, `SELECT (SELECT count(*) FROM conversation_counts WHERE account_id = $1) + (SELECT count(*) FROM conversation_count_deltas)`, g.account.ID))
	if left != 0 {
		t.Fatalf("%d counts and changes left of a deleted account", left)
	}
	matchCounts(t, db, st, f.account.ID, agents, "after another account's deletion")
}

// Conversations created, assigned and closed from several connections at
// once, while pages read the counts, leave them exact.
func TestConversationCountsUnderConcurrentChanges(t *testing.T) {
	db := dbtest.New(t)
	st := store.New(db)
	ctx := context.Background()
	f := newFixture(t, st, "counts-busy")
	u := &store.User{AccountID: f.account.ID, Email: "ana@example.com", Name: "Ana", Role: "agent", HasSeat: true, Status: "available", MaxOpenChats: 1000}
	check(t, st.CreateUser(ctx, u))
	check(t, st.SetInboxMembers(ctx, f.account.ID, f.inbox.ID, []int64{u.ID}))
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 8)
	for w := range 4 {
		wg.Go(func() {
			for i := range 15 {
				_, v, err := st.CreateVisitor(ctx, f.account.ID)
				if err == nil {
					var c *store.Conversation
					c, _, err = st.CreateConversation(ctx, store.NewConversation{AccountID: f.account.ID, ChatflowID: f.chatflow, InboxID: f.inbox.ID, VisitorID: v.ID})
					if err == nil && (w+i)%2 == 0 {
						err = st.AssignToUser(ctx, f.account.ID, c.ID, u.ID, "to Ana")
					}
					if err == nil && (w+i)%3 == 0 {
						_, err = st.CloseConversation(ctx, f.account.ID, c.ID, "done")
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := st.ConversationCounts(ctx, f.account.ID); err != nil {
					errs <- err
					return
				}
				if _, err := st.ViewCounts(ctx, u.ID); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	matchCounts(t, db, st, f.account.ID, []int64{u.ID}, "after the burst")
}

// Migration 0043 fills the counts of the conversations already there: its
// objects are taken away, conversations are written as before it, and the
// migration's own text runs again.
func TestCountsMigrationFillsCounts(t *testing.T) {
	db := dbtest.New(t)
	st := store.New(db)
	ctx := context.Background()
	f := newFixture(t, st, "counts-migration")
	u := &store.User{AccountID: f.account.ID, Email: "ana@example.com", Name: "Ana"}
	check(t, st.CreateUser(ctx, u))
	check(t, st.SetInboxMembers(ctx, f.account.ID, f.inbox.ID, []int64{u.ID}))
	db.MustExec(`DROP TABLE conversation_counts, conversation_count_deltas;
		DROP FUNCTION conversation_counts_added, conversation_counts_removed, conversation_counts_changed CASCADE`)
	db.MustExec(`INSERT INTO visitors (account_id, token_hash) SELECT $1, decode(md5('mv' || g), 'hex') FROM generate_series(1, 40) g`, f.account.ID)
	db.MustExec(`INSERT INTO conversations (account_id, public_id, inbox_id, visitor_id, status, assignee_id)
		SELECT $1, 'mc_' || v.id, $2, v.id, CASE WHEN v.id % 5 = 0 THEN 'closed' ELSE 'open' END, CASE WHEN v.id % 3 = 0 THEN $3::bigint END
		FROM visitors v WHERE v.account_id = $1`, f.account.ID, f.inbox.ID, u.ID)
	all, err := migrations.All()
	check(t, err)
	var ran bool
	for _, m := range all {
		if m.Version == 43 {
			db.MustExec(m.SQL)
			ran = true
		}
	}
	if !ran {
		t.Fatal("no migration 43")
	}
	matchCounts(t, db, st, f.account.ID, []int64{u.ID}, "migrated")
	db.MustExec(`UPDATE conversations SET status = 'closed' WHERE account_id = $1 AND assignee_id IS NOT NULL`, f.account.ID)
	matchCounts(t, db, st, f.account.ID, []int64{u.ID}, "changed after migrating")
}

package store

import (
	"context"
	"fmt"
)

// ConversationCount is how many conversations of an account share an
// inbox, a status and an assignee (0: nobody).
type ConversationCount struct {
	InboxID    int64  `db:"inbox_id"`
	Status     string `db:"status"`
	AssigneeID int64  `db:"assignee_id"`
	N          int    `db:"n"`
}

// countsLockClass is the first key of the per-account advisory lock held
// by whoever folds conversation_count_deltas into conversation_counts
// (migration 0043).
const countsLockClass = 7443

// foldCounts is the start of a statement that folds the pending count
// changes of the account acct (an SQL expression) into its counts, unless
// another transaction is folding them: the CTE d holds the changes folded.
// The rest of the statement reads the snapshot from before the fold, so
// counts plus pending changes read there are exact either way; a change
// folded by a transaction that committed meanwhile is skipped by the
// DELETE, and ON CONFLICT adds to the newest count.
func foldCounts(acct string) string {
	return fmt.Sprintf(`WITH acct AS MATERIALIZED (SELECT %s AS id),
	lock AS MATERIALIZED (SELECT pg_try_advisory_xact_lock(%d, (id %% 2147483647)::int) AS got FROM acct),
	d AS (DELETE FROM conversation_count_deltas WHERE account_id = (SELECT id FROM acct) AND (SELECT got FROM lock)
		RETURNING inbox_id, status, assignee_id, n),
	folded AS (INSERT INTO conversation_counts (account_id, inbox_id, status, assignee_id, n)
		SELECT (SELECT id FROM acct), d.inbox_id, d.status, d.assignee_id, sum(d.n) FROM d
		WHERE EXISTS (SELECT 1 FROM accounts WHERE id = (SELECT id FROM acct))
		GROUP BY 2, 3, 4 ORDER BY 2, 3, 4
		ON CONFLICT (account_id, inbox_id, status, assignee_id) DO UPDATE SET n = conversation_counts.n + EXCLUDED.n)`,
		acct, countsLockClass)
}

// countsOf selects the account's counts and pending changes (acct an SQL
// expression) as rows of inbox_id, status, assignee_id and n.
func countsOf(acct string) string {
	return `SELECT inbox_id, status, assignee_id, n FROM conversation_counts WHERE account_id = ` + acct + `
		UNION ALL
		SELECT inbox_id, status, assignee_id, n FROM conversation_count_deltas WHERE account_id = ` + acct
}

// ConversationCounts counts an account's conversations by inbox, status
// and assignee: every agent's view counts follow from it, so the agents'
// pages of a backend share one read. It reads the counts the database
// keeps (migration 0043), a few rows whatever the account's size, folding
// the changes pending since the last read into them.
// Prepared, so that PostgreSQL soon plans it once per connection: planning
// costs more than reading the few rows.
func (s *Store) ConversationCounts(ctx context.Context, accountID int64) ([]ConversationCount, error) {
	out := []ConversationCount{}
	st, err := s.prepared(ctx, accountCountsQuery)
	if err != nil {
		return nil, err
	}
	err = st.SelectContext(ctx, &out, accountID)
	return out, err
}

var accountCountsQuery = foldCounts("$1::bigint") + `
	SELECT t.inbox_id, t.status, t.assignee_id, sum(t.n) AS n FROM (` + countsOf("$1") + `) t
	GROUP BY 1, 2, 3 HAVING sum(t.n) <> 0`

// FoldConversationCounts folds every account's pending count changes into
// its counts, as ConversationCounts does, so that they do not pile up
// while no agent's page reads them, and says how many it folded.
func (w *Sweep) FoldConversationCounts(ctx context.Context) (int64, error) {
	var accounts []int64
	if err := w.conn.SelectContext(ctx, &accounts, `SELECT DISTINCT account_id FROM conversation_count_deltas`); err != nil {
		return 0, err
	}
	var folded int64
	for _, a := range accounts {
		var n int64
		if err := w.conn.GetContext(ctx, &n, foldCounts("$1::bigint")+` SELECT count(*) FROM d`, a); err != nil {
			return folded, err
		}
		folded += n
	}
	return folded, nil
}

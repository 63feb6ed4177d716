package store

import "context"

// ConversationCount is how many conversations of an account share an
// inbox, a status and an assignee (0: nobody).
type ConversationCount struct {
	InboxID    int64  `db:"inbox_id"`
	Status     string `db:"status"`
	AssigneeID int64  `db:"assignee_id"`
	N          int    `db:"n"`
}

// ConversationCounts counts an account's conversations by inbox, status
// and assignee in one pass: every agent's view counts follow from it, so
// the agents' pages of a backend share one read.
func (s *Store) ConversationCounts(ctx context.Context, accountID int64) ([]ConversationCount, error) {
	out := []ConversationCount{}
	err := s.db.SelectContext(ctx, &out, `SELECT inbox_id, status, COALESCE(assignee_id, 0) AS assignee_id, count(*) AS n
		FROM conversations WHERE account_id = $1 GROUP BY 1, 2, 3`, accountID)
	return out, err
}

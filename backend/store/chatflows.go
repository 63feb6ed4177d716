package store

import (
	"context"
	"time"
)

// ChatflowRow is a chatflow as stored: the top-level fields as columns, the
// nested settings as one JSON document (decoded by backend/chatflow).
type ChatflowRow struct {
	ID        int64     `db:"id"`
	AccountID int64     `db:"account_id"`
	PublicID  string    `db:"public_id"`
	Name      string    `db:"name"`
	Channel   string    `db:"channel"`
	InboxID   int64     `db:"inbox_id"`
	Language  string    `db:"language"`
	Type      string    `db:"type"`
	Enabled   bool      `db:"enabled"`
	Priority  int       `db:"priority"`
	MobileTag string    `db:"mobile_tag"`
	Settings  []byte    `db:"settings"`
	Version   int64     `db:"version"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
}

// ChatflowByPublicID returns the chatflow whose public id is publicID, in any account.
func (s *Store) ChatflowByPublicID(ctx context.Context, publicID string) (*ChatflowRow, error) {
	var c ChatflowRow
	err := s.db.GetContext(ctx, &c, `SELECT * FROM chatflows WHERE public_id = $1`, publicID)
	return &c, notFound(err)
}

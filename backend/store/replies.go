package store

import (
	"context"
	"time"
)

// SavedReply is canned text agents insert by its shortcut ("/refund").
type SavedReply struct {
	ID        int64     `db:"id" json:"id"`
	AccountID int64     `db:"account_id" json:"-"`
	Shortcut  string    `db:"shortcut" json:"shortcut"`
	Body      string    `db:"body" json:"body"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
}

// SavedReplies lists the account's saved replies by shortcut.
func (s *Store) SavedReplies(ctx context.Context, accountID int64) ([]SavedReply, error) {
	out := []SavedReply{}
	err := s.db.SelectContext(ctx, &out, `SELECT * FROM saved_replies WHERE account_id = $1 ORDER BY shortcut`, accountID)
	return out, err
}

// CreateSavedReply inserts r; a taken shortcut is ErrConflict. The caller
// checks the shortcut's form (the table refuses anything else).
func (s *Store) CreateSavedReply(ctx context.Context, r *SavedReply) error {
	err := s.db.GetContext(ctx, r, `INSERT INTO saved_replies (account_id, shortcut, body) VALUES ($1, $2, $3) RETURNING *`,
		r.AccountID, r.Shortcut, r.Body)
	if isUnique(err) {
		return ErrConflict
	}
	return err
}

// DeleteSavedReply removes saved reply id of account.
func (s *Store) DeleteSavedReply(ctx context.Context, accountID, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM saved_replies WHERE id = $1 AND account_id = $2`, id, accountID)
	return rowsOrNotFound(res, err)
}

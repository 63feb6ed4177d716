package store

import (
	"context"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
)

// ErrForbidden means the user sees the row but may not change it.
var ErrForbidden = errors.New("store: not allowed")

// SavedReply is canned text agents insert by its shortcut ("/refund"). It is
// personal (only its author sees and uses it) or shared with every agent of
// the account.
type SavedReply struct {
	ID        int64  `db:"id" json:"id"`
	AccountID int64  `db:"account_id" json:"-"`
	Shortcut  string `db:"shortcut" json:"shortcut"`
	Body      string `db:"body" json:"body"`
	Shared    bool   `db:"shared" json:"shared"`
	// AuthorID is who wrote it: nil for replies older than authorship and
	// for shared ones whose author was deleted. A personal reply needs one.
	AuthorID   *int64    `db:"author_id" json:"author_id"`
	AuthorName string    `db:"author_name" json:"author_name"` // "" without an author
	CreatedAt  time.Time `db:"created_at" json:"created_at"`
}

// EditableBy reports whether u may edit or delete r: its author, or an
// admin of its account when r is shared. (Someone else's personal reply
// is not even visible to u.)
func (r *SavedReply) EditableBy(u *User) bool {
	if u.AccountID != r.AccountID {
		return false
	}
	if r.AuthorID != nil && *r.AuthorID == u.ID {
		return true
	}
	return r.Shared && u.Role == RoleAdmin
}

// owner_id NULL is what makes a reply shared (see migrations/0009).
const replyCols = `r.id, r.account_id, r.shortcut, r.body, r.owner_id IS NULL AS shared, r.author_id,
	coalesce(u.name, '') AS author_name, r.created_at
	FROM saved_replies r LEFT JOIN users u ON u.id = r.author_id`

// SavedReplies lists the saved replies user userID of account may use: the
// account's shared ones and the user's personal ones, by shortcut (a
// personal one before a shared one with the same shortcut).
func (s *Store) SavedReplies(ctx context.Context, accountID, userID int64) ([]SavedReply, error) {
	out := []SavedReply{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+replyCols+`
		WHERE r.account_id = $1 AND (r.owner_id IS NULL OR r.owner_id = $2)
		ORDER BY r.shortcut, r.owner_id IS NULL, r.id`, accountID, userID)
	return out, err
}

// SavedReply returns saved reply id if u may see it; ErrNotFound otherwise
// (unknown, another account's, or someone else's personal reply).
func (s *Store) SavedReply(ctx context.Context, u *User, id int64) (*SavedReply, error) {
	return savedReply(ctx, s.db, u, id, "")
}

func savedReply(ctx context.Context, q sqlx.QueryerContext, u *User, id int64, lock string) (*SavedReply, error) {
	var r SavedReply
	err := sqlx.GetContext(ctx, q, &r, `SELECT `+replyCols+`
		WHERE r.id = $1 AND r.account_id = $2 AND (r.owner_id IS NULL OR r.owner_id = $3)`+lock, id, u.AccountID, u.ID)
	return &r, notFound(err)
}

// CreateSavedReply inserts r, personal to r.AuthorID unless r.Shared; a
// shortcut taken among the account's shared replies, or among the
// author's personal ones, is ErrConflict. The caller checks the shortcut's
// form (the table refuses anything else).
func (s *Store) CreateSavedReply(ctx context.Context, r *SavedReply) error {
	if !r.Shared && r.AuthorID == nil {
		return errors.New("store: a personal saved reply needs its author")
	}
	var id int64
	err := s.db.GetContext(ctx, &id, `INSERT INTO saved_replies (account_id, shortcut, body, author_id, owner_id)
		VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN NULL ELSE $4::bigint END) RETURNING id`,
		r.AccountID, r.Shortcut, r.Body, r.AuthorID, r.Shared)
	if isUnique(err) {
		return ErrConflict
	}
	if err != nil {
		return err
	}
	return s.db.GetContext(ctx, r, `SELECT `+replyCols+` WHERE r.id = $1`, id)
}

// UpdateSavedReply sets the shortcut, text and sharing of saved reply id as
// u: ErrNotFound if u cannot see it, ErrForbidden if u may not change it
// (see EditableBy) or wants someone else's shared reply personal, which
// only its author may make it; ErrConflict for a taken shortcut.
func (s *Store) UpdateSavedReply(ctx context.Context, u *User, id int64, shortcut, body string, shared bool) (*SavedReply, error) {
	var out *SavedReply
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		cur, err := savedReply(ctx, tx, u, id, " FOR UPDATE OF r")
		if err != nil {
			return err
		}
		if !cur.EditableBy(u) || (!shared && (cur.AuthorID == nil || *cur.AuthorID != u.ID)) {
			return ErrForbidden
		}
		_, err = tx.ExecContext(ctx, `UPDATE saved_replies SET shortcut = $2, body = $3,
			owner_id = CASE WHEN $4 THEN NULL ELSE author_id END WHERE id = $1`, id, shortcut, body, shared)
		if isUnique(err) {
			return ErrConflict
		}
		if err != nil {
			return err
		}
		out, err = savedReply(ctx, tx, u, id, "")
		return err
	})
	return out, err
}

// DeleteSavedReply removes saved reply id as u: ErrNotFound if u cannot
// see it, ErrForbidden if u may not change it (see EditableBy).
func (s *Store) DeleteSavedReply(ctx context.Context, u *User, id int64) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		cur, err := savedReply(ctx, tx, u, id, " FOR UPDATE OF r")
		if err != nil {
			return err
		}
		if !cur.EditableBy(u) {
			return ErrForbidden
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM saved_replies WHERE id = $1`, id)
		return err
	})
}

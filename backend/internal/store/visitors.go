package store

import (
	"context"
	"time"
)

// Visitor is a browser (or app install) that chats. It is known only by a
// random token it keeps; the database holds the token's hash.
type Visitor struct {
	ID        int64  `db:"id" json:"id"`
	AccountID int64  `db:"account_id" json:"-"`
	TokenHash []byte `db:"token_hash" json:"-"`
	ContactID *int64 `db:"contact_id" json:"contact_id"`
	Name      string `db:"name" json:"name"`
	// ClaimedEmail is the address the visitor last typed into a chat: an
	// unverified claim (ClaimEmail), "" when none.
	ClaimedEmail string    `db:"claimed_email" json:"claimed_email"`
	CreatedAt    time.Time `db:"created_at" json:"created_at"`
	LastSeenAt   time.Time `db:"last_seen_at" json:"last_seen_at"`
}

// visitorSeenEvery is how stale last_seen_at may get before a lookup refreshes
// it: a reconnecting widget should not cost a write every time.
const visitorSeenEvery = time.Minute

// CreateVisitor makes a new visitor of account and returns its token, which
// is shown only this once.
func (s *Store) CreateVisitor(ctx context.Context, accountID int64) (string, *Visitor, error) {
	token := NewToken()
	var v Visitor
	err := s.db.GetContext(ctx, &v, `INSERT INTO visitors (account_id, token_hash) VALUES ($1, $2) RETURNING `+visitorColumns,
		accountID, HashToken(token))
	if err != nil {
		return "", nil, err
	}
	return token, &v, nil
}

// VisitorByToken returns the visitor of account holding token. A token of
// another account, or an empty one, is ErrNotFound.
func (s *Store) VisitorByToken(ctx context.Context, accountID int64, token string) (*Visitor, error) {
	if token == "" {
		return nil, ErrNotFound
	}
	var v Visitor
	err := s.db.GetContext(ctx, &v, `SELECT `+visitorColumns+` FROM visitors WHERE token_hash = $1 AND account_id = $2`,
		HashToken(token), accountID)
	if err != nil {
		return nil, notFound(err)
	}
	if time.Since(v.LastSeenAt) > visitorSeenEvery {
		if err := s.db.GetContext(ctx, &v.LastSeenAt, `UPDATE visitors SET last_seen_at = now() WHERE id = $1 RETURNING last_seen_at`, v.ID); err != nil {
			return nil, err
		}
	}
	return &v, nil
}

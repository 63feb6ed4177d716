package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
)

// APIKey is an admin REST credential. Only a hash of its secret is kept, so
// the secret is shown once, when the key is made; the struct never holds it.
type APIKey struct {
	ID         int64      `db:"id" json:"id"`
	AccountID  int64      `db:"account_id" json:"-"`
	Name       string     `db:"name" json:"name"`
	Role       string     `db:"role" json:"role"`
	Prefix     string     `db:"prefix" json:"prefix"` // first characters of the secret, to tell keys apart
	CreatedAt  time.Time  `db:"created_at" json:"created_at"`
	LastUsedAt *time.Time `db:"last_used_at" json:"last_used_at"` // updated at most once a minute
}

// apiKeyColumns leaves out key_hash: readers of keys never need it.
const apiKeyColumns = `id, account_id, name, role, prefix, created_at, last_used_at`

// APIKeyWithRole authenticates an API key secret like AccountByAPIKey and
// also returns the key's role (RoleAdmin, RoleEditor or RoleAgent): keys
// act with a role as users do, and only admin and editor keys may change
// chatflows.
func (s *Store) APIKeyWithRole(ctx context.Context, secret string) (*Account, string, error) {
	var a Account
	var keyID int64
	var role string
	var lastUsed *time.Time
	row := s.db.QueryRowxContext(ctx, `SELECT k.id, k.role, k.last_used_at, a.id, a.public_id, a.name, a.company_name,
		a.company_domain, a.timezone, a.created_at, a.mail_sender_name, a.mail_reply_domain FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.key_hash = $1`, HashToken(secret))
	if err := row.Scan(&keyID, &role, &lastUsed, &a.ID, &a.PublicID, &a.Name, &a.CompanyName, &a.CompanyDomain, &a.Timezone, &a.CreatedAt, &a.MailSenderName, &a.MailReplyDomain); err != nil {
		return nil, "", notFound(err)
	}
	if lastUsed == nil || time.Since(*lastUsed) > time.Minute {
		s.db.ExecContext(ctx, `UPDATE api_keys SET last_used_at = now() WHERE id = $1`, keyID)
	}
	return &a, role, nil
}

// CreateAPIKeyWithRole makes a key with role for the account and returns its secret.
func (s *Store) CreateAPIKeyWithRole(ctx context.Context, accountID int64, name, role string) (string, error) {
	_, secret, err := s.NewAPIKey(ctx, accountID, name, role)
	return secret, err
}

// NewAPIKey makes a key with role for the account and returns it and its
// secret, which is generated here and cannot be read back later.
func (s *Store) NewAPIKey(ctx context.Context, accountID int64, name, role string) (*APIKey, string, error) {
	secret := "pk_" + NewToken()
	k := &APIKey{AccountID: accountID, Name: name, Role: role, Prefix: secret[:10]}
	err := s.db.QueryRowxContext(ctx, `INSERT INTO api_keys (account_id, name, prefix, key_hash, role) VALUES ($1, $2, $3, $4, $5)
		RETURNING id, created_at`, accountID, name, k.Prefix, HashToken(secret), role).Scan(&k.ID, &k.CreatedAt)
	if err != nil {
		return nil, "", err
	}
	return k, secret, nil
}

// APIKeys lists the account's keys newest first: at most limit of them,
// with ids below before (0 starts at the newest).
func (s *Store) APIKeys(ctx context.Context, accountID, before int64, limit int) ([]APIKey, error) {
	out := []APIKey{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+apiKeyColumns+` FROM api_keys
		WHERE account_id = $1 AND ($2::bigint = 0 OR id < $2) ORDER BY id DESC LIMIT $3`, accountID, before, limit)
	return out, err
}

// APIKey returns the account's key with id.
func (s *Store) APIKey(ctx context.Context, accountID, id int64) (*APIKey, error) {
	var k APIKey
	err := s.db.GetContext(ctx, &k, `SELECT `+apiKeyColumns+` FROM api_keys WHERE account_id = $1 AND id = $2`, accountID, id)
	if err != nil {
		return nil, notFound(err)
	}
	return &k, nil
}

// ErrLastAdminKey refuses to revoke an account's only admin key: nothing
// could then make another, and the account would be locked out of REST.
var ErrLastAdminKey = errors.New("store: the account's last admin key")

// DeleteAPIKey revokes the account's key with id. The row goes, so the
// next request with its secret fails authentication: keys are looked up on
// every request, never cached. The account row is locked first, so two
// revocations at once cannot remove the last two admin keys.
func (s *Store) DeleteAPIKey(ctx context.Context, accountID, id int64) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var admins int
		var role sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT
				(SELECT count(*) FROM api_keys WHERE account_id = a.id AND role = $3),
				(SELECT role FROM api_keys WHERE account_id = a.id AND id = $2)
			FROM accounts a WHERE a.id = $1 FOR UPDATE`, accountID, id, RoleAdmin).Scan(&admins, &role)
		if err != nil {
			return notFound(err)
		}
		switch {
		case !role.Valid:
			return ErrNotFound
		case role.String == RoleAdmin && admins <= 1:
			return ErrLastAdminKey
		}
		return rowsOrNotFound(tx.ExecContext(ctx, `DELETE FROM api_keys WHERE account_id = $1 AND id = $2`, accountID, id))
	})
}

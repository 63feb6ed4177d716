package store

import (
	"context"
	"time"
)

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
		a.company_domain, a.timezone, a.created_at FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.key_hash = $1`, HashToken(secret))
	if err := row.Scan(&keyID, &role, &lastUsed, &a.ID, &a.PublicID, &a.Name, &a.CompanyName, &a.CompanyDomain, &a.Timezone, &a.CreatedAt); err != nil {
		return nil, "", notFound(err)
	}
	if lastUsed == nil || time.Since(*lastUsed) > time.Minute {
		s.db.ExecContext(ctx, `UPDATE api_keys SET last_used_at = now() WHERE id = $1`, keyID)
	}
	return &a, role, nil
}

// CreateAPIKeyWithRole makes a key with role for the account and returns its secret.
func (s *Store) CreateAPIKeyWithRole(ctx context.Context, accountID int64, name, role string) (string, error) {
	secret := "pk_" + NewToken()
	_, err := s.db.ExecContext(ctx, `INSERT INTO api_keys (account_id, name, prefix, key_hash, role) VALUES ($1, $2, $3, $4, $5)`,
		accountID, name, secret[:10], HashToken(secret), role)
	return secret, err
}

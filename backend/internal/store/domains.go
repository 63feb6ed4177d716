package store

import (
	"context"

	"github.com/lib/pq"
)

// AllowedDomains returns the host names where the account's chat may run,
// in the order the admin gave them; none means everywhere.
func (s *Store) AllowedDomains(ctx context.Context, accountID int64) ([]string, error) {
	out := []string{}
	err := s.db.SelectContext(ctx, &out,
		`SELECT domain FROM account_domains WHERE account_id = $1 ORDER BY position`, accountID)
	return out, err
}

// SetAllowedDomains replaces the account's list with domains (validated
// and normalized by the caller, duplicates removed) in one transaction.
func (s *Store) SetAllowedDomains(ctx context.Context, accountID int64, domains []string) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM account_domains WHERE account_id = $1`, accountID); err != nil {
		return err
	}
	if len(domains) > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO account_domains (account_id, position, domain)
			SELECT $1, d.ord, d.domain FROM unnest($2::text[]) WITH ORDINALITY AS d(domain, ord)`,
			accountID, pq.Array(domains)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

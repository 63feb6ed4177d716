package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// ErrExpired means a secret was right but is no longer valid.
var ErrExpired = errors.New("store: expired")

// Identification is what the site's server tells about a known visitor.
type Identification struct {
	AccountID        int64
	Email            string            // the caller validates it
	Name             string            // "" keeps the contact's name
	Properties       map[string]string // merged into the contact's properties
	RemoveProperties []string          // property names to delete
}

// IdentifyContact finds the account's contact with the email (or creates
// it), updates its name and properties, and issues an identification token
// valid for ttl, bound to the account and the contact's email. Only the
// token's hash is kept; the token is returned this once.
func (s *Store) IdentifyContact(ctx context.Context, id Identification, ttl time.Duration) (token string, expiresAt time.Time, c *Contact, err error) {
	props := id.Properties
	if props == nil {
		props = map[string]string{}
	}
	propsJSON, err := json.Marshal(props)
	if err != nil {
		return "", time.Time{}, nil, err
	}
	remove := id.RemoveProperties
	if remove == nil {
		remove = []string{}
	}
	token = "idt_" + NewToken()
	c = &Contact{}
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		// The site's server vouches for the address: the contact is verified.
		err := tx.GetContext(ctx, c, `INSERT INTO contacts (account_id, email, name, properties, verified)
			VALUES ($1, $2, $3, $4::jsonb - $5::text[], true)
			ON CONFLICT (account_id, lower(email)) WHERE email <> '' DO UPDATE SET
				verified = true,
				name = CASE WHEN EXCLUDED.name <> '' THEN EXCLUDED.name ELSE contacts.name END,
				properties = (contacts.properties || $4::jsonb) - $5::text[],
				updated_at = now()
			RETURNING `+contactColumns, id.AccountID, cleanText(id.Email, 254), cleanText(id.Name, 200), string(propsJSON), pq.Array(remove))
		if err != nil {
			return err
		}
		return tx.GetContext(ctx, &expiresAt, `INSERT INTO identification_tokens (token_hash, account_id, contact_id, email, expires_at)
			VALUES ($1, $2, $3, $4, now() + $5 * interval '1 millisecond') RETURNING expires_at`,
			HashToken(token), id.AccountID, c.ID, c.Email, ttl.Milliseconds())
	})
	if err != nil {
		return "", time.Time{}, nil, err
	}
	return token, expiresAt.UTC(), c, nil
}

// ContactByIdentificationToken returns the contact an identification token
// was issued for, when the token is the account's and was issued for email
// (compared case-insensitively). An unknown token, another account's, or one
// for another email is ErrNotFound; a right one past its time is ErrExpired.
func (s *Store) ContactByIdentificationToken(ctx context.Context, accountID int64, email, token string) (*Contact, error) {
	if token == "" || email == "" {
		return nil, ErrNotFound
	}
	var row struct {
		Contact
		Expired bool `db:"expired"`
	}
	err := s.db.GetContext(ctx, &row, `SELECT `+contactColumnsC+`, t.expires_at <= now() AS expired
		FROM identification_tokens t JOIN contacts c ON c.id = t.contact_id AND c.account_id = t.account_id
		WHERE t.token_hash = $1 AND t.account_id = $2 AND lower(t.email) = lower($3) AND lower(c.email) = lower($3)`,
		HashToken(token), accountID, email)
	if err != nil {
		return nil, notFound(err)
	}
	if row.Expired {
		return nil, ErrExpired
	}
	return &row.Contact, nil
}

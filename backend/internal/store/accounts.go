package store

import (
	"context"
	"time"
)

// Account is one customer of Parley.
type Account struct {
	ID            int64     `db:"id" json:"id"`
	PublicID      string    `db:"public_id" json:"site_key"`
	Name          string    `db:"name" json:"name"`
	CompanyName   string    `db:"company_name" json:"company_name"`
	CompanyDomain string    `db:"company_domain" json:"company_domain"`
	Timezone      string    `db:"timezone" json:"timezone"`
	CreatedAt     time.Time `db:"created_at" json:"created_at"`
	// MailSenderName is the name emails come from ("" uses the brand name);
	// MailReplyDomain the domain of conversations' reply addresses ("" offers none).
	MailSenderName  string `db:"mail_sender_name" json:"mail_sender_name"`
	MailReplyDomain string `db:"mail_reply_domain" json:"mail_reply_domain"`
}

// CreateAccount inserts an account; an empty PublicID gets a random one.
func (s *Store) CreateAccount(ctx context.Context, a *Account) error {
	if a.PublicID == "" {
		a.PublicID = NewPublicID("site")
	}
	if a.Timezone == "" {
		a.Timezone = "UTC"
	}
	err := s.db.QueryRowxContext(ctx, `INSERT INTO accounts (public_id, name, company_name, company_domain, timezone)
		VALUES ($1, $2, $3, $4, $5) RETURNING id, created_at`,
		a.PublicID, a.Name, a.CompanyName, a.CompanyDomain, a.Timezone).Scan(&a.ID, &a.CreatedAt)
	if isUnique(err) {
		return ErrConflict
	}
	return err
}

// Account returns the account with id.
func (s *Store) Account(ctx context.Context, id int64) (*Account, error) {
	var a Account
	err := s.db.GetContext(ctx, &a, `SELECT `+accountColumns+` FROM accounts WHERE id = $1`, id)
	return &a, notFound(err)
}

// AccountUpdate names the account settings to change: a nil field keeps
// its value. Callers validate; the store only writes.
type AccountUpdate struct {
	Name          *string
	CompanyName   *string
	CompanyDomain *string
	Timezone      *string
	// Mail settings (backend/mail).
	MailSenderName  *string
	MailReplyDomain *string
}

// UpdateAccount applies u to the account with id in one statement (two
// partial updates of different fields never undo each other) and returns
// the account as it now is.
func (s *Store) UpdateAccount(ctx context.Context, id int64, u AccountUpdate) (*Account, error) {
	var a Account
	err := s.db.GetContext(ctx, &a, `UPDATE accounts SET
		name = COALESCE($2, name),
		company_name = COALESCE($3, company_name),
		company_domain = COALESCE($4, company_domain),
		timezone = COALESCE($5, timezone),
		mail_sender_name = COALESCE($6, mail_sender_name),
		mail_reply_domain = COALESCE($7, mail_reply_domain)
		WHERE id = $1 RETURNING `+accountColumns, id, u.Name, u.CompanyName, u.CompanyDomain, u.Timezone, u.MailSenderName, u.MailReplyDomain)
	return &a, notFound(err)
}

// AccountBySite returns the account whose site key is publicID.
func (s *Store) AccountBySite(ctx context.Context, publicID string) (*Account, error) {
	var a Account
	err := s.db.GetContext(ctx, &a, `SELECT `+accountColumns+` FROM accounts WHERE public_id = $1`, publicID)
	return &a, notFound(err)
}

// CreateAPIKey makes a new key for the account and returns its secret.
// A non-empty secret is used as given (the demo seed), otherwise one is generated.
func (s *Store) CreateAPIKey(ctx context.Context, accountID int64, name, secret string) (string, error) {
	if secret == "" {
		secret = "pk_" + NewToken()
	}
	prefix := secret
	if len(prefix) > 10 {
		prefix = prefix[:10]
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO api_keys (account_id, name, prefix, key_hash) VALUES ($1, $2, $3, $4)
		ON CONFLICT (key_hash) DO NOTHING`, accountID, name, prefix, HashToken(secret))
	return secret, err
}

// AccountByAPIKey authenticates an API key secret.
func (s *Store) AccountByAPIKey(ctx context.Context, secret string) (*Account, error) {
	var a Account
	var keyID int64
	var lastUsed *time.Time
	h := HashToken(secret)
	row := s.db.QueryRowxContext(ctx, `SELECT k.id, k.last_used_at, `+accountColumnsA+` FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.key_hash = $1`, h)
	if err := row.Scan(&keyID, &lastUsed, &a.ID, &a.PublicID, &a.Name, &a.CompanyName, &a.CompanyDomain, &a.Timezone, &a.CreatedAt, &a.MailSenderName, &a.MailReplyDomain); err != nil {
		return nil, notFound(err)
	}
	// Record use at most once a minute: no write on every request.
	if lastUsed == nil || time.Since(*lastUsed) > time.Minute {
		s.db.ExecContext(ctx, `UPDATE api_keys SET last_used_at = now() WHERE id = $1`, keyID)
	}
	return &a, nil
}

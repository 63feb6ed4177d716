package store

import (
	"context"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// ErrAlreadySetUp refuses first-run setup once any account exists.
var ErrAlreadySetUp = errors.New("store: an account exists; setup is over")

// ErrSetupToken means the setup token is not one a backend handed out.
var ErrSetupToken = errors.New("store: unknown setup token")

// ErrHasPassword refuses an invitation for a user who already signs in.
var ErrHasPassword = errors.New("store: the user already has a password")

// HasAccounts reports whether any account exists (first-run setup is over).
func (s *Store) HasAccounts(ctx context.Context) (bool, error) {
	var ok bool
	err := s.db.GetContext(ctx, &ok, `SELECT EXISTS (SELECT 1 FROM accounts)`)
	return ok, err
}

// CreateSetupToken keeps a new first-run setup token (its hash) and returns
// it. Every backend that starts without accounts makes one; any of them is
// accepted by whichever backend serves the setup page.
func (s *Store) CreateSetupToken(ctx context.Context) (string, error) {
	token := NewToken()
	_, err := s.db.ExecContext(ctx, `INSERT INTO setup_tokens (token_hash) VALUES ($1)`, HashToken(token))
	return token, err
}

// SetupTokenValid reports whether token opens first-run setup: it was handed
// out and no account exists yet.
func (s *Store) SetupTokenValid(ctx context.Context, token string) (bool, error) {
	if token == "" {
		return false, nil
	}
	var ok bool
	err := s.db.GetContext(ctx, &ok, `SELECT EXISTS (SELECT 1 FROM setup_tokens WHERE token_hash = $1)
		AND NOT EXISTS (SELECT 1 FROM accounts)`, HashToken(token))
	return ok, err
}

// NewAccount is everything a new account starts with. The caller validates
// and fills in the texts and the chatflow's settings; the store writes.
type NewAccount struct {
	Account  Account  // PublicID (empty: random), Name, CompanyName, CompanyDomain, Timezone
	Domains  []string // allowed domains, normalized
	Admin    User     // the first admin; PasswordHash already hashed
	Inbox    string   // the inbox's name
	Chatflow ChatflowRow
	KeyName  string // the admin API key's name
	// SetupToken, when set, makes this the first-run setup: refused with
	// ErrAlreadySetUp once any account exists and ErrSetupToken for a
	// token no backend handed out.
	SetupToken string
}

// CreatedAccount is what CreateAccountWithAdmin made.
type CreatedAccount struct {
	Account  Account
	AdminID  int64
	InboxID  int64
	Chatflow string // the chatflow's public id
	APIKey   string // the admin API key's secret, never readable again
}

// CreateAccountWithAdmin creates, in one transaction, the account with its
// allowed domains, its first admin, an inbox with the admin as member, a
// chatflow on that inbox and an admin API key. Any account made here ends
// first-run setup: the setup tokens are deleted.
func (s *Store) CreateAccountWithAdmin(ctx context.Context, n NewAccount) (*CreatedAccount, error) {
	out := &CreatedAccount{Account: n.Account}
	a := &out.Account
	if a.PublicID == "" {
		a.PublicID = NewPublicID("site")
	}
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if n.SetupToken != "" {
			// Two setups at once: the second waits here and then sees the first's account.
			if _, err := tx.ExecContext(ctx, `LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE`); err != nil {
				return err
			}
			var exists bool
			if err := tx.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM accounts)`); err != nil {
				return err
			}
			if exists {
				return ErrAlreadySetUp
			}
			res, err := tx.ExecContext(ctx, `DELETE FROM setup_tokens WHERE token_hash = $1`, HashToken(n.SetupToken))
			if err := rowsOrNotFound(res, err); errors.Is(err, ErrNotFound) {
				return ErrSetupToken
			} else if err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM setup_tokens`); err != nil {
			return err
		}
		err := tx.QueryRowxContext(ctx, `INSERT INTO accounts (public_id, name, company_name, company_domain, timezone)
			VALUES ($1, $2, $3, $4, $5) RETURNING id, created_at`,
			a.PublicID, a.Name, a.CompanyName, a.CompanyDomain, a.Timezone).Scan(&a.ID, &a.CreatedAt)
		if err != nil {
			return err
		}
		if len(n.Domains) > 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO account_domains (account_id, position, domain)
				SELECT $1, d.ord, d.domain FROM unnest($2::text[]) WITH ORDINALITY AS d(domain, ord)`,
				a.ID, pq.Array(n.Domains)); err != nil {
				return err
			}
		}
		u := n.Admin
		if err := tx.QueryRowxContext(ctx, `INSERT INTO users (account_id, email, name, password_hash, role, has_seat, status, max_open_chats, avatar_url)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			a.ID, u.Email, u.Name, u.PasswordHash, RoleAdmin, true, u.Status, u.MaxOpenChats, u.AvatarURL).Scan(&out.AdminID); err != nil {
			return err
		}
		if err := tx.QueryRowxContext(ctx, `INSERT INTO inboxes (account_id, name, has_chat_channel) VALUES ($1, $2, true) RETURNING id`,
			a.ID, n.Inbox).Scan(&out.InboxID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO inbox_members (inbox_id, user_id) VALUES ($1, $2)`, out.InboxID, out.AdminID); err != nil {
			return err
		}
		r := n.Chatflow
		out.Chatflow = NewPublicID("cf")
		if _, err := tx.ExecContext(ctx, `INSERT INTO chatflows (account_id, public_id, name, channel, inbox_id, language, type, enabled, priority, mobile_tag, settings)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			a.ID, out.Chatflow, r.Name, r.Channel, out.InboxID, r.Language, r.Type, r.Enabled, r.Priority, r.MobileTag, r.Settings); err != nil {
			return err
		}
		out.APIKey = "pk_" + NewToken()
		_, err = tx.ExecContext(ctx, `INSERT INTO api_keys (account_id, name, prefix, key_hash, role) VALUES ($1, $2, $3, $4, $5)`,
			a.ID, n.KeyName, out.APIKey[:10], HashToken(out.APIKey), RoleAdmin)
		return err
	})
	if isUnique(err) {
		return nil, ErrConflict
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CreateInvitation makes a one-time link token for user userID of the
// account, valid for ttl, replacing any earlier one of theirs.
// ErrNotFound for no such user, ErrHasPassword for a user who signs in already.
//
// With invitationMail, the email it renders for the user and token is
// written to the outbox in the same transaction.
func (s *Store) CreateInvitation(ctx context.Context, accountID, userID int64, ttl time.Duration,
	invitationMail ...func(u *User, token string) (*OutboxEmail, error)) (string, time.Time, error) {
	token := NewToken()
	var expires time.Time
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var hash string
		if err := tx.GetContext(ctx, &hash, `SELECT password_hash FROM users WHERE id = $1 AND account_id = $2 FOR UPDATE`,
			userID, accountID); err != nil {
			return notFound(err)
		}
		if hash != "" {
			return ErrHasPassword
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_invitations WHERE user_id = $1`, userID); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &expires, `INSERT INTO user_invitations (token_hash, user_id, account_id, expires_at)
			VALUES ($1, $2, $3, now() + make_interval(secs => $4)) RETURNING expires_at`,
			HashToken(token), userID, accountID, ttl.Seconds()); err != nil {
			return err
		}
		for _, render := range invitationMail {
			var u User
			if err := tx.GetContext(ctx, &u, `SELECT `+userColumns+` FROM users WHERE id = $1`, userID); err != nil {
				return err
			}
			e, err := render(&u, token)
			if err != nil {
				return err
			}
			if _, err := enqueueEmail(ctx, tx, e, MailLimit{}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return token, expires, nil
}

// invitedUserColumns are the user's columns the invitation page reads.
const invitedUserColumns = `u.id, u.account_id, u.email, u.name, u.role`

// InvitedUser returns the user a live invitation token is for;
// ErrNotFound for a token that is unknown, used, replaced or expired.
func (s *Store) InvitedUser(ctx context.Context, token string) (*User, error) {
	var u User
	err := s.db.GetContext(ctx, &u, `SELECT `+invitedUserColumns+` FROM user_invitations i JOIN users u ON u.id = i.user_id
		WHERE i.token_hash = $1 AND i.expires_at > now() AND u.password_hash = ''`, HashToken(token))
	if err != nil {
		return nil, notFound(err)
	}
	return &u, nil
}

// AcceptInvitation uses a live invitation token once: the user's password
// hash becomes hash and the token is gone. ErrNotFound for a token that is
// unknown, used, replaced or expired.
func (s *Store) AcceptInvitation(ctx context.Context, token, hash string) (*User, error) {
	var u User
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var userID int64
		if err := tx.GetContext(ctx, &userID, `DELETE FROM user_invitations WHERE token_hash = $1 AND expires_at > now()
			RETURNING user_id`, HashToken(token)); err != nil {
			return notFound(err)
		}
		err := tx.GetContext(ctx, &u, `UPDATE users u SET password_hash = $2 WHERE u.id = $1 AND u.password_hash = ''
			RETURNING `+invitedUserColumns, userID, hash)
		return notFound(err)
	})
	if isUnique(err) {
		return nil, ErrConflict
	}
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// DeleteExpiredInvitations removes at most limit invitations past their
// expiry and says how many.
func (w *Sweep) DeleteExpiredInvitations(ctx context.Context, limit int) (int64, error) {
	return w.exec(ctx, `DELETE FROM user_invitations WHERE token_hash IN (
		SELECT token_hash FROM user_invitations WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED)`, limit)
}

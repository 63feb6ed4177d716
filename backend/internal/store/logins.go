package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// LoginFailures counts the failed sign-ins within the last window of the
// pair email (any case) and ip, and of ip whatever the email. Throttling
// by pair, never by email alone, means failures from one address cannot
// refuse the agent signing in from another.
func (s *Store) LoginFailures(ctx context.Context, email, ip string, window time.Duration) (byPair, byIP int, err error) {
	err = s.db.QueryRowxContext(ctx, `SELECT
		count(*) FILTER (WHERE email = $1), count(*)
		FROM login_failures WHERE ip = $2 AND created_at > now() - make_interval(secs => $3)`,
		strings.ToLower(email), ip, window.Seconds()).Scan(&byPair, &byIP)
	return byPair, byIP, err
}

// RecordLoginFailure notes a failed sign-in and sweeps failures older than keep.
func (s *Store) RecordLoginFailure(ctx context.Context, email, ip string, keep time.Duration) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM login_failures WHERE created_at < now() - make_interval(secs => $1)`, keep.Seconds()); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO login_failures (email, ip) VALUES ($1, $2)`, strings.ToLower(email), ip)
	return err
}

// ClearLoginFailures forgets the failures of the pair email and ip after a
// successful sign-in from there (an attacker's elsewhere still count).
func (s *Store) ClearLoginFailures(ctx context.Context, email, ip string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM login_failures WHERE email = $1 AND ip = $2`, strings.ToLower(email), ip)
	return err
}

// AmbiguousEmailError is ResetPassword's answer when users of several
// accounts have the email and no account was named.
type AmbiguousEmailError struct {
	Email    string
	Accounts []int64 // the accounts' ids
}

func (e *AmbiguousEmailError) Error() string {
	ids := make([]string, len(e.Accounts))
	for i, id := range e.Accounts {
		ids[i] = strconv.FormatInt(id, 10)
	}
	return fmt.Sprintf("users of several accounts have the email %q (account ids %s); name the account", e.Email, strings.Join(ids, ", "))
}

// ResetPassword sets the password hash of the user with email in account
// accountID (0: in whichever account has one; several answer
// *AmbiguousEmailError), ends their sessions (their open sockets close on
// every backend) and clears their sign-in throttling. ErrNotFound when no
// such user.
func (s *Store) ResetPassword(ctx context.Context, email string, accountID int64, hash string) (*User, error) {
	var u User
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var us []User
		if err := tx.SelectContext(ctx, &us, `SELECT `+userColumns+` FROM users WHERE lower(email) = lower($1)
			AND ($2::bigint = 0 OR account_id = $2) ORDER BY account_id FOR UPDATE`, email, accountID); err != nil {
			return err
		}
		switch len(us) {
		case 0:
			return ErrNotFound
		case 1:
		default:
			amb := &AmbiguousEmailError{Email: email}
			for _, x := range us {
				amb.Accounts = append(amb.Accounts, x.AccountID)
			}
			return amb
		}
		u = us[0]
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, u.ID, hash); err != nil {
			return err
		}
		u.PasswordHash = hash
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_sessions WHERE user_id = $1`, u.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE email = lower($1)`, email)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.accessChanged(ctx, u.AccountID, u.ID)
	return &u, nil
}

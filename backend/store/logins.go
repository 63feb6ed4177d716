package store

import (
	"context"
	"strings"
	"time"
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

// ResetPassword sets the password hash of the user who signs in with email
// (any account) and ends their sessions, so the old password's sessions
// stop working. ErrNotFound when no user has that email.
func (s *Store) ResetPassword(ctx context.Context, email, hash string) (*User, error) {
	var u User
	err := s.db.GetContext(ctx, &u, `UPDATE users SET password_hash = $2 WHERE lower(email) = lower($1) RETURNING `+userColumns, email, hash)
	if err != nil {
		if isUnique(err) {
			return nil, ErrConflict // two accounts' users share the email and both would sign in with it
		}
		return nil, notFound(err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM user_sessions WHERE user_id = $1`, u.ID); err != nil {
		return nil, err
	}
	s.accessChanged(ctx, u.AccountID, u.ID)
	_, err = s.db.ExecContext(ctx, `DELETE FROM login_failures WHERE email = lower($1)`, email)
	return &u, err
}

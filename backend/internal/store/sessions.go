package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
)

// Session is a signed-in agent's session. The browser holds a random secret;
// the table keeps only its hash, so a database leak yields no usable cookie.
type Session struct {
	UserID    int64     `db:"user_id"`
	CSRFToken string    `db:"csrf_token"` // per-session token every form and fetch must echo
	CreatedAt time.Time `db:"created_at"`
	ExpiresAt time.Time `db:"expires_at"`
}

// CreateSession starts a session for userID lasting ttl and returns the secret
// for the cookie. The user's expired sessions are swept on the way.
func (s *Store) CreateSession(ctx context.Context, userID int64, ttl time.Duration) (secret string, sess *Session, err error) {
	secret = NewToken()
	sess = &Session{UserID: userID, CSRFToken: NewToken()}
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_sessions WHERE user_id = $1 AND expires_at <= now()`, userID); err != nil {
			return err
		}
		return tx.QueryRowxContext(ctx, `INSERT INTO user_sessions (id_hash, user_id, csrf_token, expires_at)
			VALUES ($1, $2, $3, now() + make_interval(secs => $4)) RETURNING created_at, expires_at`,
			HashToken(secret), userID, sess.CSRFToken, ttl.Seconds()).Scan(&sess.CreatedAt, &sess.ExpiresAt)
	})
	if err != nil {
		return "", nil, err
	}
	return secret, sess, nil
}

// SessionBySecret returns the live session whose cookie secret is secret;
// a missing or expired session is ErrNotFound (and an expired one is deleted).
func (s *Store) SessionBySecret(ctx context.Context, secret string) (*Session, error) {
	if secret == "" {
		return nil, ErrNotFound
	}
	var sess Session
	var live bool
	err := s.db.QueryRowxContext(ctx, `SELECT user_id, csrf_token, created_at, expires_at, expires_at > now()
		FROM user_sessions WHERE id_hash = $1`, HashToken(secret)).
		Scan(&sess.UserID, &sess.CSRFToken, &sess.CreatedAt, &sess.ExpiresAt, &live)
	if err != nil {
		return nil, notFound(err)
	}
	if !live {
		s.db.ExecContext(ctx, `DELETE FROM user_sessions WHERE id_hash = $1`, HashToken(secret))
		return nil, ErrNotFound
	}
	return &sess, nil
}

// DeleteSession ends the session whose cookie secret is secret (sign-out);
// its live sockets on every backend close.
func (s *Store) DeleteSession(ctx context.Context, secret string) error {
	var userID, accountID int64
	err := s.db.QueryRowxContext(ctx, `DELETE FROM user_sessions s USING users u
		WHERE s.id_hash = $1 AND u.id = s.user_id RETURNING u.id, u.account_id`, HashToken(secret)).Scan(&userID, &accountID)
	if err := notFound(err); err != nil {
		if err == ErrNotFound {
			return nil
		}
		return err
	}
	s.accessChanged(ctx, accountID, userID)
	return nil
}

// ChangePassword sets userID's password hash and ends every other session of
// theirs, keeping only the one whose cookie secret is keepSecret, so a
// stolen session dies with the old password. ErrNotFound when no such user.
func (s *Store) ChangePassword(ctx context.Context, userID int64, hash, keepSecret string) error {
	var accountID int64
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		err := tx.QueryRowxContext(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1 RETURNING account_id`, userID, hash).Scan(&accountID)
		if err != nil {
			return notFound(err)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM user_sessions WHERE user_id = $1 AND id_hash <> $2`, userID, HashToken(keepSecret))
		return err
	})
	if err == nil {
		s.accessChanged(ctx, accountID, userID)
	}
	return err
}

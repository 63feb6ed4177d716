package store

import (
	"context"
	"database/sql/driver"
	"time"

	"github.com/jmoiron/sqlx"
)

// housekeepingLockClass is the first key of the advisory lock a housekeeping
// round holds, so that of several backends on one database one sweeps at a
// time (routing's lock class is 7432; migrations use a one-key lock).
const housekeepingLockClass = 7433

// Sweep is one housekeeping round: a connection of its own holding the
// database-wide housekeeping lock until Close. Each of its deletes removes
// at most limit rows, so no statement holds many row locks for long.
type Sweep struct {
	conn *sqlx.Conn
}

// BeginSweep takes the housekeeping lock without waiting. It returns nil
// and no error when another backend holds the lock.
func (s *Store) BeginSweep(ctx context.Context) (*Sweep, error) {
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return nil, err
	}
	var got bool
	if err := conn.QueryRowxContext(ctx, `SELECT pg_try_advisory_lock($1, 0)`, housekeepingLockClass).Scan(&got); err != nil {
		conn.Close()
		return nil, err
	}
	if !got {
		conn.Close()
		return nil, nil
	}
	return &Sweep{conn: conn}, nil
}

// Close releases the lock and the connection.
func (w *Sweep) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var released bool
	err := w.conn.QueryRowxContext(ctx, `SELECT pg_advisory_unlock($1, 0)`, housekeepingLockClass).Scan(&released)
	if err != nil || !released {
		// A session lock outlives the round: a connection that may still
		// hold it is closed rather than returned to the pool.
		w.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	w.conn.Close()
}

// DeleteExpiredIdentificationTokens removes at most limit identification
// tokens past their expiry and says how many.
func (w *Sweep) DeleteExpiredIdentificationTokens(ctx context.Context, limit int) (int64, error) {
	return w.exec(ctx, `DELETE FROM identification_tokens WHERE token_hash IN (
		SELECT token_hash FROM identification_tokens WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED)`, limit)
}

// DeleteExpiredSessions removes at most limit agent sessions past their
// expiry and says how many.
func (w *Sweep) DeleteExpiredSessions(ctx context.Context, limit int) (int64, error) {
	return w.exec(ctx, `DELETE FROM user_sessions WHERE id_hash IN (
		SELECT id_hash FROM user_sessions WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED)`, limit)
}

// DeleteLoginFailuresOlderThan removes at most limit failed sign-ins older
// than age (past the throttling window they no longer count) and says how many.
func (w *Sweep) DeleteLoginFailuresOlderThan(ctx context.Context, age time.Duration, limit int) (int64, error) {
	return w.exec(ctx, `DELETE FROM login_failures WHERE id IN (
		SELECT id FROM login_failures WHERE created_at < now() - make_interval(secs => $2) LIMIT $1 FOR UPDATE SKIP LOCKED)`,
		limit, age.Seconds())
}

// exec runs a bounded delete on the sweep's connection.
func (w *Sweep) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := w.conn.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

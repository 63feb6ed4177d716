package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/parleychat/parley/backend/internal/events"
)

// VisitorSocketsFresh is how old a backend's heartbeat may be while the
// sockets it reports open still count: backends beat more often than this,
// so a crashed backend stops keeping its visitors "connected" within it.
const VisitorSocketsFresh = time.Minute

// visitorSocketsKeep is how long left rows and silent backends' rows stay.
const visitorSocketsKeep = time.Hour

// SyncVisitorSockets records backend's news about visitor sockets, in one
// transaction with its heartbeat: visitors whose first socket on it opened
// (open) and whose last closed (left). With full, open is every visitor
// with a socket on it and every other row of it is marked left. It
// returns known=false when the backend had no heartbeat row (its first
// sync, or rows pruned after a long silence): the caller then syncs full.
func (s *Store) SyncVisitorSockets(ctx context.Context, backend string, open, left []int64, full bool) (known bool, err error) {
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		var inserted bool
		if err := tx.GetContext(ctx, &inserted, `INSERT INTO backend_heartbeats (backend) VALUES ($1)
			ON CONFLICT (backend) DO UPDATE SET seen_at = now() RETURNING (xmax = 0)`, backend); err != nil {
			return err
		}
		known = !inserted
		if full {
			if _, err := tx.ExecContext(ctx, `UPDATE visitor_sockets SET left_at = now()
				WHERE backend = $1 AND left_at IS NULL AND NOT (visitor_id = ANY($2))`, backend, pq.Array(open)); err != nil {
				return err
			}
		}
		if len(open) > 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO visitor_sockets (visitor_id, backend) SELECT DISTINCT unnest($2::bigint[]), $1
				ON CONFLICT (visitor_id, backend) DO UPDATE SET left_at = NULL WHERE visitor_sockets.left_at IS NOT NULL`,
				backend, pq.Array(open)); err != nil {
				return err
			}
		}
		if len(left) > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE visitor_sockets SET left_at = now()
				WHERE backend = $1 AND visitor_id = ANY($2) AND left_at IS NULL`, backend, pq.Array(left)); err != nil {
				return err
			}
		}
		return announceVisitors(ctx, tx, append(open, left...))
	})
	return known, err
}

// LeaveVisitorSockets marks every socket of backend left (it is stopping).
func (s *Store) LeaveVisitorSockets(ctx context.Context, backend string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE visitor_sockets SET left_at = now() WHERE backend = $1 AND left_at IS NULL`, backend)
	return err
}

// visitorConnected is true for the row of conversations c whose visitor
// has a widget socket open on a backend with a fresh heartbeat, or closed
// its last one less than $grace ago (a page change, a reconnect). It takes
// the grace as a parameter numbered by the caller.
func visitorConnected(graceParam string) string {
	return `EXISTS (SELECT 1 FROM visitor_sockets vs JOIN backend_heartbeats b ON b.backend = vs.backend
		WHERE vs.visitor_id = c.visitor_id AND (vs.left_at > now() - ` + graceParam + `::interval
			OR vs.left_at IS NULL AND b.seen_at > now() - interval '` + VisitorSocketsFresh.String() + `'))`
}

// VisitorConnected reports whether visitorID has a widget socket open on
// any backend, or closed its last one less than grace ago.
func (s *Store) VisitorConnected(ctx context.Context, visitorID int64, grace time.Duration) (bool, error) {
	var ok bool
	err := s.db.GetContext(ctx, &ok, `SELECT `+visitorConnected("$2")+` FROM (SELECT $1::bigint AS visitor_id) c`,
		visitorID, grace.String())
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return ok, err
}

// PruneVisitorSockets deletes rows left over an hour ago and those of
// backends silent for as long, with their heartbeats.
func (s *Store) PruneVisitorSockets(ctx context.Context) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		keep := visitorSocketsKeep.String()
		if _, err := tx.ExecContext(ctx, `DELETE FROM visitor_sockets WHERE left_at < now() - $1::interval
			OR backend IN (SELECT backend FROM backend_heartbeats WHERE seen_at < now() - $1::interval)`, keep); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM backend_heartbeats WHERE seen_at < now() - $1::interval`, keep)
		return err
	})
}

// announceVisitors tells the agents' pages following an open conversation
// of these visitors that they came or went (events.KindVisitor).
func announceVisitors(ctx context.Context, tx *sqlx.Tx, visitors []int64) error {
	if len(visitors) == 0 {
		return nil
	}
	var convs []struct {
		ID      int64 `db:"id"`
		Account int64 `db:"account_id"`
	}
	if err := tx.SelectContext(ctx, &convs, `SELECT id, account_id FROM conversations
		WHERE visitor_id = ANY($1) AND status = 'open'`, pq.Array(visitors)); err != nil {
		return err
	}
	for _, c := range convs {
		announce(tx, events.Notice{Account: c.Account, Conversation: c.ID, Kind: events.KindVisitor})
	}
	return nil
}

package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/parleychat/parley/backend/internal/events"
)

// Presence follows the agent: users.status is what routing and the
// widgets read; users.chosen_status, when set, is the agent's own choice
// that status stands in for while Parley set it (away with no inbox page
// open, offline after signing out). Every change announces
// events.KindPresence for the account after its commit.

// agentSocketsKeep is how long rows of silent backends stay.
const agentSocketsKeep = 24 * time.Hour

// Changed is an agent whose status Parley changed.
type Changed struct {
	AccountID int64  `db:"account_id"`
	UserID    int64  `db:"id"`
	Status    string `db:"status"`
}

// SyncAgentSockets records backend's news about agents' inbox sockets, in
// one transaction with its heartbeat: agents whose first socket on it
// opened (open) and whose last closed (left). With full, open is every
// agent with a socket on it and every other row of it is marked left. An
// agent who opens a page is back: a status Parley set is replaced by
// their own choice again (returned, for routing). known is false when the
// backend had no heartbeat row (first sync, or pruned): sync full then.
func (s *Store) SyncAgentSockets(ctx context.Context, backend string, open, left []int64, full bool) (back []Changed, known bool, err error) {
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		back = nil
		var inserted bool
		if err := tx.GetContext(ctx, &inserted, `INSERT INTO backend_heartbeats (backend) VALUES ($1)
			ON CONFLICT (backend) DO UPDATE SET seen_at = now() RETURNING (xmax = 0)`, backend); err != nil {
			return err
		}
		known = !inserted
		if full {
			if _, err := tx.ExecContext(ctx, `UPDATE agent_sockets SET left_at = now()
				WHERE backend = $1 AND left_at IS NULL AND NOT (user_id = ANY($2))`, backend, pq.Array(open)); err != nil {
				return err
			}
		}
		if len(left) > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE agent_sockets SET left_at = now()
				WHERE backend = $1 AND user_id = ANY($2) AND left_at IS NULL`, backend, pq.Array(left)); err != nil {
				return err
			}
		}
		if len(open) == 0 {
			return nil
		}
		// Rows of other backends that no longer count (closed, or of a
		// backend gone silent) say less than this one: drop them, so each
		// agent keeps a row per live backend at most.
		if _, err := tx.ExecContext(ctx, `DELETE FROM agent_sockets a USING backend_heartbeats b
			WHERE a.user_id = ANY($2) AND a.backend <> $1 AND b.backend = a.backend
			AND (a.left_at IS NOT NULL OR b.seen_at < now() - $3::interval)`,
			backend, pq.Array(open), VisitorSocketsFresh.String()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO agent_sockets (user_id, backend) SELECT id, $1 FROM users WHERE id = ANY($2)
			ON CONFLICT (user_id, backend) DO UPDATE SET left_at = NULL WHERE agent_sockets.left_at IS NOT NULL`,
			backend, pq.Array(open)); err != nil {
			return err
		}
		if err := tx.SelectContext(ctx, &back, `UPDATE users SET status = chosen_status, chosen_status = NULL, status_at = now()
			WHERE id = ANY($1) AND chosen_status IS NOT NULL RETURNING account_id, id, status`, pq.Array(open)); err != nil {
			return err
		}
		announceStatus(tx, back)
		return nil
	})
	return back, known, err
}

// LeaveAgentSockets marks every inbox socket of backend left (it is stopping).
func (s *Store) LeaveAgentSockets(ctx context.Context, backend string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE agent_sockets SET left_at = now() WHERE backend = $1 AND left_at IS NULL`, backend)
	return err
}

// AwayIdleAgents turns away every available agent who has had no inbox
// page open for after (on any backend with a fresh heartbeat), counting
// from when their last page closed, their backend went silent, or they
// chose to be available, whichever is latest. Agents who never had an
// inbox page open are left alone. It returns who it turned away.
func (s *Store) AwayIdleAgents(ctx context.Context, after time.Duration) ([]Changed, error) {
	var out []Changed
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		out = nil
		if err := tx.SelectContext(ctx, &out, `UPDATE users u SET status = 'away', chosen_status = 'available', status_at = now()
			FROM (SELECT a.user_id, max(CASE WHEN a.left_at IS NULL AND b.seen_at > now() - $2::interval THEN 'infinity'
					ELSE coalesce(a.left_at, b.seen_at, '-infinity') END) AS seen
				FROM agent_sockets a LEFT JOIN backend_heartbeats b ON b.backend = a.backend
				GROUP BY a.user_id) s
			WHERE s.user_id = u.id AND u.status = 'available' AND greatest(s.seen, u.status_at) < now() - $1::interval
			RETURNING u.account_id, u.id, u.status`, after.String(), VisitorSocketsFresh.String()); err != nil {
			return err
		}
		announceStatus(tx, out)
		return nil
	})
	return out, err
}

// SignedOut makes userID offline (they signed out), keeping their own
// choice to put back when they return.
func (s *Store) SignedOut(ctx context.Context, accountID, userID int64) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var ch []Changed
		if err := tx.SelectContext(ctx, &ch, `UPDATE users SET status = 'offline', chosen_status = coalesce(chosen_status, status), status_at = now()
			WHERE id = $1 AND account_id = $2 AND status <> 'offline' RETURNING account_id, id, status`, userID, accountID); err != nil {
			return err
		}
		announceStatus(tx, ch)
		return nil
	})
}

// Returned puts back userID's own status choice if Parley had set their
// status (they open an inbox page again); back is nil when nothing changed.
func (s *Store) Returned(ctx context.Context, userID int64) (back *Changed, err error) {
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		var ch []Changed
		if err := tx.SelectContext(ctx, &ch, `UPDATE users SET status = chosen_status, chosen_status = NULL, status_at = now()
			WHERE id = $1 AND chosen_status IS NOT NULL RETURNING account_id, id, status`, userID); err != nil {
			return err
		}
		announceStatus(tx, ch)
		if len(ch) > 0 {
			back = &ch[0]
		}
		return nil
	})
	return back, err
}

// PruneAgentSockets deletes the rows of backends silent for a day (or
// whose heartbeat is gone).
func (s *Store) PruneAgentSockets(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM agent_sockets a WHERE NOT EXISTS
		(SELECT 1 FROM backend_heartbeats b WHERE b.backend = a.backend AND b.seen_at > now() - $1::interval)`, agentSocketsKeep.String())
	return err
}

// announceStatus announces a presence change once per account of ch.
func announceStatus(tx *sqlx.Tx, ch []Changed) {
	seen := map[int64]bool{}
	for _, c := range ch {
		if !seen[c.AccountID] {
			seen[c.AccountID] = true
			announce(tx, events.Notice{Account: c.AccountID, Kind: events.KindPresence})
		}
	}
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// PushWebhook is where an account's push calls go, and the secret they
// are signed with.
type PushWebhook struct {
	AccountID int64     `db:"account_id"`
	URL       string    `db:"url"`
	Secret    string    `db:"secret"`
	UpdatedAt time.Time `db:"updated_at"`
}

// SetPushWebhook sets account's push webhook.
func (s *Store) SetPushWebhook(ctx context.Context, accountID int64, url, secret string) (*PushWebhook, error) {
	var w PushWebhook
	err := s.db.GetContext(ctx, &w, `INSERT INTO push_webhooks (account_id, url, secret) VALUES ($1, $2, $3)
		ON CONFLICT (account_id) DO UPDATE SET url = EXCLUDED.url, secret = EXCLUDED.secret, updated_at = now()
		RETURNING account_id, url, secret, updated_at`, accountID, url, secret)
	return &w, err
}

// PushWebhookOf returns account's push webhook, ErrNotFound when it has none.
func (s *Store) PushWebhookOf(ctx context.Context, accountID int64) (*PushWebhook, error) {
	var w PushWebhook
	err := s.db.GetContext(ctx, &w, `SELECT account_id, url, secret, updated_at FROM push_webhooks WHERE account_id = $1`, accountID)
	return &w, notFound(err)
}

// DeletePushWebhook removes account's push webhook and the calls waiting
// for it; it reports whether there was one.
func (s *Store) DeletePushWebhook(ctx context.Context, accountID int64) (bool, error) {
	var n int64
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM push_webhooks WHERE account_id = $1`, accountID)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		_, err = tx.ExecContext(ctx, `UPDATE push_queue SET outcome = 'skipped', done_at = now(), last_error = 'no webhook'
			WHERE account_id = $1 AND done_at IS NULL`, accountID)
		return err
	})
	return n > 0, err
}

// SetPushToken registers visitor's device push token, replacing any
// earlier one; an empty token removes it (and the calls waiting for it).
func (s *Store) SetPushToken(ctx context.Context, accountID, visitorID int64, platform, token string) error {
	if token == "" {
		return s.tx(ctx, func(tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, `DELETE FROM push_tokens WHERE visitor_id = $1 AND account_id = $2`, visitorID, accountID); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `UPDATE push_queue SET outcome = 'skipped', done_at = now(), last_error = 'no push token'
				WHERE visitor_id = $1 AND done_at IS NULL`, visitorID)
			return err
		})
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO push_tokens (visitor_id, account_id, platform, token) VALUES ($1, $2, $3, $4)
		ON CONFLICT (visitor_id) DO UPDATE SET platform = EXCLUDED.platform, token = EXCLUDED.token, updated_at = now()`,
		visitorID, accountID, platform, token)
	return err
}

// PushTokenOf returns visitor's push platform and token ("" when none).
func (s *Store) PushTokenOf(ctx context.Context, visitorID int64) (platform, token string, err error) {
	err = s.db.QueryRowxContext(ctx, `SELECT platform, token FROM push_tokens WHERE visitor_id = $1`, visitorID).Scan(&platform, &token)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	return platform, token, err
}

// PushCall is one webhook call to make: a burst of team messages for an
// app visitor whose app is not connected.
type PushCall struct {
	ID           int64  `db:"id"`
	AccountID    int64  `db:"account_id"`
	Site         string `db:"site"`
	Conversation string `db:"conversation"` // public id
	Chatflow     string `db:"chatflow"`     // public id; "" when the chatflow is gone
	FirstSeq     int64  `db:"first_seq"`
	LastSeq      int64  `db:"last_seq"`
	Messages     int    `db:"messages"`
	Attempts     int    `db:"attempts"` // this one included
	URL          string `db:"url"`
	Secret       string `db:"secret"`
	Platform     string `db:"platform"`
	Token        string `db:"token"`
	// The burst's newest message, for the notification's text.
	From string    `db:"author_type"`
	Name string    `db:"author_name"`
	Text string    `db:"body"`
	At   time.Time `db:"created_at"`
}

// PushOutcome is how one call went.
type PushOutcome struct {
	Err       error
	Permanent bool // do not retry
}

// pushLease is how long a claimed call is left alone by other backends
// before it counts as abandoned (its backend died mid-call) and is tried again.
const pushLease = 2 * time.Minute

// DeliverPushes claims the calls due (their burst quiet for settle, their
// retry time come), skips those whose visitor's app is connected now (a
// socket on any backend) or whose token or webhook is gone, hands the rest
// to send, and records each outcome: a failure is retried after backoff
// until maxAttempts; messages that joined a call while it was being made
// stay waiting as the next burst. Claims are committed before send runs, so
// no row is locked while a webhook answers. It returns how many it claimed.
func (s *Store) DeliverPushes(ctx context.Context, limit int, settle time.Duration, send func([]PushCall) []PushOutcome,
	backoff func(attempts int) time.Duration, maxAttempts int) (int, error) {
	var calls []PushCall
	var skipped []int64
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var ids []int64
		if err := tx.SelectContext(ctx, &ids, `SELECT id FROM push_queue
			WHERE done_at IS NULL AND next_attempt_at <= now() AND created_at <= now() - $2::interval
			ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED`, limit, settle.String()); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		var rows []struct {
			PushCall
			Connected bool `db:"connected"`
		}
		if err := tx.SelectContext(ctx, &rows, `SELECT q.id, q.account_id, a.public_id AS site, c.public_id AS conversation,
				COALESCE(cf.public_id, '') AS chatflow, q.first_seq, q.last_seq, q.messages, q.attempts + 1 AS attempts,
				COALESCE(w.url, '') AS url, COALESCE(w.secret, '') AS secret, COALESCE(p.platform, '') AS platform, COALESCE(p.token, '') AS token,
				COALESCE(m.author_type, '') AS author_type, COALESCE(u.name, '') AS author_name, COALESCE(m.body, '') AS body,
				COALESCE(m.created_at, q.created_at) AS created_at,
				`+visitorConnected("'0s'")+` AS connected
			FROM push_queue q
			JOIN conversations c ON c.id = q.conversation_id
			JOIN accounts a ON a.id = q.account_id
			LEFT JOIN chatflows cf ON cf.id = c.chatflow_id
			LEFT JOIN push_webhooks w ON w.account_id = q.account_id
			LEFT JOIN push_tokens p ON p.visitor_id = q.visitor_id
			LEFT JOIN messages m ON m.conversation_id = q.conversation_id AND m.seq = q.last_seq
			LEFT JOIN users u ON m.author_type = 'agent' AND u.id = m.author_id
			WHERE q.id = ANY($1) ORDER BY q.next_attempt_at, q.id`, pq.Array(ids)); err != nil {
			return err
		}
		var claimed []int64
		for _, r := range rows {
			if r.Connected || r.URL == "" || r.Token == "" {
				skipped = append(skipped, r.ID)
				continue
			}
			calls = append(calls, r.PushCall)
			claimed = append(claimed, r.ID)
		}
		if len(skipped) > 0 {
			// The app is there to see it (or nothing can be called): this
			// burst needs no push.
			if _, err := tx.ExecContext(ctx, `UPDATE push_queue SET outcome = 'skipped', done_at = now() WHERE id = ANY($1)`,
				pq.Array(skipped)); err != nil {
				return err
			}
		}
		if len(claimed) > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE push_queue SET attempts = attempts + 1, next_attempt_at = now() + $2::interval
				WHERE id = ANY($1)`, pq.Array(claimed), pushLease.String()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || len(calls) == 0 {
		return len(calls) + len(skipped), err
	}
	res := send(calls)
	for i, c := range calls {
		o := res[i]
		var err error
		switch {
		case o.Err == nil:
			err = s.pushSent(ctx, c)
		default:
			msg := o.Err.Error()
			if len(msg) > 500 {
				msg = msg[:500]
			}
			if o.Permanent || c.Attempts >= maxAttempts {
				_, err = s.db.ExecContext(ctx, `UPDATE push_queue SET outcome = 'failed', done_at = now(), last_error = $2 WHERE id = $1`, c.ID, msg)
			} else {
				_, err = s.db.ExecContext(ctx, `UPDATE push_queue SET last_error = $2, next_attempt_at = now() + $3::interval WHERE id = $1`,
					c.ID, msg, backoff(c.Attempts).String())
			}
		}
		if err != nil {
			return len(calls) + len(skipped), err
		}
	}
	return len(calls) + len(skipped), nil
}

// pushSent records call c delivered. Messages that joined it while it was
// being made were not in it: they wait as a new call, the next burst.
func (s *Store) pushSent(ctx context.Context, c PushCall) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var last int64
		var messages int
		err := tx.QueryRowxContext(ctx, `SELECT last_seq, messages FROM push_queue WHERE id = $1 FOR UPDATE`, c.ID).Scan(&last, &messages)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // its conversation was erased meanwhile
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE push_queue SET outcome = 'sent', done_at = now(), last_seq = $2, messages = $3, last_error = ''
			WHERE id = $1`, c.ID, c.LastSeq, min(c.Messages, messages)); err != nil {
			return err
		}
		if last <= c.LastSeq {
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO push_queue (account_id, conversation_id, visitor_id, first_seq, last_seq, messages)
			SELECT account_id, conversation_id, visitor_id, $2 + 1, $3, $4 FROM push_queue WHERE id = $1`,
			c.ID, c.LastSeq, last, max(messages-c.Messages, 1))
		return err
	})
}

// PushCounts reports the push queue: calls made, waiting, skipped (the app
// was connected) and given up.
func (s *Store) PushCounts(ctx context.Context) (sent, waiting, skipped, failed int64, err error) {
	err = s.db.QueryRowxContext(ctx, `SELECT count(*) FILTER (WHERE outcome = 'sent'), count(*) FILTER (WHERE done_at IS NULL),
		count(*) FILTER (WHERE outcome = 'skipped'), count(*) FILTER (WHERE outcome = 'failed') FROM push_queue`).Scan(&sent, &waiting, &skipped, &failed)
	return
}

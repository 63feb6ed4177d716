package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// BotByName returns the account's bot called name.
func (s *Store) BotByName(ctx context.Context, accountID int64, name string) (*BotRow, error) {
	var b BotRow
	err := s.db.GetContext(ctx, &b, `SELECT `+botColumns+` FROM bots WHERE account_id = $1 AND name = $2`, accountID, name)
	if err != nil {
		return nil, notFound(err)
	}
	return &b, nil
}

// Webhook is one of an account's webhooks: where its events are posted and
// the secret they are signed with.
type Webhook struct {
	ID                  int64          `db:"id" json:"id"`
	AccountID           int64          `db:"account_id" json:"-"`
	URL                 string         `db:"url" json:"url"`
	Secret              string         `db:"secret" json:"-"`
	Events              pq.StringArray `db:"events" json:"events"`
	Enabled             bool           `db:"enabled" json:"enabled"`
	ConsecutiveFailures int            `db:"consecutive_failures" json:"consecutive_failures"`
	DisabledReason      string         `db:"disabled_reason" json:"disabled_reason"`
	CreatedAt           time.Time      `db:"created_at" json:"created_at"`
	UpdatedAt           time.Time      `db:"updated_at" json:"updated_at"`
}

const webhookColumns = `id, account_id, url, secret, events, enabled, consecutive_failures, disabled_reason, created_at, updated_at`

// CreateWebhook stores w (its ID and times are filled in).
func (s *Store) CreateWebhook(ctx context.Context, w *Webhook) error {
	return s.db.QueryRowxContext(ctx, `INSERT INTO webhooks (account_id, url, secret, events) VALUES ($1, $2, $3, $4)
		RETURNING id, enabled, created_at, updated_at`, w.AccountID, w.URL, w.Secret, w.Events).
		Scan(&w.ID, &w.Enabled, &w.CreatedAt, &w.UpdatedAt)
}

// Webhooks lists the account's webhooks, oldest first.
func (s *Store) Webhooks(ctx context.Context, accountID int64) ([]Webhook, error) {
	ws := []Webhook{}
	err := s.db.SelectContext(ctx, &ws, `SELECT `+webhookColumns+` FROM webhooks WHERE account_id = $1 ORDER BY id`, accountID)
	return ws, err
}

// WebhookByID returns webhook id of account.
func (s *Store) WebhookByID(ctx context.Context, accountID, id int64) (*Webhook, error) {
	var w Webhook
	err := s.db.GetContext(ctx, &w, `SELECT `+webhookColumns+` FROM webhooks WHERE id = $1 AND account_id = $2`, id, accountID)
	if err != nil {
		return nil, notFound(err)
	}
	return &w, nil
}

// UpdateWebhook writes w's url, events and enabled; switching it on again
// clears its failure count, and its waiting deliveries go out.
func (s *Store) UpdateWebhook(ctx context.Context, w *Webhook) error {
	err := s.db.QueryRowxContext(ctx, `UPDATE webhooks SET url = $3, events = $4, enabled = $5, updated_at = now(),
			consecutive_failures = CASE WHEN $5 AND NOT enabled THEN 0 ELSE consecutive_failures END,
			disabled_reason = CASE WHEN $5 THEN '' WHEN enabled THEN 'switched off over the API' ELSE disabled_reason END
		WHERE id = $1 AND account_id = $2 RETURNING consecutive_failures, disabled_reason, updated_at`,
		w.ID, w.AccountID, w.URL, w.Events, w.Enabled).Scan(&w.ConsecutiveFailures, &w.DisabledReason, &w.UpdatedAt)
	return notFound(err)
}

// DeleteWebhook removes webhook id of account and its deliveries.
func (s *Store) DeleteWebhook(ctx context.Context, accountID, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM webhooks WHERE id = $1 AND account_id = $2`, id, accountID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// WebhookDelivery is one event's delivery to one webhook.
type WebhookDelivery struct {
	ID            int64      `db:"id" json:"id"`
	WebhookID     int64      `db:"webhook_id" json:"webhook_id"`
	Event         string     `db:"event" json:"event"`
	Payload       []byte     `db:"payload" json:"-"`
	Status        string     `db:"status" json:"status"`
	Attempts      int        `db:"attempts" json:"attempts"`
	LastStatus    int        `db:"last_status" json:"last_http_status"`
	LastError     string     `db:"last_error" json:"last_error"`
	CreatedAt     time.Time  `db:"created_at" json:"created_at"`
	LastAttemptAt *time.Time `db:"last_attempt_at" json:"last_attempt_at"`
	NextAttemptAt time.Time  `db:"next_attempt_at" json:"next_attempt_at"`
	DoneAt        *time.Time `db:"done_at" json:"done_at"`
}

const webhookDeliveryColumns = `id, webhook_id, event, payload, status, attempts, last_status, last_error, created_at, ` +
	`last_attempt_at, next_attempt_at, done_at`

// WebhookDeliveries returns up to limit deliveries of webhook id of
// account, newest first, older than before (0: from the newest).
func (s *Store) WebhookDeliveries(ctx context.Context, accountID, id, before int64, limit int) ([]WebhookDelivery, error) {
	if _, err := s.WebhookByID(ctx, accountID, id); err != nil {
		return nil, err
	}
	ds := []WebhookDelivery{}
	err := s.db.SelectContext(ctx, &ds, `SELECT `+webhookDeliveryColumns+` FROM webhook_deliveries
		WHERE webhook_id = $1 AND ($2 = 0 OR id < $2) ORDER BY id DESC LIMIT $3`, id, before, limit)
	return ds, err
}

// WebhookCall is a claimed delivery with where it goes.
type WebhookCall struct {
	WebhookDelivery
	URL    string `db:"url"`
	Secret string `db:"secret"`
}

// WebhookOutcome is how one call went.
type WebhookOutcome struct {
	HTTPStatus int // 0: no answer
	Err        error
	Permanent  bool // the receiver refused it for good: do not retry
}

// webhookLease is how long a claimed delivery is left alone by other
// backends before it counts as abandoned and is tried again.
const webhookLease = 2 * time.Minute

// DeliverWebhooks claims up to limit due deliveries of enabled webhooks,
// commits the claim (so no row is locked while a receiver answers, and
// other backends skip them), hands them to send, and records each outcome:
// a failure is retried after backoff and counts against its webhook, which
// is switched off at maxFailures consecutive failures; a success resets
// the count. It returns how many it claimed.
func (s *Store) DeliverWebhooks(ctx context.Context, limit int, send func([]WebhookCall) []WebhookOutcome,
	backoff func(attempts int) time.Duration, maxFailures int) (int, error) {
	var calls []WebhookCall
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.SelectContext(ctx, &calls, `SELECT d.id, d.webhook_id, d.event, d.payload, d.status, d.attempts + 1 AS attempts,
				d.last_status, d.last_error, d.created_at, d.last_attempt_at, d.next_attempt_at, d.done_at, w.url, w.secret
			FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
			WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND w.enabled
				-- A failing receiver gets one call at a time, so it is switched
				-- off after exactly the allowed number of failures.
				AND (w.consecutive_failures = 0 OR d.id = (SELECT min(o.id) FROM webhook_deliveries o
					WHERE o.webhook_id = d.webhook_id AND o.status = 'pending' AND o.next_attempt_at <= now()))
			ORDER BY d.next_attempt_at, d.id LIMIT $1 FOR UPDATE OF d SKIP LOCKED`, limit); err != nil {
			return err
		}
		if len(calls) == 0 {
			return nil
		}
		ids := make([]int64, len(calls))
		for i, c := range calls {
			ids[i] = c.ID
		}
		_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, last_attempt_at = now(),
			next_attempt_at = now() + $2::interval WHERE id = ANY($1)`, pq.Array(ids), webhookLease.String())
		return err
	})
	if err != nil || len(calls) == 0 {
		return 0, err
	}
	res := send(calls)
	for i, c := range calls {
		if err := s.webhookOutcome(ctx, c, res[i], backoff, maxFailures); err != nil {
			return len(calls), err
		}
	}
	return len(calls), nil
}

func (s *Store) webhookOutcome(ctx context.Context, c WebhookCall, o WebhookOutcome, backoff func(int) time.Duration, maxFailures int) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if o.Err == nil {
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'delivered', done_at = now(), last_status = $2,
				last_error = '' WHERE id = $1`, c.ID, o.HTTPStatus); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `UPDATE webhooks SET consecutive_failures = 0 WHERE id = $1 AND consecutive_failures <> 0`, c.WebhookID)
			return err
		}
		msg := o.Err.Error()
		if len(msg) > 500 {
			msg = msg[:500]
		}
		var err error
		if o.Permanent {
			_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'failed', done_at = now(), last_status = $2, last_error = $3
				WHERE id = $1`, c.ID, o.HTTPStatus, msg)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET last_status = $2, last_error = $3, next_attempt_at = now() + $4::interval
				WHERE id = $1`, c.ID, o.HTTPStatus, msg, backoff(c.Attempts).String())
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE webhooks SET consecutive_failures = consecutive_failures + 1,
				enabled = enabled AND consecutive_failures + 1 < $2::int,
				disabled_reason = CASE WHEN enabled AND consecutive_failures + 1 >= $2::int
					THEN 'switched off after ' || $2::int::text || ' consecutive failed deliveries; last: ' || $3::text ELSE disabled_reason END
			WHERE id = $1`, c.WebhookID, maxFailures, msg)
		return err
	})
}

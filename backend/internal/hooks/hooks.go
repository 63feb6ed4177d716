// Package hooks delivers accounts' webhooks: each event an account's
// webhook asked for (conversation created, assigned, closed; message
// created; survey answered) is queued by the database in the same
// transaction as the change (store.DeliverWebhooks) and posted, signed
// like every Parley webhook (backend/internal/webhook), retried with backoff until
// the receiver takes it. A webhook whose deliveries fail MaxFailures times
// in a row is switched off; its waiting deliveries go out when an admin
// switches it on again.
package hooks

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/backend/internal/webhook"
)

// Events a webhook may ask for.
var Events = []string{"conversation.created", "conversation.assigned", "conversation.closed", "message.created", "survey.answered"}

// Config shapes the webhook job; zero values take the defaults. Its queue's
// RetryMin and RetryMax come from WEBHOOK_RETRY_MIN and WEBHOOK_RETRY_MAX.
type Config struct {
	webhook.Queue
	// MaxFailures (WEBHOOK_MAX_FAILURES, default 20) consecutive failed
	// deliveries switch a webhook off.
	MaxFailures int
}

// DefaultMaxFailures is MaxFailures' default.
const DefaultMaxFailures = 20

// WithDefaults fills in zero values.
func (c Config) WithDefaults() Config {
	c.Queue = c.Queue.WithDefaults()
	if c.MaxFailures <= 0 {
		c.MaxFailures = DefaultMaxFailures
	}
	return c
}

// Service runs the webhook job.
type Service struct {
	st     *store.Store
	cfg    Config
	log    *slog.Logger
	client *http.Client
}

// New returns the webhook job on st.
func New(st *store.Store, cfg Config) *Service {
	cfg = cfg.WithDefaults()
	return &Service{st: st, cfg: cfg, log: slog.Default(), client: webhook.Client(cfg.Timeout)}
}

// Start runs the job until the returned stop is called; stop waits for a
// batch being sent.
func (s *Service) Start() (stop func()) {
	return s.cfg.Run("hooks", s.DeliverOnce)
}

// DeliverOnce makes the deliveries that are due; it returns how many.
func (s *Service) DeliverOnce(ctx context.Context) (int, error) {
	return s.st.DeliverWebhooks(ctx, s.cfg.Batch, s.send, s.cfg.Backoff, s.cfg.MaxFailures)
}

func (s *Service) send(calls []store.WebhookCall) []store.WebhookOutcome {
	out := make([]store.WebhookOutcome, len(calls))
	for i, c := range calls {
		out[i] = s.call(c)
	}
	return out
}

// Body is a delivery's JSON: the event as queued, with the delivery's id,
// the same on every retry so receivers can drop duplicates.
func Body(c store.WebhookCall) []byte {
	var p map[string]json.RawMessage
	if err := json.Unmarshal(c.Payload, &p); err != nil || p == nil {
		p = map[string]json.RawMessage{}
	}
	p["id"], _ = json.Marshal("whd_" + strconv.FormatInt(c.ID, 10))
	b, _ := json.Marshal(p)
	return b
}

// call makes one signed POST (webhook.Post judges the answer).
func (s *Service) call(c store.WebhookCall) store.WebhookOutcome {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	r := webhook.Post(ctx, s.client, c.URL, c.Secret, http.Header{"User-Agent": {"Parley-Webhook/1"}, "Parley-Event": {c.Event}}, Body(c))
	if r.Err != nil && !r.Permanent {
		s.log.Info("hooks: receiver failed", "webhook", c.WebhookID, "attempt", c.Attempts, "status", r.Status, "err", r.Err)
	}
	return store.WebhookOutcome{HTTPStatus: r.Status, Err: r.Err, Permanent: r.Permanent}
}

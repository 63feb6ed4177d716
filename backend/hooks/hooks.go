// Package hooks delivers accounts' webhooks: each event an account's
// webhook asked for (conversation created, assigned, closed; message
// created; survey answered) is queued by the database in the same
// transaction as the change (store.DeliverWebhooks) and posted, signed
// like every Parley webhook (backend/webhook), retried with backoff until
// the receiver takes it. A webhook whose deliveries fail MaxFailures times
// in a row is switched off; its waiting deliveries go out when an admin
// switches it on again.
package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/parleychat/parley/backend/store"
	"github.com/parleychat/parley/backend/webhook"
)

// Events a webhook may ask for.
var Events = []string{"conversation.created", "conversation.assigned", "conversation.closed", "message.created", "survey.answered"}

// Config shapes the webhook job; zero values take the defaults.
type Config struct {
	// RetryMin and RetryMax (WEBHOOK_RETRY_MIN, default 5s;
	// WEBHOOK_RETRY_MAX, default 10m) bound the backoff between attempts.
	RetryMin, RetryMax time.Duration
	// MaxFailures (WEBHOOK_MAX_FAILURES, default 20) consecutive failed
	// deliveries switch a webhook off.
	MaxFailures int
	PollEvery   time.Duration // how often due deliveries are looked for (default 1s)
	Batch       int           // deliveries claimed at once (default 20)
	Timeout     time.Duration // one call's time limit (default 10s)
}

// Defaults.
const (
	DefaultRetryMin    = 5 * time.Second
	DefaultRetryMax    = 10 * time.Minute
	DefaultMaxFailures = 20
)

// WithDefaults fills in zero values.
func (c Config) WithDefaults() Config {
	if c.RetryMin <= 0 {
		c.RetryMin = DefaultRetryMin
	}
	if c.RetryMax < c.RetryMin {
		c.RetryMax = max(DefaultRetryMax, c.RetryMin)
	}
	if c.MaxFailures <= 0 {
		c.MaxFailures = DefaultMaxFailures
	}
	if c.PollEvery <= 0 {
		c.PollEvery = time.Second
	}
	if c.Batch <= 0 {
		c.Batch = 20
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	return c
}

// FromEnv reads WEBHOOK_RETRY_MIN, WEBHOOK_RETRY_MAX and WEBHOOK_MAX_FAILURES.
func FromEnv() Config {
	var c Config
	dur := func(k string) time.Duration {
		v := os.Getenv(k)
		if v == "" {
			return 0
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			slog.Warn(k+" is not a positive duration; using the default", "value", v)
			return 0
		}
		return d
	}
	c.RetryMin, c.RetryMax = dur("WEBHOOK_RETRY_MIN"), dur("WEBHOOK_RETRY_MAX")
	if v := os.Getenv("WEBHOOK_MAX_FAILURES"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			c.MaxFailures = n
		} else {
			slog.Warn("WEBHOOK_MAX_FAILURES is not a positive number; using the default", "value", v)
		}
	}
	return c.WithDefaults()
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
	return &Service{st: st, cfg: cfg, log: slog.Default(), client: &http.Client{Timeout: cfg.Timeout,
		// A webhook answers; it does not send the call elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Start runs the job until the returned stop is called; stop waits for a
// batch being sent.
func (s *Service) Start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(s.cfg.PollEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			for {
				n, err := s.DeliverOnce(context.WithoutCancel(ctx))
				if err != nil {
					s.log.Warn("hooks: queue", "err", err)
				}
				if err != nil || n < s.cfg.Batch || ctx.Err() != nil {
					break
				}
			}
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}

// DeliverOnce makes the deliveries that are due; it returns how many.
func (s *Service) DeliverOnce(ctx context.Context) (int, error) {
	return s.st.DeliverWebhooks(ctx, s.cfg.Batch, s.send, s.backoff, s.cfg.MaxFailures)
}

// backoff is the wait before attempt n+1: exponential from RetryMin, capped
// at RetryMax, jittered.
func (s *Service) backoff(attempts int) time.Duration {
	d := min(s.cfg.RetryMin<<min(attempts-1, 16), s.cfg.RetryMax)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
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

// call makes one signed POST; a 2xx is delivered, a 4xx other than 408 and
// 429 is permanent (the receiver refuses it), anything else is retried.
func (s *Service) call(c store.WebhookCall) store.WebhookOutcome {
	body := Body(c)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return store.WebhookOutcome{Err: err, Permanent: true}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Parley-Webhook/1")
	req.Header.Set("Parley-Event", c.Event)
	webhook.SetHeaders(req.Header, c.Secret, time.Now(), body)
	res, err := s.client.Do(req)
	if err != nil {
		s.log.Info("hooks: receiver unreachable", "webhook", c.WebhookID, "attempt", c.Attempts, "err", err)
		return store.WebhookOutcome{Err: err}
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		return store.WebhookOutcome{HTTPStatus: res.StatusCode}
	case res.StatusCode >= 400 && res.StatusCode < 500 && res.StatusCode != http.StatusRequestTimeout && res.StatusCode != http.StatusTooManyRequests:
		return store.WebhookOutcome{HTTPStatus: res.StatusCode, Err: fmt.Errorf("the receiver refused the delivery: %s", res.Status), Permanent: true}
	}
	s.log.Info("hooks: receiver failed", "webhook", c.WebhookID, "attempt", c.Attempts, "status", res.Status)
	return store.WebhookOutcome{HTTPStatus: res.StatusCode, Err: fmt.Errorf("the receiver answered %s", res.Status)}
}

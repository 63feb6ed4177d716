// Package push calls accounts' push webhooks: when a team message is
// stored for an app visitor who registered a device push token and whose
// app is not connected (no socket on any backend), the account's server
// gets one signed POST per burst of messages and notifies the device
// through APNs or FCM itself. Calls wait in the database (store.DeliverPushes)
// and are retried with backoff, so a receiver that is down loses nothing.
package push

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/backend/internal/webhook"
)

// Config shapes the push job; zero values take the defaults. Its queue's
// RetryMin and RetryMax come from PUSH_RETRY_MIN and PUSH_RETRY_MAX.
type Config struct {
	webhook.Queue
	// Settle (PUSH_DELAY, default 3s) is how long after a burst's first
	// message the call waits: messages within it go in one call, and an
	// app that connects meanwhile gets none.
	Settle time.Duration
	// MaxAttempts (PUSH_MAX_ATTEMPTS, default 12) gives up.
	MaxAttempts int
}

// Defaults.
const (
	DefaultSettle      = 3 * time.Second
	DefaultMaxAttempts = 12
)

// WithDefaults fills in zero values.
func (c Config) WithDefaults() Config {
	if c.Settle <= 0 {
		c.Settle = DefaultSettle
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.PollEvery <= 0 {
		c.PollEvery = min(c.Settle/3, time.Second) // a burst is called soon after it settles
	}
	c.Queue = c.Queue.WithDefaults()
	return c
}

// Service runs the push job.
type Service struct {
	st     *store.Store
	cfg    Config
	log    *slog.Logger
	client *http.Client
}

// New returns the push job on st.
func New(st *store.Store, cfg Config) *Service {
	cfg = cfg.WithDefaults()
	return &Service{st: st, cfg: cfg, log: slog.Default(), client: webhook.Client(cfg.Timeout)}
}

// Start runs the job until the returned stop is called; stop waits for a
// batch being sent.
func (s *Service) Start() (stop func()) {
	return s.cfg.Run("push", s.DeliverOnce)
}

// DeliverOnce makes the calls that are due; it returns how many it handled.
func (s *Service) DeliverOnce(ctx context.Context) (int, error) {
	return s.st.DeliverPushes(ctx, s.cfg.Batch, s.cfg.Settle, s.send, s.cfg.Backoff, s.cfg.MaxAttempts)
}

// Payload is the JSON body of a push call (README "Push notifications").
type Payload struct {
	Type         string  `json:"type"` // "messages"
	ID           string  `json:"id"`   // the same on every retry of one call: receivers dedupe on it
	Site         string  `json:"site"`
	Chatflow     string  `json:"chatflow"`
	Conversation string  `json:"conversation"`
	Platform     string  `json:"platform"`   // apns | fcm
	PushToken    string  `json:"push_token"` // the device's token
	Messages     int     `json:"messages"`   // team messages in the burst
	FirstSeq     int64   `json:"first_seq"`
	LastSeq      int64   `json:"last_seq"`
	Last         Message `json:"last"` // the burst's newest message
}

// Message is a message of a push call.
type Message struct {
	From string `json:"from"` // agent | bot
	Name string `json:"name"`
	Text string `json:"text"` // at most PreviewRunes characters
	At   string `json:"at"`
}

// PreviewRunes bounds the message text in a call.
const PreviewRunes = 200

func (s *Service) send(calls []store.PushCall) []store.PushOutcome {
	out := make([]store.PushOutcome, len(calls))
	for i, c := range calls {
		out[i] = s.call(c)
	}
	return out
}

// call makes one signed POST (webhook.Post judges the answer).
func (s *Service) call(c store.PushCall) store.PushOutcome {
	text := []rune(c.Text)
	if len(text) > PreviewRunes {
		text = append(text[:PreviewRunes-1], '…')
	}
	p := Payload{Type: "messages", ID: "push_" + strconv.FormatInt(c.ID, 10) + "_" + strconv.FormatInt(c.LastSeq, 10),
		Site: c.Site, Chatflow: c.Chatflow, Conversation: c.Conversation, Platform: c.Platform, PushToken: c.Token,
		Messages: c.Messages, FirstSeq: c.FirstSeq, LastSeq: c.LastSeq,
		Last: Message{From: c.From, Name: c.Name, Text: string(text), At: c.At.UTC().Format(time.RFC3339)}}
	body, _ := json.Marshal(p)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	r := webhook.Post(ctx, s.client, c.URL, c.Secret, http.Header{"User-Agent": {"Parley-Push/1"}}, body)
	if r.Err != nil && !r.Permanent {
		s.log.Info("push: webhook failed", "account", c.AccountID, "attempt", c.Attempts, "status", r.Status, "err", r.Err)
	}
	if r.Err != nil {
		return store.PushOutcome{Err: fmt.Errorf("push: %w", r.Err), Permanent: r.Permanent}
	}
	return store.PushOutcome{}
}

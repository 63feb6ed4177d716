package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/textproto"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/parleychat/parley/backend/internal/store"
)

// Service owns a backend's outbox senders and the jobs that decide what to
// send (replies waiting, for now).
type Service struct {
	st  *store.Store
	cfg Config
	log *slog.Logger

	keyMu sync.Mutex
	key   []byte

	wake chan struct{}

	presence inboxPresence
}

// New returns a Service on st; Start runs it.
func New(st *store.Store, cfg Config) *Service {
	return &Service{st: st, cfg: cfg.WithDefaults(), log: slog.Default(), wake: make(chan struct{}, 1),
		presence: inboxPresence{open: map[int64]int{}, backend: store.NewPublicID("backend")}}
}

// Config returns the settings in use.
func (s *Service) Config() Config { return s.cfg }

// Start runs the senders and the reply job until the returned stop is called;
// stop waits for them (a batch being sent finishes and is recorded).
func (s *Service) Start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	if s.cfg.Host != "" {
		for range s.cfg.Workers {
			wg.Go(func() { s.sender(ctx) })
		}
	} else {
		s.log.Info("mail: SMTP_HOST is not set; emails wait in the outbox")
	}
	wg.Go(func() { s.replyJob(ctx) })
	wg.Go(func() { s.agentJob(ctx) })
	return func() {
		cancel()
		wg.Wait()
	}
}

// Poke tells the senders an email was queued, so it goes out without
// waiting for the next poll.
func (s *Service) Poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// sender delivers due emails until ctx ends: a full batch is followed at
// once by the next, an empty one waits for a poke or the poll interval.
// While this backend's chat path is saturated (appends wait for the
// database), the senders together deliver at most BusyRate emails a
// second: email can wait seconds, a chat message cannot, and on a busy
// machine every email's CPU comes out of the chat's.
func (s *Service) sender(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
		began := time.Now()
		n, err := s.DeliverOnce(context.WithoutCancel(ctx))
		switch {
		case err != nil:
			s.log.Warn("mail: outbox", "err", err)
			t.Reset(s.cfg.PollEvery)
		case n > 0 && s.cfg.BusyRate > 0 && s.st.AppendsWaitedWithin(time.Second):
			// This sender's share of the rate: n emails per Workers/BusyRate seconds.
			t.Reset(max(0, time.Duration(n*s.cfg.Workers)*time.Second/time.Duration(s.cfg.BusyRate)-time.Since(began)))
		case n == s.cfg.Batch:
			t.Reset(0)
		default:
			t.Reset(s.cfg.PollEvery)
		}
	}
}

// DeliverOnce claims one batch of due emails and sends it over one SMTP
// connection, recording each outcome. It returns how many were claimed.
func (s *Service) DeliverOnce(ctx context.Context) (int, error) {
	return s.st.DeliverDue(ctx, s.cfg.Batch, s.sendBatch, s.backoff, s.cfg.MaxAttempts)
}

// backoff is the wait before attempt n+1: exponential from RetryMin, capped
// at RetryMax, with jitter so senders recovering together do not stampede.
func (s *Service) backoff(attempts int) time.Duration {
	d := s.cfg.RetryMin << min(attempts-1, 16)
	d = min(d, s.cfg.RetryMax)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// client builds the SMTP client of the settings.
func (s *Service) client() (*gomail.Client, error) {
	// No NOOP before every message: each batch dials afresh, and a
	// connection that died mid-batch fails at the next command anyway. It
	// saves a round trip per email on both ends.
	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTimeout(s.cfg.Timeout), gomail.WithHELO(s.cfg.domain()),
		gomail.WithoutNoop()}
	switch s.cfg.TLS {
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSConfig(&tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory), gomail.WithTLSConfig(&tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}))
	}
	if s.cfg.User != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(s.cfg.User), gomail.WithPassword(s.cfg.Password))
	}
	return gomail.NewClient(s.cfg.Host, opts...)
}

// sendBatch sends emails over one connection. A connection that cannot be
// made fails them all, temporarily; each message's own refusal is its own.
func (s *Service) sendBatch(emails []store.OutboxEmail) []store.Delivery {
	out := make([]store.Delivery, len(emails))
	msgs := make([]*gomail.Msg, 0, len(emails))
	idx := make([]int, 0, len(emails))
	for i, e := range emails {
		m, err := s.compose(e)
		if err != nil {
			out[i] = store.Delivery{Err: err, Permanent: true}
			continue
		}
		msgs = append(msgs, m)
		idx = append(idx, i)
	}
	if len(msgs) == 0 {
		return out
	}
	c, err := s.client()
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout+time.Duration(len(msgs))*time.Second)
		err = c.DialAndSendWithContext(ctx, msgs...)
		cancel()
	}
	for j, m := range msgs {
		i := idx[j]
		switch {
		case m.HasSendError():
			out[i] = store.Delivery{Err: m.SendError(), Permanent: !m.SendErrorIsTemp() && permanent(m.SendError())}
		case err != nil && !delivered(m, err):
			out[i] = store.Delivery{Err: err}
		}
	}
	return out
}

// delivered tells whether m went out although the batch reported err: go-mail
// marks each message it failed; a dial or handshake error fails them all.
func delivered(m *gomail.Msg, err error) bool {
	var se *gomail.SendError
	if errors.As(err, &se) {
		// Per-message errors are on the messages; one without is sent,
		// unless the connection failed before any message.
		return !m.HasSendError() && se.Reason != gomail.ErrConnCheck && se.Reason != gomail.ErrGetSender
	}
	return false
}

// permanent is a 5xx answer: the server will never take it.
func permanent(err error) bool {
	var se *gomail.SendError
	if errors.As(err, &se) && se.ErrorCode() >= 500 {
		return true
	}
	var te *textproto.Error
	return errors.As(err, &te) && te.Code >= 500
}

// compose turns an outbox row into a message with its fixed Message-ID.
func (s *Service) compose(e store.OutboxEmail) (*gomail.Msg, error) {
	m := gomail.NewMsg()
	name := e.FromName
	if name == "" {
		name = "Parley"
	}
	if err := m.FromFormat(name, s.cfg.From); err != nil {
		return nil, err
	}
	if err := m.To(e.Recipient); err != nil {
		return nil, err
	}
	if e.ReplyTo != "" {
		if err := m.ReplyTo(e.ReplyTo); err != nil {
			return nil, err
		}
	}
	m.SetMessageIDWithValue(strings.Trim(e.MessageID, "<>"))
	m.SetDate()
	m.Subject(e.Subject)
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	m.SetBodyString(gomail.TypeTextPlain, e.TextBody)
	if e.HTMLBody != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, e.HTMLBody)
	}
	return m, nil
}

// NewMessageID returns a fresh Message-ID in angle brackets, on the sender's domain.
func (s *Service) NewMessageID() string {
	return "<" + store.NewPublicID("parley") + "@" + s.cfg.domain() + ">"
}

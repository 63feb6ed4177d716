// Package mail sends Parley's email: a durable outbox in PostgreSQL (rows
// written in the transaction that decided to send them), delivered over
// SMTP by senders on every backend, with retry and backoff and a Message-ID
// fixed per row. It also renders the emails (plain text and HTML, in the
// chatflow's language) and signs the tokens their links carry.
package mail

import (
	"fmt"
	"log/slog"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"time"
)

// TLS modes of the SMTP connection.
const (
	TLSNone     = "none"     // plain SMTP (a local catcher such as Mailpit)
	TLSStartTLS = "starttls" // STARTTLS, required
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
)

// Config is the mail settings. The zero Host turns sending off: emails still
// queue in the outbox and go out once a server is configured.
type Config struct {
	Host     string // SMTP_HOST
	Port     int    // SMTP_PORT, default 587 (25 with TLS none, 465 with tls)
	TLS      string // SMTP_TLS: none, starttls (default) or tls
	User     string // SMTP_USER; empty: no authentication
	Password string // SMTP_PASSWORD
	From     string // MAIL_FROM: the sender address, e.g. chat@example.com

	// ReplyDelay (MAIL_REPLY_DELAY): an agent's reply is emailed once it is
	// this old and the visitor has had no widget socket open for this long
	// (one with the widget open sees it live); the replies still unread then
	// go in one email.
	ReplyDelay time.Duration
	// WaitingAfter (MAIL_AGENT_WAITING_AFTER) is how long an unassigned
	// chat may wait before its inbox's agents hear of it by email.
	WaitingAfter time.Duration
	// PublicURL (PUBLIC_URL) is the inbox's address for links in agents'
	// emails (sign-in, password reset), e.g. https://chat.example.com.
	PublicURL string

	// PerAddress caps what one address receives (per hour by default).
	PerAddress int
	Window     time.Duration
	// ResumeTTL is how long a reopen link works; ReplyTTL how long a reply address does.
	ResumeTTL, ReplyTTL time.Duration

	Workers     int           // concurrent senders per backend
	BusyRate    int           // emails a second the senders deliver while the chat path is saturated (negative: no limit)
	Batch       int           // emails claimed and sent over one connection
	PollEvery   time.Duration // how often idle senders look for due email
	MaxAttempts int           // attempts before an email is given up
	RetryMin    time.Duration // the first retry's wait; each next one doubles (capped at RetryMax)
	RetryMax    time.Duration
	Timeout     time.Duration // one SMTP conversation
}

// Defaults for the settings without an environment variable.
const (
	DefaultReplyDelay  = 2 * time.Minute
	DefaultWaiting     = 5 * time.Minute
	DefaultPerAddress  = 10
	DefaultWindow      = time.Hour
	DefaultResumeTTL   = 14 * 24 * time.Hour
	DefaultReplyTTL    = 90 * 24 * time.Hour
	DefaultWorkers     = 4
	DefaultBusyRate    = 25
	DefaultBatch       = 50
	DefaultPollEvery   = time.Second
	DefaultMaxAttempts = 12
	DefaultTimeout     = 30 * time.Second
	DefaultRetryMin    = 5 * time.Second
	DefaultRetryMax    = time.Hour
)

// FromEnv reads the settings from the environment.
func FromEnv() Config {
	c := Config{
		Host:      os.Getenv("SMTP_HOST"),
		TLS:       strings.ToLower(envOr("SMTP_TLS", TLSStartTLS)),
		User:      os.Getenv("SMTP_USER"),
		Password:  os.Getenv("SMTP_PASSWORD"),
		From:      os.Getenv("MAIL_FROM"),
		PublicURL: strings.TrimRight(os.Getenv("PUBLIC_URL"), "/"),
	}
	if p, err := strconv.Atoi(os.Getenv("SMTP_PORT")); err == nil {
		c.Port = p
	}
	if v := os.Getenv("MAIL_REPLY_DELAY"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d >= 0 {
			c.ReplyDelay = d
		} else {
			slog.Warn("MAIL_REPLY_DELAY is not a duration; using the default", "value", v)
		}
	}
	if v := os.Getenv("MAIL_AGENT_WAITING_AFTER"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			c.WaitingAfter = d
		} else {
			slog.Warn("MAIL_AGENT_WAITING_AFTER is not a duration; using the default", "value", v)
		}
	}
	return c.WithDefaults()
}

// WithDefaults fills every unset setting.
func (c Config) WithDefaults() Config {
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if c.Port == 0 {
		switch c.TLS {
		case TLSNone:
			c.Port = 25
		case TLSImplicit:
			c.Port = 465
		default:
			c.Port = 587
		}
	}
	if c.From == "" {
		c.From = "parley@localhost"
	}
	if c.ReplyDelay == 0 {
		c.ReplyDelay = DefaultReplyDelay
	}
	if c.WaitingAfter == 0 {
		c.WaitingAfter = DefaultWaiting
	}
	if c.PerAddress == 0 {
		c.PerAddress = DefaultPerAddress
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.ResumeTTL == 0 {
		c.ResumeTTL = DefaultResumeTTL
	}
	if c.ReplyTTL == 0 {
		c.ReplyTTL = DefaultReplyTTL
	}
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
	if c.BusyRate == 0 {
		c.BusyRate = DefaultBusyRate
	}
	if c.Batch == 0 {
		c.Batch = DefaultBatch
	}
	if c.PollEvery == 0 {
		c.PollEvery = DefaultPollEvery
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.RetryMin == 0 {
		c.RetryMin = DefaultRetryMin
	}
	if c.RetryMax == 0 {
		c.RetryMax = DefaultRetryMax
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Validate reports a setting that cannot work.
func (c Config) Validate() error {
	switch c.TLS {
	case TLSNone, TLSStartTLS, TLSImplicit:
	default:
		return fmt.Errorf("SMTP_TLS must be none, starttls or tls, not %q", c.TLS)
	}
	if c.Port <= 0 || c.Port > 65535 {
		return fmt.Errorf("SMTP_PORT %d is not a port", c.Port)
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return fmt.Errorf("MAIL_FROM %q is not an address: %v", c.From, err)
	}
	return nil
}

// domain is the host part of From, for Message-IDs.
func (c Config) domain() string {
	if i := strings.LastIndexByte(c.From, '@'); i >= 0 {
		return strings.Trim(c.From[i+1:], "> ")
	}
	return "localhost"
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

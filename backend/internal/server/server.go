// Package server assembles the backend: the admin REST API, the agent inbox
// and the conversation engine behind one gin router on one database.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/backend/internal/api"
	"github.com/parleychat/parley/backend/internal/chat"
	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/backend/internal/hooks"
	"github.com/parleychat/parley/backend/internal/housekeeping"
	"github.com/parleychat/parley/backend/internal/inbox"
	"github.com/parleychat/parley/backend/internal/mail"
	"github.com/parleychat/parley/backend/internal/mailin"
	"github.com/parleychat/parley/backend/internal/presence"
	"github.com/parleychat/parley/backend/internal/proxies"
	"github.com/parleychat/parley/backend/internal/push"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/backend/internal/webhook"
	"github.com/parleychat/parley/internal/link"
	"github.com/parleychat/parley/internal/version"
	"github.com/parleychat/parley/migrations"
)

// Config is the backend's configuration, read from the environment by FromEnv.
type Config struct {
	DatabaseURL string // DATABASE_URL
	// BusURL (BUS_URL) carries notices between backends over NATS
	// ("nats://host:4222", cluster nodes separated by commas); empty uses
	// PostgreSQL's LISTEN/NOTIFY on the database.
	BusURL string
	Addr   string // BACKEND_ADDR, default 127.0.0.1:8081
	// Socket (BACKEND_SOCKET) is a Unix socket the backend listens on as
	// well, for an edge on the same machine (localsock); empty for none.
	Socket        string
	LinkSecret    string // LINK_SECRET: edges and /internal endpoints
	SecureCookies bool   // SECURE_COOKIES=1: always Secure cookies (HTTPS requests get them anyway)
	// TrustedProxies (BACKEND_TRUSTED_PROXIES) lists the proxies whose
	// X-Forwarded-* headers are believed: IPs or CIDR ranges, comma
	// separated; "" is proxies.DefaultTrusted (loopback), "none" trusts none.
	TrustedProxies string
	MaxDBConns     int  // DB_MAX_CONNS, default 80
	Migrate        bool // MIGRATE_ON_START, default true
	// BACKEND_HOUSEKEEPING_EVERY, default housekeeping.DefaultEvery; 0 turns it off.
	HousekeepingEvery time.Duration
	// SilentVisitorAge (BACKEND_SILENT_VISITOR_AGE, default
	// housekeeping.DefaultSilentVisitorAge): visitors that never sent
	// anything are deleted this long after they were last seen.
	SilentVisitorAge time.Duration
	// Per-process visitor limits (chat.Config): CHAT_MAX_SOCKETS_PER_VISITOR,
	// CHAT_NEW_VISITORS_PER_ADDRESS per CHAT_NEW_VISITORS_WINDOW; 0 takes the defaults.
	MaxSocketsPerVisitor  int
	NewVisitorsPerAddress int
	NewVisitorsWindow     time.Duration
	// Mail is the outgoing email settings (SMTP_*, MAIL_*).
	Mail mail.Config
	// MailIn is the server taking visitors' replies by email (MAIL_IN_*).
	MailIn mailin.Config
	// Push is the push webhook job (PUSH_*).
	Push push.Config
	// Webhooks is the account webhook job (WEBHOOK_*).
	Webhooks hooks.Config
	// PUBLIC_URL: the edge's public address (https://chat.example.com) for
	// the setup link, script tags and invitation links; empty uses the
	// address each request came to.
	PublicURL string
	// ImageMaxBytes (BRAND_IMAGE_MAX_BYTES) caps an uploaded brand image;
	// 0 is api.DefaultImageMaxBytes.
	ImageMaxBytes int
	// AgentAwayAfter (AGENT_AWAY_AFTER, default presence.DefaultAwayAfter):
	// an available agent with no inbox page open this long turns away.
	AgentAwayAfter time.Duration
	// MetricsAddr (BACKEND_METRICS_ADDR) is where /metrics and /readyz are
	// served, apart from the public address; "off" turns metrics off.
	MetricsAddr string
}

// DefaultMetricsAddr is BACKEND_METRICS_ADDR's default: loopback only.
const DefaultMetricsAddr = "127.0.0.1:9181"

// FromEnv reads Config from environment variables.
func FromEnv() Config {
	c := Config{
		DatabaseURL:    os.Getenv("DATABASE_URL"),
		BusURL:         os.Getenv("BUS_URL"),
		Addr:           envOr("BACKEND_ADDR", "127.0.0.1:8081"),
		Socket:         os.Getenv("BACKEND_SOCKET"),
		LinkSecret:     os.Getenv("LINK_SECRET"),
		SecureCookies:  os.Getenv("SECURE_COOKIES") == "1",
		TrustedProxies: os.Getenv("BACKEND_TRUSTED_PROXIES"),
		MaxDBConns:     80,
		Migrate:        os.Getenv("MIGRATE_ON_START") != "0",
		PublicURL:      os.Getenv("PUBLIC_URL"),
		MetricsAddr:    envOr("BACKEND_METRICS_ADDR", DefaultMetricsAddr),
	}
	if n, err := strconv.Atoi(os.Getenv("DB_MAX_CONNS")); err == nil && n > 0 {
		c.MaxDBConns = n
	}
	c.MaxSocketsPerVisitor = envInt("CHAT_MAX_SOCKETS_PER_VISITOR")
	c.NewVisitorsPerAddress = envInt("CHAT_NEW_VISITORS_PER_ADDRESS")
	c.NewVisitorsWindow = envDuration("CHAT_NEW_VISITORS_WINDOW")
	c.SilentVisitorAge = envDuration("BACKEND_SILENT_VISITOR_AGE")
	c.ImageMaxBytes = envInt("BRAND_IMAGE_MAX_BYTES")
	c.AgentAwayAfter = envDuration("AGENT_AWAY_AFTER")
	c.Mail = mail.FromEnv()
	c.MailIn = mailin.FromEnv()
	c.Push = push.Config{Settle: envDuration("PUSH_DELAY"), MaxAttempts: envInt("PUSH_MAX_ATTEMPTS"),
		Queue: webhook.Queue{RetryMin: envDuration("PUSH_RETRY_MIN"), RetryMax: envDuration("PUSH_RETRY_MAX")}}.WithDefaults()
	c.Webhooks = hooks.Config{MaxFailures: envInt("WEBHOOK_MAX_FAILURES"),
		Queue: webhook.Queue{RetryMin: envDuration("WEBHOOK_RETRY_MIN"), RetryMax: envDuration("WEBHOOK_RETRY_MAX")}}.WithDefaults()
	c.HousekeepingEvery = housekeeping.DefaultEvery
	if v := os.Getenv("BACKEND_HOUSEKEEPING_EVERY"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d >= 0 {
			c.HousekeepingEvery = d
		} else {
			slog.Warn("BACKEND_HOUSEKEEPING_EVERY is not a duration; using the default", "value", v, "default", c.HousekeepingEvery)
		}
	}
	return c
}

// envInt reads a positive integer setting; anything else is 0 (the default), with a warning.
func envInt(k string) int {
	v := os.Getenv(k)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		slog.Warn(k+" is not a positive number; using the default", "value", v)
		return 0
	}
	return n
}

// envDuration reads a positive Go duration setting; anything else is 0 (the default), with a warning.
func envDuration(k string) time.Duration {
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

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// Server is a running backend's parts.
type Server struct {
	DB      *sqlx.DB
	Store   *store.Store
	Bus     *events.Bus
	Handler http.Handler

	Mail *mail.Service
	// Engine runs the visitor sessions of the linked edges.
	Engine *chat.Engine
	// Metrics holds the backend's metrics, for a listener of their own
	// (metrics.Serve), never the public router.
	Metrics *prometheus.Registry

	stopping atomic.Bool // Close has begun: /readyz answers 503

	stopHousekeeping func()
	stopMail         func()
	stopPush         func()
	stopWebhooks     func()
	stopPresence     func()
	stopMailIn       func()
}

// New connects to the database (migrating it if asked) and builds the router.
// A database that is down at start is waited for, not fatal.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DatabaseURL == "" {
		return nil, errors.New("server: DATABASE_URL is not set")
	}
	if cfg.LinkSecret == "" {
		slog.Warn("LINK_SECRET is empty: edges cannot connect")
	}
	if cfg.Mail.Host != "" {
		if err := cfg.Mail.WithDefaults().Validate(); err != nil {
			return nil, err
		}
	}
	if cfg.TrustedProxies == "" {
		cfg.TrustedProxies = proxies.DefaultTrusted
	}
	trusted, err := proxies.Parse(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("server: BACKEND_TRUSTED_PROXIES: %w", err)
	}
	db, err := sqlx.Open("postgres", cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(cfg.MaxDBConns)
	db.SetMaxIdleConns(cfg.MaxDBConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if cfg.Migrate {
		if err := migrateWhenReady(ctx, db); err != nil {
			return nil, err
		}
	}
	bus, err := events.Open(cfg.DatabaseURL, cfg.BusURL)
	if err != nil {
		return nil, err
	}
	st := store.New(db)
	st.SetNotifier(bus.Send)

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// A handler's gin.Context is its request's context: when the client goes
	// away, the queries the handler runs with it are cancelled and their
	// connections go back to the pool instead of waiting out a lock.
	r.ContextWithFallback = true
	s := &Server{DB: db, Store: st, Bus: bus}
	reg, httpMetrics := newRegistry(s)
	s.Metrics = reg
	r.Use(observe(httpMetrics), gin.Recovery(), proxies.SecurityHeaders)
	r.GET("/healthz", func(c *gin.Context) {
		if err := st.Ping(c); err != nil {
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "database unavailable", "version": version.Version})
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ok", "version": version.Version})
	})
	r.GET("/readyz", s.readyz)
	mailer := mail.New(st, cfg.Mail)
	engine := chat.New(st, bus, chat.Config{LinkSecret: cfg.LinkSecret, Mailer: mailer,
		MaxSocketsPerVisitor: cfg.MaxSocketsPerVisitor, NewVisitorsPerAddress: cfg.NewVisitorsPerAddress, NewVisitorsWindow: cfg.NewVisitorsWindow})
	r.GET(link.Path, gin.WrapH(engine.LinkHandler()))
	r.Any(chat.AttachmentPath, gin.WrapH(engine.AttachmentHandler()))
	r.Any(chat.AttachmentPath+"/:id", gin.WrapH(engine.AttachmentHandler()))
	rest := api.New(st, cfg.LinkSecret)
	rest.PublicURL = cfg.PublicURL
	rest.ImageMaxBytes = int64(cfg.ImageMaxBytes)
	rest.Mail = mailer
	tracker := presence.New(st, presence.Config{AwayAfter: cfg.AgentAwayAfter})
	inbox.New(st, bus, inbox.Config{SecureCookies: cfg.SecureCookies, PublicURL: cfg.PublicURL, Mail: mailer, REST: rest.Local(),
		Presence: tracker}).Register(r)
	rest.Register(r)
	stopHousekeeping := func() {}
	if cfg.HousekeepingEvery > 0 {
		stopHousekeeping = housekeeping.New(st, housekeeping.Config{Every: cfg.HousekeepingEvery, SilentVisitorAge: cfg.SilentVisitorAge}).Start()
	}
	handler, err := trusted.Wrap(r)
	if err != nil {
		stopHousekeeping()
		bus.Close()
		db.Close()
		return nil, err
	}
	stopMailIn := func() {}
	if cfg.MailIn.Addr != "" {
		if stopMailIn, err = mailin.New(st, mailer, cfg.MailIn).Start(); err != nil {
			stopHousekeeping()
			bus.Close()
			db.Close()
			return nil, err
		}
	}
	s.Handler, s.Mail, s.Engine, s.stopHousekeeping, s.stopMail, s.stopMailIn = handler, mailer, engine, stopHousekeeping, mailer.Start(), stopMailIn
	s.stopPush = push.New(st, cfg.Push).Start()
	s.stopWebhooks = hooks.New(st, cfg.Webhooks).Start()
	s.stopPresence = tracker.Start()
	return s, nil
}

// migrateWhenReady applies migrations, retrying while the database is starting.
func migrateWhenReady(ctx context.Context, db *sqlx.DB) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		ran, err := migrations.Apply(ctx, db.DB)
		if err == nil {
			for _, name := range ran {
				slog.Info("migrated", "migration", name)
			}
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		slog.Warn("database not ready; retrying", "err", err)
		time.Sleep(time.Second)
	}
}

// Close stops the backend's work in order, for a deploy: the chat engine
// drops its links (edges close their visitors, who reconnect and resend
// what was not acknowledged) and waits for their sessions; appends already
// handed to the store are committed (up to appendsWait); then the jobs, the
// listener and the database go. Stop the HTTP server first, so no request
// starts meanwhile.
func (s *Server) Close() {
	s.stopping.Store(true)
	if s.stopMailIn != nil {
		s.stopMailIn() // no more replies by email: they append too
	}
	if s.Engine != nil {
		s.Engine.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), appendsWait)
	defer cancel()
	if err := s.Store.WaitAppends(ctx); err != nil {
		slog.Warn("backend stopping with appends unfinished", "err", err)
	}
	if s.stopHousekeeping != nil {
		s.stopHousekeeping()
	}
	if s.stopPresence != nil {
		s.stopPresence() // this backend's inbox sockets are gone
	}
	if s.stopWebhooks != nil {
		s.stopWebhooks()
	}
	if s.stopPush != nil {
		s.stopPush()
	}
	if s.stopMail != nil {
		s.stopMail()
	}
	s.Bus.Close()
	s.DB.Close()
}

// appendsWait bounds how long Close waits for appends in flight (a batch
// statement has its own limit; commits take milliseconds).
const appendsWait = 10 * time.Second

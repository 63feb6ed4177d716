// Package chat is the backend's conversation engine: the backend end of the
// edge links, speaking the visitor protocol of package widget for every
// visitor socket an edge carries, and fanning conversation events out to
// those sockets from the event bus.
package chat

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// Config holds the engine's settings; zero values take the defaults.
type Config struct {
	// LinkSecret authorises edges: they send "Authorization: Bearer <LinkSecret>".
	// An empty secret refuses every link.
	LinkSecret string
	// MaxTextRunes limits a visitor message's text (default widget.MaxTextRunes).
	MaxTextRunes int
	// MaxIDLen limits a client message id in bytes (default 64).
	MaxIDLen int
	// MaxFrameBytes is the largest visitor frame accepted on a link
	// (default widget.MaxFrameBytes); the edge enforces it first.
	MaxFrameBytes int
	// LinkQueue is how many envelopes may wait for a link's writer (default 1024).
	LinkQueue int
	// SessionQueue is how many frames may wait for one session (default 64);
	// beyond it frames are refused with rate_limited.
	SessionQueue int
	// ReplayBatch is how many messages one catch-up read fetches (default 200).
	ReplayBatch int
	// DBTimeout bounds every database call for a frame (default 5s).
	DBTimeout time.Duration
	// WriteTimeout bounds one write to a link (default 10s); a stuck link is dropped.
	WriteTimeout time.Duration
	// RetryAfter is how soon a failed catch-up read is retried (default 1s).
	RetryAfter time.Duration
	// TypingEvery is the least time between two typing notices of one
	// visitor session (default 2s); typing frames in between are dropped.
	TypingEvery time.Duration
	// PresenceEvery is how often an account's presence is recomputed while
	// it has sessions (default 30s), for changes no notice announces
	// (office hours starting or ending). Changes of agents' status come at
	// once as events.KindPresence notices.
	PresenceEvery time.Duration
	// Presence computes a chatflow's availability in a language it speaks
	// (default availability.Compute).
	Presence PresenceFunc
	// Mailer sends the chat's email (reopen links, transcripts, offline
	// confirmations); nil: none.
	Mailer Mailer
	// MaxAttachmentBytes is the largest file a visitor may upload
	// (default DefaultMaxAttachmentBytes, 10 MiB).
	MaxAttachmentBytes int64
	// AttachmentTypes are the MIME types a visitor may upload, judged by
	// content (default DefaultAttachmentTypes).
	AttachmentTypes []string
	// MaxSocketsPerVisitor bounds the sockets one visitor token holds on
	// this backend (default DefaultMaxSocketsPerVisitor); one more is
	// refused with too_many_sockets.
	MaxSocketsPerVisitor int
	// NewVisitorsPerAddress bounds the new visitors one client address
	// makes on this backend per NewVisitorsWindow (defaults
	// DefaultNewVisitorsPerAddress, DefaultNewVisitorsWindow); one more
	// hello without a token is refused with too_many_visitors.
	NewVisitorsPerAddress int
	NewVisitorsWindow     time.Duration
	// Logger receives operational messages (default slog.Default()).
	Logger *slog.Logger
}

func (c *Config) defaults() {
	if c.MaxTextRunes <= 0 {
		c.MaxTextRunes = widget.MaxTextRunes
	}
	if c.MaxIDLen <= 0 {
		c.MaxIDLen = 64
	}
	if c.MaxFrameBytes <= 0 {
		c.MaxFrameBytes = widget.MaxFrameBytes
	}
	if c.LinkQueue <= 0 {
		c.LinkQueue = 1024
	}
	if c.SessionQueue <= 0 {
		c.SessionQueue = 64
	}
	if c.ReplayBatch <= 0 {
		c.ReplayBatch = 200
	}
	if c.DBTimeout <= 0 {
		c.DBTimeout = 5 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = time.Second
	}
	if c.TypingEvery <= 0 {
		c.TypingEvery = 2 * time.Second
	}
	if c.PresenceEvery <= 0 {
		c.PresenceEvery = 30 * time.Second
	}
	if c.MaxSocketsPerVisitor <= 0 {
		c.MaxSocketsPerVisitor = DefaultMaxSocketsPerVisitor
	}
	if c.NewVisitorsPerAddress <= 0 {
		c.NewVisitorsPerAddress = DefaultNewVisitorsPerAddress
	}
	if c.NewVisitorsWindow <= 0 {
		c.NewVisitorsWindow = DefaultNewVisitorsWindow
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Engine runs visitor sessions for the edges linked to this backend.
type Engine struct {
	st  *store.Store
	bus *events.Bus
	cfg Config
	log *slog.Logger

	// ctx ends every link when the engine closes.
	ctx  context.Context
	stop context.CancelFunc

	limits limits  // sockets per visitor, new visitors per address (limits.go)
	online *online // which visitors have a socket here, for the database (online.go)

	mu    sync.Mutex
	hubs  map[int64]*hub // by account
	links sync.WaitGroup // running link handlers; Add under mu

	flows flowCache // chatflow settings the sessions share (flowcache.go)

	rerouteMu sync.Mutex
	rerouting map[int64]bool // accounts with a routeAgain pass running → one more wanted
}

// New returns an engine storing in st and following bus. A nil bus disables
// live fan-out (sessions still get what they missed on every hello and send).
func New(st *store.Store, bus *events.Bus, cfg Config) *Engine {
	cfg.defaults()
	e := &Engine{st: st, bus: bus, cfg: cfg, log: cfg.Logger, hubs: map[int64]*hub{}}
	e.ctx, e.stop = context.WithCancel(context.Background())
	e.online = newOnline(st, e.log, &e.limits)
	go e.online.run(e.ctx)
	return e
}

// Close drops every link (edges close their visitors with 1013 and reconnect,
// to another backend if there is one) and waits, up to closeWait, until
// their sessions have ended. The engine accepts no links afterwards.
// Appends a session had handed to the store may still be committing: the
// store's WaitAppends waits for those.
func (e *Engine) Close() {
	e.mu.Lock()
	e.stop()
	e.mu.Unlock()
	done := make(chan struct{})
	go func() { e.links.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(closeWait):
		e.log.Warn("chat: links still open after closing the engine", "waited", closeWait)
	}
}

// closeWait bounds how long Close waits for the links' sessions to end
// (each ends at its next step once its link's context is cancelled).
const closeWait = 10 * time.Second

// linkStarted counts a new link unless the engine has closed.
func (e *Engine) linkStarted() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx.Err() != nil {
		return false
	}
	e.links.Add(1)
	return true
}

// hub fans one account's bus notices out to its sessions: one subscription
// per account per engine, not per visitor. Every welcomed session belongs
// to its account's hub (for presence); one that follows a conversation is
// also listed under it (for messages, typing and receipts).
type hub struct {
	account  int64
	sub      *events.Subscription
	done     chan struct{}
	all      map[*session]struct{}           // guarded by Engine.mu
	sessions map[int64]map[*session]struct{} // by conversation id; guarded by Engine.mu
}

// join makes s a member of account's hub, starting the hub with its first
// session. flow is the public id of the session's chatflow, whose presence
// it is told in lang (the hello's language, as far as the chatflow speaks it).
func (e *Engine) join(s *session, account int64, flow, lang string) {
	if e.bus == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.leaveLocked(s)
	h := e.hubs[account]
	if h == nil {
		h = &hub{account: account, sub: e.bus.SubscribeBuffered(account, events.WholeAccountBuffer), done: make(chan struct{}),
			all: map[*session]struct{}{}, sessions: map[int64]map[*session]struct{}{}}
		h.sub.SkipInternal()
		e.hubs[account] = h
		go e.runHub(h)
	}
	h.all[s] = struct{}{}
	s.hubAccount, s.flowPublicID, s.helloLang = account, flow, lang
}

// follow makes s receive the notices of conversation conv (s has joined
// its account's hub). A session follows at most one conversation;
// following another leaves the first.
func (e *Engine) follow(s *session, conv int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.unfollowLocked(s)
	h := e.hubs[s.hubAccount]
	if h == nil || s.hubAccount == 0 {
		return
	}
	if h.sessions[conv] == nil {
		h.sessions[conv] = map[*session]struct{}{}
	}
	h.sessions[conv][s] = struct{}{}
	s.followConv = conv
}

// unfollow stops s's conversation notices; it stays in the hub for presence.
func (e *Engine) unfollow(s *session) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.unfollowLocked(s)
}

func (e *Engine) unfollowLocked(s *session) {
	if s.followConv == 0 {
		return
	}
	if h := e.hubs[s.hubAccount]; h != nil {
		if m := h.sessions[s.followConv]; m != nil {
			delete(m, s)
			if len(m) == 0 {
				delete(h.sessions, s.followConv)
			}
		}
	}
	s.followConv = 0
}

// leave takes s out of its hub; the account's subscription ends with its last session.
func (e *Engine) leave(s *session) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.leaveLocked(s)
}

func (e *Engine) leaveLocked(s *session) {
	e.unfollowLocked(s)
	h := e.hubs[s.hubAccount]
	s.hubAccount, s.flowPublicID = 0, ""
	if h == nil {
		return
	}
	delete(h.all, s)
	if len(h.all) == 0 {
		h.sub.Close()
		close(h.done)
		delete(e.hubs, h.account)
	}
}

// hubResyncEvery spaces an account's resyncs after dropped notices: one at
// once, the next when this has passed, whatever was dropped meanwhile. A
// burst of new chats can overflow the hub's subscription again and again,
// and each resync has every session of the account re-read.
const hubResyncEvery = time.Second

func (e *Engine) runHub(h *hub) {
	tick := time.NewTicker(e.cfg.PresenceEvery)
	defer tick.Stop()
	pace := events.Pacer{Every: hubResyncEvery}
	defer pace.Stop()
	// Notices were dropped: every session re-reads; reads are by seq, so
	// nothing doubles. Presence may have changed too.
	resync := func() {
		e.mu.Lock()
		for s := range h.all {
			s.resync()
		}
		e.mu.Unlock()
		e.refreshPresence(h)
	}
	for {
		select {
		case <-h.done:
			return
		case <-tick.C:
			e.refreshPresence(h)
		case <-pace.C():
			pace.Fired()
			resync()
		case n := <-h.sub.C:
			if h.sub.Missed() && pace.Now() {
				resync()
				continue
			}
			// A re-read to come (pace.C) or none needed: n is handed on.
			switch n.Kind {
			case events.KindPresence:
				e.refreshPresence(h)
			case events.KindTyping, events.KindRead, events.KindViewing, events.KindVisitor:
				e.mu.Lock()
				for s := range h.sessions[n.Conversation] {
					s.deliver(n)
				}
				e.mu.Unlock()
			default:
				e.mu.Lock()
				for s := range h.sessions[n.Conversation] {
					if n.Kind == events.KindMessage && n.Seq != 0 && (n.Seq <= s.pushed.Load() || s.echoes(n)) {
						continue // already pushed, or about to be (the session echoes its own messages)
					}
					s.poke()
					if n.Kind == events.KindConversation {
						s.deliver(n) // a close may bring a survey (survey.go)
					}
				}
				e.mu.Unlock()
			}
		}
	}
}

// Package presence makes an agent's availability follow them: an
// available agent with no inbox page open anywhere for AwayAfter turns
// away, and back to available when they open one again (unless they chose
// away themselves); signing out makes them offline (the inbox calls
// store.SignedOut). The status lives in the database (users.status, what
// routing and the widgets read; users.chosen_status keeps the agent's own
// choice apart), so every backend agrees, and each change is announced so
// routing and the widgets follow within seconds.
//
// Each backend counts the inbox sockets it holds per agent (Opened) and
// writes their first opening and last closing to agent_sockets, with a
// heartbeat that vouches for the open ones: a backend that crashes stops
// vouching, and its agents' pages stop counting. Every backend also runs
// the sweep that turns idle agents away; it is one idempotent UPDATE, so
// several backends running it at once do no harm.
package presence

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/parleychat/parley/backend/internal/routing"
	"github.com/parleychat/parley/backend/internal/store"
)

// DefaultAwayAfter is how long an available agent may have no inbox page
// open before they turn away (AGENT_AWAY_AFTER).
const DefaultAwayAfter = 2 * time.Minute

// Config holds the tracker's settings; zero values take the defaults.
type Config struct {
	// AwayAfter: an available agent with no inbox page open this long
	// turns away (default DefaultAwayAfter).
	AwayAfter time.Duration
	// Logger receives operational messages (default slog.Default()).
	Logger *slog.Logger
}

// Tracker is one backend's part: its agents' inbox sockets, and the sweep.
type Tracker struct {
	st      *store.Store
	cfg     Config
	log     *slog.Logger
	backend string

	mu      sync.Mutex
	open    map[int64]int // inbox sockets per agent on this backend
	changed map[int64]struct{}
	full    bool // send every open agent, not only the changes
	wake    chan struct{}
}

// New returns a tracker writing to st; Start runs it.
func New(st *store.Store, cfg Config) *Tracker {
	if cfg.AwayAfter <= 0 {
		cfg.AwayAfter = DefaultAwayAfter
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Tracker{st: st, cfg: cfg, log: cfg.Logger, backend: store.NewPublicID("backend"),
		open: map[int64]int{}, changed: map[int64]struct{}{}, full: true, wake: make(chan struct{}, 1)}
}

// Opened records that an inbox page of userID opened its live socket on
// this backend; call the returned function when it closes. The database
// learns of an agent's first socket and last close at once.
func (t *Tracker) Opened(userID int64) (closed func()) {
	t.mu.Lock()
	t.open[userID]++
	first := t.open[userID] == 1
	if first {
		t.changed[userID] = struct{}{}
	}
	t.mu.Unlock()
	if first {
		t.poke()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			t.open[userID]--
			last := t.open[userID] <= 0
			if last {
				delete(t.open, userID)
				t.changed[userID] = struct{}{}
			}
			t.mu.Unlock()
			if last {
				t.poke()
			}
		})
	}
}

func (t *Tracker) poke() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Start runs the writer and the sweep until the returned stop is called;
// stop marks this backend's sockets left (its pages reconnect elsewhere).
func (t *Tracker) Start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); t.run(ctx) }()
	return func() { cancel(); <-done }
}

// sweepEvery is how often idle agents are looked for: a tenth of the away
// time, within bounds, so the change comes within seconds of it.
func (t *Tracker) sweepEvery() time.Duration {
	return min(max(t.cfg.AwayAfter/10, 200*time.Millisecond), 5*time.Second)
}

func (t *Tracker) run(ctx context.Context) {
	beat := time.NewTicker(store.VisitorSocketsFresh / 3)
	defer beat.Stop()
	sweep := time.NewTicker(t.sweepEvery())
	defer sweep.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := t.st.LeaveAgentSockets(c, t.backend); err != nil {
				t.log.Warn("presence: agent sockets", "err", err)
			}
			cancel()
			return
		case <-sweep.C:
			t.sweepOnce()
			continue
		case <-prune.C:
			c, cancel := context.WithTimeout(context.Background(), time.Minute)
			if err := t.st.PruneAgentSockets(c); err != nil {
				t.log.Warn("presence: prune agent sockets", "err", err)
			}
			cancel()
			continue
		case <-t.wake:
		case <-beat.C:
		}
		t.flush()
	}
}

// sweepOnce turns idle agents away.
func (t *Tracker) sweepOnce() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	away, err := t.st.AwayIdleAgents(ctx, t.cfg.AwayAfter)
	if err != nil {
		t.log.Warn("presence: away", "err", err)
		return
	}
	for _, a := range away {
		t.log.Info("presence: agent away, no inbox page open", "user", a.UserID, "after", t.cfg.AwayAfter)
	}
}

// flush writes what changed since the last write, and the heartbeat.
func (t *Tracker) flush() {
	t.mu.Lock()
	changed, full := t.changed, t.full
	t.changed, t.full = map[int64]struct{}{}, false
	var open, left []int64
	if full {
		for id := range t.open {
			open = append(open, id)
		}
	} else {
		for id := range changed {
			if t.open[id] > 0 {
				open = append(open, id)
			} else {
				left = append(left, id)
			}
		}
	}
	t.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	back, known, err := t.st.SyncAgentSockets(ctx, t.backend, open, left, full)
	if err != nil {
		t.log.Warn("presence: agent sockets", "err", err)
		t.mu.Lock()
		for id := range changed {
			t.changed[id] = struct{}{}
		}
		t.full = t.full || full
		t.mu.Unlock()
		time.AfterFunc(time.Second, t.poke)
		return
	}
	if !known && !full {
		// The database had forgotten this backend: tell it everything again.
		t.mu.Lock()
		t.full = true
		t.mu.Unlock()
		t.poke()
	}
	RouteReturned(ctx, t.st, t.log, back)
}

// RouteReturned gives waiting conversations to the agents among back who
// are available again.
func RouteReturned(ctx context.Context, st *store.Store, log *slog.Logger, back []store.Changed) {
	done := map[int64]bool{}
	for _, b := range back {
		if b.Status != store.UserAvailable || done[b.AccountID] {
			continue
		}
		done[b.AccountID] = true
		if _, err := routing.RouteWaiting(ctx, st, b.AccountID); err != nil {
			log.Warn("presence: route waiting", "account", b.AccountID, "err", err)
		}
	}
}

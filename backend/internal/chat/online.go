package chat

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/parleychat/parley/backend/internal/store"
)

// online keeps the database's view of which visitors have a widget socket
// on this backend (store.SyncVisitorSockets), so that email goes only to
// visitors who are not there to see a reply live. Sessions note a
// visitor's first and last socket; one goroutine writes what changed in
// batches, with a heartbeat that vouches for the open ones (a backend
// that crashes stops vouching).
type online struct {
	st      *store.Store
	log     *slog.Logger
	backend string
	l       *limits // the socket counts per visitor

	mu      sync.Mutex
	changed map[int64]struct{}
	full    bool // send every open visitor, not only the changes
	wake    chan struct{}
}

func newOnline(st *store.Store, log *slog.Logger, l *limits) *online {
	return &online{st: st, log: log, l: l, backend: store.NewPublicID("backend"),
		changed: map[int64]struct{}{}, full: true, wake: make(chan struct{}, 1)}
}

// note tells the writer that visitor id's sockets on this backend changed.
func (o *online) note(id int64) {
	o.mu.Lock()
	o.changed[id] = struct{}{}
	o.mu.Unlock()
	o.poke()
}

func (o *online) poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// run writes changes as they come (each write takes what gathered during
// the previous one) and beats until ctx ends, then marks every visitor of
// this backend left: their sockets are closing, and reconnect elsewhere.
func (o *online) run(ctx context.Context) {
	beat := time.NewTicker(store.VisitorSocketsFresh / 3)
	defer beat.Stop()
	prune := time.NewTicker(10 * time.Minute)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := o.st.LeaveVisitorSockets(c, o.backend); err != nil {
				o.log.Warn("chat: visitor sockets", "err", err)
			}
			cancel()
			return
		case <-prune.C:
			c, cancel := context.WithTimeout(context.Background(), time.Minute)
			if err := o.st.PruneVisitorSockets(c); err != nil {
				o.log.Warn("chat: prune visitor sockets", "err", err)
			}
			cancel()
			continue
		case <-o.wake:
		case <-beat.C:
		}
		o.flush()
	}
}

// flush writes what changed since the last write, and the heartbeat.
func (o *online) flush() {
	o.mu.Lock()
	changed, full := o.changed, o.full
	o.changed, o.full = map[int64]struct{}{}, false
	o.mu.Unlock()
	var open, left []int64
	if full {
		open = o.l.held()
	} else {
		for id := range changed {
			if o.l.holding(id) {
				open = append(open, id)
			} else {
				left = append(left, id)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	known, err := o.st.SyncVisitorSockets(ctx, o.backend, open, left, full)
	cancel()
	if err != nil {
		o.log.Warn("chat: visitor sockets", "err", err)
		o.mu.Lock()
		for id := range changed {
			o.changed[id] = struct{}{}
		}
		o.full = o.full || full
		o.mu.Unlock()
		time.AfterFunc(time.Second, o.poke)
		return
	}
	if !known && !full {
		// The database had forgotten this backend (pruned after a long
		// silence): tell it everything again.
		o.mu.Lock()
		o.full = true
		o.mu.Unlock()
		o.poke()
	}
}

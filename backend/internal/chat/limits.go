package chat

import (
	"errors"
	"sync"
	"time"
)

// Limits per visitor token and per client address, per backend process
// (sockets are spread over backends by the edges' links, so a cluster of N
// backends allows up to N times as many; the figures are about stopping a
// flood, not counting exactly).
const (
	// DefaultMaxSocketsPerVisitor bounds the sockets one visitor token holds
	// on one backend: far above the tabs a person opens.
	DefaultMaxSocketsPerVisitor = 20
	// DefaultNewVisitorsPerAddress new visitors may one client address make
	// per DefaultNewVisitorsWindow (an office behind one address included).
	DefaultNewVisitorsPerAddress = 60
	DefaultNewVisitorsWindow     = 10 * time.Minute
)

// errTooManyVisitors refuses a hello that would make one new visitor too many for its address.
var errTooManyVisitors = errors.New("chat: too many new visitors from this address")

// limits holds the per-process counts behind Config's limits.
type limits struct {
	mu      sync.Mutex
	sockets map[int64]int // visitor id → sockets holding it
	fresh   map[string]*window
	swept   time.Time
}

// window counts the new visitors of one address since start.
type window struct {
	start time.Time
	n     int
}

// holdVisitor counts one more socket for visitor id, unless it already
// holds max; release undoes it.
func (l *limits) holdVisitor(id int64, max int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sockets == nil {
		l.sockets = map[int64]int{}
	}
	if l.sockets[id] >= max {
		return false
	}
	l.sockets[id]++
	return true
}

func (l *limits) releaseVisitor(id int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sockets[id] <= 1 {
		delete(l.sockets, id)
		return
	}
	l.sockets[id]--
}

// holding reports whether visitor id has a socket on this backend.
func (l *limits) holding(id int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sockets[id] > 0
}

// held returns every visitor with a socket on this backend.
func (l *limits) held() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := make([]int64, 0, len(l.sockets))
	for id := range l.sockets {
		ids = append(ids, id)
	}
	return ids
}

// newVisitor counts a new visitor for address addr, unless it made max in
// the current window ("" — no address known — is not limited).
func (l *limits) newVisitor(addr string, max int, every time.Duration, now time.Time) bool {
	if addr == "" {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fresh == nil {
		l.fresh = map[string]*window{}
	}
	if now.Sub(l.swept) > every { // forget finished windows, so the map stays small
		for a, w := range l.fresh {
			if now.Sub(w.start) >= every {
				delete(l.fresh, a)
			}
		}
		l.swept = now
	}
	w := l.fresh[addr]
	if w == nil || now.Sub(w.start) >= every {
		w = &window{start: now}
		l.fresh[addr] = w
	}
	if w.n >= max {
		return false
	}
	w.n++
	return true
}

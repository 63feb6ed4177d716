package store

import "sync"

// groupCommit runs queued requests in batches, the way appends are written
// (append.go): a request arriving while fewer than inFlight batches run
// starts one at once, alone; requests arriving meanwhile wait and go
// together in the next. At low load nothing waits, under load one
// transaction and one commit serve many requests, and PostgreSQL sees a few
// transactions instead of one per request (fewer commits, and no crowd of
// transactions share-locking the same parent rows for their foreign keys).
// The zero value is ready: submit names the batch function.
type groupCommit[R any] struct {
	// one allows a single batch at a time: for work that serialises
	// anyway (on a lock), where a second batch would only wait, small.
	one bool

	mu      sync.Mutex
	pending []R
	running int
	run     func([]R)
}

// Batch limits: two batches at once (one waits for its commit's flush
// while the next executes), each at most groupMax requests (bounding one
// statement's work and its row locks).
const (
	groupInFlight = 2
	groupMax      = 256
)

// submit queues r; run, given the batch r went in, must answer every
// request of it. Every submit of one groupCommit passes the same run.
func (g *groupCommit[R]) submit(r R, run func([]R)) {
	g.mu.Lock()
	g.run = run
	g.pending = append(g.pending, r)
	limit := groupInFlight
	if g.one {
		limit = 1
	}
	start := g.running < limit
	if start {
		g.running++
	}
	g.mu.Unlock()
	if start {
		go g.loop()
	}
}

func (g *groupCommit[R]) loop() {
	for {
		g.mu.Lock()
		if len(g.pending) == 0 {
			g.running--
			g.mu.Unlock()
			return
		}
		n := min(len(g.pending), groupMax)
		batch := make([]R, n)
		copy(batch, g.pending)
		g.pending = append(g.pending[:0], g.pending[n:]...)
		run := g.run
		g.mu.Unlock()
		run(batch)
	}
}

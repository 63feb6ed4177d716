// Package housekeeping deletes rows that are dead by their own expiry:
// identification tokens and agent sessions past expires_at, and failed
// sign-ins older than the throttling window; and it folds the reports'
// pending changes into their totals. Every backend runs the job;
// a database-wide advisory lock lets one of them do each round's work.
package housekeeping

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/parleychat/parley/backend/internal/inbox"
	"github.com/parleychat/parley/backend/internal/store"
)

// Defaults for Config.
const (
	DefaultEvery = 5 * time.Minute
	DefaultBatch = 1000
	// DefaultSilentVisitorAge is how long a visitor that never sent
	// anything is kept after it was last seen.
	DefaultSilentVisitorAge = 24 * time.Hour
)

// Config holds the job's settings; zero values take the defaults.
type Config struct {
	// Every is the time between rounds (default DefaultEvery).
	Every time.Duration
	// Batch is the most rows one DELETE removes (default DefaultBatch);
	// a round repeats it until fewer come back.
	Batch int
	// LoginFailureAge is when a failed sign-in stops counting towards
	// throttling (default inbox.DefaultLoginWindow, the inbox's window).
	LoginFailureAge time.Duration
	// SilentVisitorAge is when a visitor that never sent anything (no
	// conversation, consent, address or identification), created and last
	// seen that long ago, is deleted (default DefaultSilentVisitorAge).
	SilentVisitorAge time.Duration
	// Logger receives what was removed and errors; nil uses slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Every <= 0 {
		c.Every = DefaultEvery
	}
	if c.Batch <= 0 {
		c.Batch = DefaultBatch
	}
	if c.LoginFailureAge <= 0 {
		c.LoginFailureAge = inbox.DefaultLoginWindow
	}
	if c.SilentVisitorAge <= 0 {
		c.SilentVisitorAge = DefaultSilentVisitorAge
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Job is the housekeeping job of one backend.
type Job struct {
	st  *store.Store
	cfg Config

	held func() // tests: called while the round holds the lock
}

// New returns a job on st.
func New(st *store.Store, cfg Config) *Job {
	return &Job{st: st, cfg: cfg.withDefaults()}
}

// Result is what one round did.
type Result struct {
	// Skipped means another backend held the lock and this round did nothing.
	Skipped bool
	// Removed counts the deleted rows by table.
	Removed map[string]int64
	// Folded counts the report changes folded into the reports' totals.
	Folded int64
	// Counted counts the conversation count changes folded into the
	// counts beside the inbox's views.
	Counted int64
}

// Total is the number of rows the round deleted.
func (r Result) Total() int64 {
	var n int64
	for _, v := range r.Removed {
		n += v
	}
	return n
}

// RunOnce runs one round: it takes the housekeeping lock (skipping the round
// when another backend holds it) and deletes every expired row in batches.
// An error in one table does not stop the others; the counts say what went.
func (j *Job) RunOnce(ctx context.Context) (Result, error) {
	sw, err := j.st.BeginSweep(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("housekeeping: lock: %w", err)
	}
	if sw == nil {
		return Result{Skipped: true}, nil
	}
	defer sw.Close()
	if j.held != nil {
		j.held()
	}
	tables := []struct {
		name string
		del  func(context.Context, int) (int64, error)
	}{
		{"identification_tokens", sw.DeleteExpiredIdentificationTokens},
		{"user_sessions", sw.DeleteExpiredSessions},
		{"user_invitations", sw.DeleteExpiredInvitations},
		{"login_failures", func(ctx context.Context, limit int) (int64, error) {
			return sw.DeleteLoginFailuresOlderThan(ctx, j.cfg.LoginFailureAge, limit)
		}},
		{"visitors", func(ctx context.Context, limit int) (int64, error) {
			return sw.DeleteSilentVisitors(ctx, j.cfg.SilentVisitorAge, limit)
		}},
	}
	res := Result{Removed: map[string]int64{}}
	var errs []error
	for _, t := range tables {
		for {
			n, err := t.del(ctx, j.cfg.Batch)
			res.Removed[t.name] += n
			if err != nil {
				errs = append(errs, fmt.Errorf("housekeeping: %s: %w", t.name, err))
				break
			}
			if n < int64(j.cfg.Batch) {
				break
			}
		}
	}
	n, err := sw.FoldReportChanges(ctx)
	res.Folded = n
	if err != nil {
		errs = append(errs, fmt.Errorf("housekeeping: report changes: %w", err))
	}
	n, err = sw.FoldConversationCounts(ctx)
	res.Counted = n
	if err != nil {
		errs = append(errs, fmt.Errorf("housekeeping: conversation counts: %w", err))
	}
	return res, errors.Join(errs...)
}

// Run runs a round at once and then every Config.Every until ctx is done.
// A failed round is logged and the next one tries again.
func (j *Job) Run(ctx context.Context) {
	t := time.NewTicker(j.cfg.Every)
	defer t.Stop()
	for {
		j.round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Start runs the job in a goroutine of its own. stop ends it and waits for
// the round in progress, whose statements are cancelled.
func (j *Job) Start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { j.Run(ctx) })
	return func() {
		cancel()
		wg.Wait()
	}
}

// round runs RunOnce and logs its outcome; nothing in it may take the backend down.
func (j *Job) round(ctx context.Context) {
	defer func() {
		if p := recover(); p != nil {
			j.cfg.Logger.Error("housekeeping: round panicked", "panic", p)
		}
	}()
	res, err := j.RunOnce(ctx)
	if err != nil && ctx.Err() != nil {
		err = nil // stopping: a cancelled statement is no failure
	}
	log := j.cfg.Logger
	attrs := []any{}
	for _, table := range slices.Sorted(maps.Keys(res.Removed)) {
		attrs = append(attrs, table, res.Removed[table])
	}
	switch {
	case err != nil:
		log.Warn("housekeeping: round failed; retrying next round", append(attrs, "err", err)...)
	case res.Skipped:
		log.Debug("housekeeping: another backend holds the lock; skipped")
	case res.Total() > 0 || res.Folded > 0 || res.Counted > 0:
		log.Info("housekeeping: removed expired rows", append(attrs, "report_changes_folded", res.Folded, "count_changes_folded", res.Counted)...)
	default:
		log.Debug("housekeeping: nothing expired")
	}
}

package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/backend/cmd/parley-load/chatsim"
	"github.com/parleychat/parley/backend/internal/pgcluster"
	"github.com/parleychat/parley/widget"
)

type throughputOpts struct {
	visitors int
	window   int
	measure  time.Duration
	rate     int
	rateFor  time.Duration
	pgbench  time.Duration
	// metrics: "on" (the servers' defaults) or "both": measure the
	// saturated rate with metrics off and on, side by side.
	metrics       string
	metricsRounds int
}

func throughputFlags(fs *flag.FlagSet) *throughputOpts {
	o := &throughputOpts{}
	fs.IntVar(&o.visitors, "visitors", 100, "throughput: concurrent visitor sockets (and pgbench clients)")
	fs.IntVar(&o.window, "window", 8, "throughput: unacknowledged messages a visitor may have in flight")
	fs.DurationVar(&o.measure, "measure", 10*time.Second, "throughput: how long the saturated rate is measured")
	fs.IntVar(&o.rate, "rate", 1000, "throughput: the fixed rate (messages/s) latency is measured at")
	fs.DurationVar(&o.rateFor, "rate-for", 10*time.Second, "throughput: how long the fixed rate runs")
	fs.DurationVar(&o.pgbench, "pgbench", 10*time.Second, "throughput: how long pgbench runs")
	fs.StringVar(&o.metrics, "metrics", "on", `throughput: "both" measures the saturated rate with the servers' metrics off and on, side by side`)
	fs.IntVar(&o.metricsRounds, "metrics-rounds", 3, "throughput -metrics both: rounds of each, alternating (the median is compared)")
	return o
}

// Targets the throughput step is held to.
const (
	targetMsgsPerSec  = 5000
	targetPgbenchFrac = 0.5
	targetP99         = 50 * time.Millisecond
)

func runThroughput(ctx context.Context, d dirs, o *throughputOpts) error {
	if o.metrics == "both" {
		return runMetricsCompare(ctx, d, o)
	}
	began := time.Now()
	fmt.Println("== throughput: durable messages from visitor sockets through edge and backend to an agent socket")
	sys, err := startSystem(ctx, d)
	if err != nil {
		return err
	}
	defer sys.close()
	fmt.Println("   database:", sys.describeDatabase(ctx))

	// Baseline: what the same cluster does with nothing but single-row INSERTs.
	pgTPS, err := pgbenchInserts(ctx, sys, o.visitors, o.pgbench)
	if err != nil {
		return err
	}
	fmt.Printf("   pgbench baseline: %.0f single-row INSERTs/s (%d clients, -M prepared, %v, same cluster)\n", pgTPS, o.visitors, o.pgbench)

	be, err := sys.startBackend(ctx)
	if err != nil {
		return err
	}
	// The per-socket rate limit (5 frames/s by default) would cap what one
	// visitor may send; the bench lifts it to measure the system, not the limit.
	edge, err := sys.startEdge(ctx, be.url, "EDGE_RATE_BURST=1000000", "EDGE_RATE_PER_SECOND=1000000")
	if err != nil {
		return err
	}
	fmt.Printf("   system: 1 backend, 1 edge (visitor rate limit lifted; %s), %d visitors, agent on the inbox live socket through the edge\n", linkDesc(), o.visitors)

	agent, err := chatsim.SignIn(ctx, edge.url, sys.demo.AgentEmail, sys.demo.AgentPass)
	if err != nil {
		return err
	}
	var (
		delivered atomic.Int64 // distinct visitor messages that reached the agent's sockets
		repeated  atomic.Int64 // visitor messages the agent's sockets carried more than once
		seen      sync.Map     // message id → struct{}: what delivered counted
		ackedIDs  sync.Map     // message id → seq the ack gave
		acked     atomic.Int64
		timing    atomic.Pointer[latencyRun] // the fixed-rate run being timed, if any
	)
	wctx, wstop := context.WithCancel(ctx)
	watcher := agent.Watch(wctx, func(f chatsim.LiveFrame) {
		if f.From != widget.FromVisitor {
			return
		}
		if _, dup := seen.LoadOrStore(f.ID, struct{}{}); dup {
			repeated.Add(1)
			return
		}
		delivered.Add(1)
		if run := timing.Load(); run != nil {
			run.recvAt.Store(f.ID, time.Now())
		}
	})
	defer func() { wstop(); watcher.Wait() }()

	vctx, vstop := context.WithCancel(ctx)
	defer vstop()
	vs := make([]*chatsim.Visitor, o.visitors)
	acks := make([]chan struct{}, o.visitors)
	for i := range vs {
		acks[i] = make(chan struct{}, 1)
		vs[i] = chatsim.NewVisitor(chatsim.VisitorConfig{Edge: edge.url, Site: sys.demo.Site, Chatflow: sys.demo.ChatflowID,
			IDPrefix: fmt.Sprintf("b%05d", i), OnFrame: func(f widget.Frame) {
				if f.Type == widget.FrameAck {
					ackedIDs.Store(f.ID, f.Seq)
					acked.Add(1)
					select {
					case acks[i] <- struct{}{}:
					default:
					}
				}
			}})
		go vs[i].Run(vctx)
	}
	// Warm-up: every visitor opens its conversation; the agent follows them all.
	var sent atomic.Int64
	for _, v := range vs {
		if _, err := v.Send(ctx, "hello, warming up"); err != nil {
			return err
		}
		sent.Add(1)
	}
	if err := waitUntil(ctx, 60*time.Second, func() bool {
		return watcher.Following() >= o.visitors && delivered.Load() >= sent.Load()
	}); err != nil {
		return fmt.Errorf("warm-up: %d conversations followed, %d of %d delivered: %w", watcher.Following(), delivered.Load(), sent.Load(), err)
	}

	// Saturation: every visitor keeps `window` messages in flight.
	stop := saturate(vctx, vs, acks, o.window, func(v *chatsim.Visitor, n int) {
		// The write gets the visitors' context, not the phase's: a send cut
		// off by the phase's end would stay unsent in the outbox.
		if _, err := v.Send(vctx, "message "+strconv.Itoa(n)+" from a visitor in the throughput bench"); err == nil {
			sent.Add(1)
		}
	})
	time.Sleep(2 * time.Second) // ramp up
	d0, a0, t0 := delivered.Load(), acked.Load(), time.Now()
	time.Sleep(o.measure)
	d1, a1, t1 := delivered.Load(), acked.Load(), time.Now()
	stop()
	secs := t1.Sub(t0).Seconds()
	rate := float64(d1-d0) / secs
	ackRate := float64(a1-a0) / secs
	if err := waitUntil(ctx, 60*time.Second, func() bool { return delivered.Load() >= sent.Load() }); err != nil {
		return fmt.Errorf("drain after saturation: %d of %d delivered: %w", delivered.Load(), sent.Load(), err)
	}

	fmt.Printf("   saturated: %.0f durable msg/s reached the agent socket (%.0f acks/s to visitors), %d visitors × %d in flight, over %.1fs\n",
		rate, ackRate, o.visitors, o.window, secs)
	fmt.Printf("     target ≥ %d msg/s: %s\n", targetMsgsPerSec, verdict(rate >= targetMsgsPerSec))
	frac := rate / pgTPS
	fmt.Printf("     ratio to pgbench INSERTs: %.2f (%.0f / %.0f); target ≥ %.1f: %s\n", frac, rate, pgTPS, targetPgbenchFrac, verdict(frac >= targetPgbenchFrac))

	// Fixed rates, latency from the visitor's send to the agent's socket:
	// first half the saturated rate (what the system sustains), then the target's.
	fixed := func(perSec int, d time.Duration) latencies {
		run := &latencyRun{}
		timing.Store(run)
		defer timing.Store(nil)
		n := fixedRate(vctx, vs, perSec, d, func(id string, at time.Time) {
			run.sentAt.Store(id, at)
			sent.Add(1)
		})
		// Every message of this run by id: counts alone could be met by a
		// message of an earlier phase that arrived late.
		waitUntil(ctx, 30*time.Second, run.complete)
		l := run.result()
		// A message that never reached the agent: say how far it got.
		for _, id := range run.missingIDs(5) {
			seq, _ := ackedIDs.Load(id)
			var conv, stored int64
			err := sys.db.QueryRowContext(ctx, `SELECT conversation_id, seq FROM messages WHERE client_id = $1`, id).Scan(&conv, &stored)
			fmt.Printf("     not delivered: %s acked with seq %v; stored: conversation %d seq %d (%v); agent follows %d\n",
				id, seq, conv, stored, err, watcher.Following())
		}
		l.offered = float64(n) / d.Seconds()
		return l
	}
	if half := int(rate / 2); half >= 10 && half < o.rate {
		l := fixed(half, o.rateFor/2)
		fmt.Printf("   fixed rate %s\n", l)
	}
	l := fixed(o.rate, o.rateFor)
	fmt.Printf("   fixed rate %s\n", l)
	fmt.Printf("   messages the agent's sockets carried twice: %d (want 0)\n", repeated.Load())
	fmt.Printf("     target p99 < %v at %d msg/s: %s\n", targetP99, o.rate, verdict(l.n > 0 && l.p99 < targetP99 && l.missing == 0))
	fmt.Printf("   (throughput step took %s)\n", since(began))
	return nil
}

// latencyRun pairs send and receive times of one fixed-rate run by message id.
type latencyRun struct{ sentAt, recvAt sync.Map }

// latencies summarise one fixed-rate run.
type latencies struct {
	offered           float64
	n, missing        int
	p50, p99, slowest time.Duration
}

func (l latencies) String() string {
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	return fmt.Sprintf("%.0f msg/s offered (%d messages): end-to-end latency visitor send → agent socket p50 %v p99 %v max %v (%d not delivered within 30s)",
		l.offered, l.n+l.missing, r(l.p50), r(l.p99), r(l.slowest), l.missing)
}

// missingIDs returns up to n ids sent and not received.
func (run *latencyRun) missingIDs(n int) []string {
	var ids []string
	run.sentAt.Range(func(k, _ any) bool {
		if _, ok := run.recvAt.Load(k); !ok {
			ids = append(ids, k.(string))
		}
		return len(ids) < n
	})
	return ids
}

// complete reports whether every message sent in the run was received.
func (run *latencyRun) complete() bool {
	all := true
	run.sentAt.Range(func(k, _ any) bool {
		_, ok := run.recvAt.Load(k)
		all = ok
		return ok
	})
	return all
}

func (run *latencyRun) result() latencies {
	var l latencies
	var lat []time.Duration
	run.sentAt.Range(func(k, v any) bool {
		if r, ok := run.recvAt.Load(k); ok {
			lat = append(lat, r.(time.Time).Sub(v.(time.Time)))
		} else {
			l.missing++
		}
		return true
	})
	if len(lat) == 0 {
		return l
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	l.n = len(lat)
	l.p50, l.p99, l.slowest = lat[len(lat)*50/100], lat[min(len(lat)-1, len(lat)*99/100)], lat[len(lat)-1]
	return l
}

// fixedRate sends perSec messages a second for d, spread evenly over the
// visitors (open loop: a slow system does not slow the senders), calls
// sent for each and returns how many went.
func fixedRate(ctx context.Context, vs []*chatsim.Visitor, perSec int, d time.Duration, sent func(id string, at time.Time)) int64 {
	fctx, stop := context.WithTimeout(ctx, d)
	defer stop()
	every := time.Duration(float64(time.Second) * float64(len(vs)) / float64(perSec))
	var count atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i, v := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := start.Add(every * time.Duration(i) / time.Duration(len(vs)))
			for n := 0; ; n++ {
				select {
				case <-fctx.Done():
					return
				case <-time.After(time.Until(next)):
				}
				now := time.Now()
				// ctx, not fctx: the run's end must not cut a write short.
				if id, err := v.Send(ctx, "fixed-rate message "+strconv.Itoa(n)); err == nil {
					sent(id, now)
					count.Add(1)
				}
				next = next.Add(every)
			}
		}()
	}
	wg.Wait()
	return count.Load()
}

// pgbenchInserts runs pgbench with a one-statement custom script on the
// system's cluster and returns its transactions per second.
func pgbenchInserts(ctx context.Context, sys *system, clients int, d time.Duration) (float64, error) {
	bin, err := pgcluster.BinDir()
	if err != nil {
		return 0, err
	}
	if _, err := sys.db.ExecContext(ctx, `CREATE TABLE bench_insert (id bigint, body text, created_at timestamptz)`); err != nil {
		return 0, err
	}
	defer sys.db.ExecContext(context.Background(), `DROP TABLE bench_insert`)
	script := filepath.Join(sys.root, "insert.sql")
	if err := os.WriteFile(script, []byte("\\set id random(1, 1000000000)\nINSERT INTO bench_insert VALUES (:id, 'a message of about the size of a chat line', now());\n"), 0o644); err != nil {
		return 0, err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "pgbench"), "-n", "-h", "127.0.0.1", "-p", strconv.Itoa(sys.pg.Port),
		"-U", pgcluster.User, "-c", strconv.Itoa(clients), "-j", "2", "-T", strconv.Itoa(int(d.Seconds())), "-M", "prepared",
		"-f", script, "parley")
	cmd.Env = append(os.Environ(), "PGPASSWORD="+sys.pg.Password())
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`).FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pgbench: no tps in its output:\n%s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// waitUntil polls cond every 20 ms for at most d.
func waitUntil(ctx context.Context, d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/backend/cmd/parley-load/chatsim"
	"github.com/parleychat/parley/backend/internal/pgcluster"
	"github.com/parleychat/parley/widget"
)

// targetMetricsCost is the most that metrics may cost in throughput.
const targetMetricsCost = 0.03

// runMetricsCompare measures the saturated message rate with metrics off
// (BACKEND_METRICS_ADDR=off, EDGE_METRICS_ADDR=off: no listener, hot paths
// skip their counting) and on (both listeners, scraped every second, ten
// times as often as Prometheus's default), alternating rounds on one
// database so that drift on the machine hits both alike.
func runMetricsCompare(ctx context.Context, d dirs, o *throughputOpts) error {
	fmt.Println("== throughput with metrics off and on: durable messages from visitor sockets to an agent socket")
	sys, err := startSystem(ctx, d)
	if err != nil {
		return err
	}
	defer sys.close()
	var off, on []float64
	for r := range o.metricsRounds {
		for _, enabled := range []bool{false, true} {
			rate, err := saturatedRate(ctx, sys, o, enabled)
			if err != nil {
				return err
			}
			if enabled {
				on = append(on, rate)
			} else {
				off = append(off, rate)
			}
			fmt.Printf("   round %d, metrics %-3s: %6.0f msg/s\n", r+1, onOff(enabled), rate)
		}
	}
	mOff, mOn := median(off), median(on)
	cost := (mOff - mOn) / mOff
	fmt.Printf("   %d visitors × %d in flight, %v measured per round, median of %d rounds:\n", o.visitors, o.window, o.measure, o.metricsRounds)
	fmt.Printf("     metrics off: %6.0f msg/s   metrics on: %6.0f msg/s   difference %+.1f%%\n", mOff, mOn, -100*cost)
	fmt.Printf("     target: metrics on within %.0f%% of off: %s\n", 100*targetMetricsCost, verdict(cost <= targetMetricsCost))
	return nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// saturatedRate runs a fresh backend and edge, keeps o.window messages in
// flight per visitor, and returns the rate at which they reach the agent.
func saturatedRate(ctx context.Context, sys *system, o *throughputOpts, metricsOn bool) (float64, error) {
	r := round{label: "m" + onOff(metricsOn)}
	if metricsOn {
		bp, err := pgcluster.FreePort()
		if err != nil {
			return 0, err
		}
		ep, err := pgcluster.FreePort()
		if err != nil {
			return 0, err
		}
		r.backendEnv = []string{"BACKEND_METRICS_ADDR=127.0.0.1:" + strconv.Itoa(bp)}
		r.edgeEnv = []string{"EDGE_METRICS_ADDR=127.0.0.1:" + strconv.Itoa(ep)}
		r.scrape = []string{fmt.Sprintf("http://127.0.0.1:%d/metrics", bp), fmt.Sprintf("http://127.0.0.1:%d/metrics", ep)}
	} else {
		r.backendEnv, r.edgeEnv = []string{"BACKEND_METRICS_ADDR=off"}, []string{"EDGE_METRICS_ADDR=off"}
	}
	return saturated(ctx, sys, o, r)
}

// round is one saturated run's setup: extra environment for its backend
// and edge, metrics URLs to scrape every second while it runs, and
// measuring, called with the backend and edge as the measured window
// starts and again as it ends.
type round struct {
	label               string // makes the round's message ids unique
	backendEnv, edgeEnv []string
	scrape              []string
	measuring           func(be, edge *process, end bool)
}

// saturated runs a fresh backend and edge for round r, keeps o.window
// messages in flight per visitor, and returns the rate at which they reach
// the agent over o.measure.
func saturated(ctx context.Context, sys *system, o *throughputOpts, r round) (float64, error) {
	// Earlier rounds' conversations must not crowd the agent's list.
	if _, err := sys.db.ExecContext(ctx, `UPDATE conversations SET status = 'closed', closed_at = now() WHERE status = 'open'`); err != nil {
		return 0, err
	}
	scrape := r.scrape
	be, err := sys.startBackend(ctx, r.backendEnv...)
	if err != nil {
		return 0, err
	}
	defer be.stop()
	edge, err := sys.startEdge(ctx, be.url, append(append([]string(nil), r.edgeEnv...), "EDGE_RATE_BURST=1000000", "EDGE_RATE_PER_SECOND=1000000")...)
	if err != nil {
		return 0, err
	}
	defer edge.stop()

	rctx, rstop := context.WithCancel(ctx)
	defer rstop()
	var scrapes sync.WaitGroup
	for _, u := range scrape {
		scrapes.Add(1)
		go func() {
			defer scrapes.Done()
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				if res, err := http.Get(u); err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				select {
				case <-rctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	defer scrapes.Wait()

	agent, err := chatsim.SignIn(ctx, edge.url, sys.demo.AgentEmail, sys.demo.AgentPass)
	if err != nil {
		return 0, err
	}
	var delivered atomic.Int64
	var seen sync.Map
	watcher := agent.Watch(rctx, func(f chatsim.LiveFrame) {
		if f.From != widget.FromVisitor {
			return
		}
		if _, dup := seen.LoadOrStore(f.ID, struct{}{}); !dup {
			delivered.Add(1)
		}
	})
	defer watcher.Wait()

	vs := make([]*chatsim.Visitor, o.visitors)
	acks := make([]chan struct{}, o.visitors)
	var running sync.WaitGroup
	defer running.Wait()
	for i := range vs {
		acks[i] = make(chan struct{}, 1)
		vs[i] = chatsim.NewVisitor(chatsim.VisitorConfig{Edge: edge.url, Site: sys.demo.Site, Chatflow: sys.demo.ChatflowID,
			IDPrefix: fmt.Sprintf("%s%05d", r.label, i) + strconv.FormatInt(time.Now().UnixNano()%1e9, 36),
			OnFrame: func(f widget.Frame) {
				if f.Type == widget.FrameAck {
					select {
					case acks[i] <- struct{}{}:
					default:
					}
				}
			}})
		running.Add(1)
		go func() { defer running.Done(); vs[i].Run(rctx) }()
	}
	var sent atomic.Int64
	for _, v := range vs {
		if _, err := v.Send(ctx, "hello, warming up"); err != nil {
			return 0, err
		}
		sent.Add(1)
	}
	if err := waitUntil(ctx, 60*time.Second, func() bool {
		return watcher.Following() >= o.visitors && delivered.Load() >= sent.Load()
	}); err != nil {
		return 0, fmt.Errorf("warm-up: %d followed, %d of %d delivered: %w", watcher.Following(), delivered.Load(), sent.Load(), err)
	}
	stop := saturate(rctx, vs, acks, o.window, func(v *chatsim.Visitor, n int) {
		if _, err := v.Send(rctx, "message "+strconv.Itoa(n)+" from a visitor in the metrics bench"); err == nil {
			sent.Add(1)
		}
	})
	time.Sleep(2 * time.Second) // ramp up
	if r.measuring != nil {
		r.measuring(be, edge, false)
	}
	d0, t0 := delivered.Load(), time.Now()
	time.Sleep(o.measure)
	d1, t1 := delivered.Load(), time.Now()
	if r.measuring != nil {
		r.measuring(be, edge, true)
	}
	stop()
	rate := float64(d1-d0) / t1.Sub(t0).Seconds()
	// Let what is in flight land before the processes stop.
	waitUntil(ctx, 30*time.Second, func() bool { return delivered.Load() >= sent.Load() })
	rstop()
	return rate, nil
}

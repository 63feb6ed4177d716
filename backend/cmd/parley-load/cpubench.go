package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/backend/cmd/parley-load/chatsim"
	"github.com/parleychat/parley/widget"
)

type cpuOpts struct {
	visitors  int
	agents    int
	rate      int
	runFor    time.Duration
	pgbench   time.Duration
	pprof     string
	edgePprof string
}

func cpuFlags(fs *flag.FlagSet) *cpuOpts {
	o := &cpuOpts{}
	fs.IntVar(&o.visitors, "cpu-visitors", 100, "cpu: visitors the fixed rate is spread over")
	fs.IntVar(&o.agents, "cpu-agents", 1, "cpu: agents signed in, each following every conversation of the inbox live (the conversations are given out among them)")
	fs.IntVar(&o.rate, "cpu-rate", 1000, "cpu: the fixed rate, messages/s")
	fs.DurationVar(&o.runFor, "cpu-for", 10*time.Second, "cpu: how long the fixed rate runs")
	fs.DurationVar(&o.pgbench, "cpu-pgbench", 10*time.Second, "cpu: how long pgbench's single-row INSERTs run on the same cluster (0: not at all)")
	fs.StringVar(&o.pprof, "cpu-pprof", "", "cpu: serve the backend's pprof on this address and write its CPU profile of the fixed rate to cpu-backend.pprof")
	fs.StringVar(&o.edgePprof, "cpu-edge-pprof", "", "cpu: serve the edge's pprof on this address and write its CPU profile of the fixed rate to cpu-edge.pprof")
	return o
}

// Targets of the cpu step, in µs of CPU per message.
const (
	targetCPUSum      = 300
	targetCPUPostgres = 150
)

// runCPU measures what a message costs at moderate load: a fixed rate
// (1,000 messages/s) from visitor sockets to agents signed in through the
// form who follow their conversations live, with CPU time read from /proc
// for the edge, the backend and every process of the PostgreSQL cluster,
// divided by the messages sent; and the latency from a visitor's send to
// the agent's socket. pgbench's single-row INSERT rate on the same cluster
// is printed first, as context for the day's machine.
func runCPU(ctx context.Context, d dirs, o *cpuOpts) error {
	began := time.Now()
	fmt.Printf("== cpu: CPU per message at a fixed %d msg/s, %d visitors → edge → backend → %d agents following live\n", o.rate, o.visitors, o.agents)
	sys, err := startSystem(ctx, d)
	if err != nil {
		return err
	}
	defer sys.close()
	fmt.Println("   database:", sys.describeDatabase(ctx))
	if o.pgbench > 0 {
		tps, err := pgbenchInserts(ctx, sys, 100, o.pgbench)
		if err != nil {
			fmt.Printf("   pgbench gave no figure: %.300v\n", err)
		} else {
			fmt.Printf("   pgbench on this cluster: %.0f single-row INSERTs/s (100 clients, -M prepared, %v); load average %s\n", tps, o.pgbench, loadavg())
		}
	}
	agents, err := sys.benchAgents(ctx, o.agents, o.visitors)
	if err != nil {
		return err
	}
	_, edge, err := sys.startPair(ctx, o.pprof, o.edgePprof)
	if err != nil {
		return err
	}
	var (
		delivered, repeated atomic.Int64
		seen                sync.Map
		timing              atomic.Pointer[latencyRun]
	)
	wctx, wstop := context.WithCancel(ctx)
	var watchers []*chatsim.Watcher
	defer func() {
		wstop()
		for _, w := range watchers {
			w.Wait()
		}
	}()
	for _, a := range agents {
		ag, err := chatsim.SignIn(ctx, edge.url, a.email, a.password)
		if err != nil {
			return err
		}
		watchers = append(watchers, ag.Watch(wctx, func(f chatsim.LiveFrame) {
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
		}))
	}
	following := func() int {
		n := 0
		for _, w := range watchers {
			n += w.Following()
		}
		return n
	}

	vctx, vstop := context.WithCancel(ctx)
	defer vstop()
	var running sync.WaitGroup
	defer running.Wait()
	defer vstop()
	vs := make([]*chatsim.Visitor, o.visitors)
	for i := range vs {
		vs[i] = chatsim.NewVisitor(chatsim.VisitorConfig{Edge: edge.url, Site: sys.demo.Site, Chatflow: sys.demo.ChatflowID,
			IDPrefix: fmt.Sprintf("u%05d", i)})
		running.Add(1)
		go func() { defer running.Done(); vs[i].Run(vctx) }()
	}
	var sent atomic.Int64
	for _, v := range vs {
		if _, err := v.Send(ctx, "hello, warming up"); err != nil {
			return err
		}
		sent.Add(1)
	}
	if err := waitUntil(ctx, 120*time.Second, func() bool {
		return following() >= o.visitors && delivered.Load() >= sent.Load()
	}); err != nil {
		return fmt.Errorf("cpu: warm-up: %d conversations followed, %d of %d delivered: %w", following(), delivered.Load(), sent.Load(), err)
	}
	fmt.Printf("   system: 1 backend, 1 edge (%s), %d agents signed in through the form following %d conversations live\n", linkDesc(), len(agents), following())

	run := &latencyRun{}
	timing.Store(run)
	profiles := fetchProfiles(ctx, o.runFor, map[string]string{o.pprof: "cpu-backend.pprof", o.edgePprof: "cpu-edge.pprof"})
	sys.printStatements(ctx) // resets: what follows is the fixed rate's
	before, load := sys.cpuNow(), loadavg()
	n := fixedRate(vctx, vs, o.rate, o.runFor, func(id string, at time.Time) {
		run.sentAt.Store(id, at)
		sent.Add(1)
	})
	// CPU is read once the backlog has drained: a system that falls behind
	// does its work after the sending ends, and must not look cheaper for it.
	waitUntil(ctx, 120*time.Second, run.complete) // what never arrives is lost
	after := sys.cpuNow()
	profiles.Wait()
	timing.Store(nil)
	l := run.result()
	l.offered = float64(n) / o.runFor.Seconds()
	per, sum := after.perUnit(before, float64(n))
	fmt.Printf("   fixed rate %s\n", strings.Replace(l.String(), "within 30s", "within 120s", 1))
	fmt.Printf("     CPU per message: %s; load average before %s\n", cpuLine(per, sum, "message"), load)
	fmt.Printf("     target summed ≤ %d µs: %s; PostgreSQL ≤ %d µs: %s; p99 < %v: %s\n", targetCPUSum, verdict(sum <= targetCPUSum),
		targetCPUPostgres, verdict(per["postgres"] <= targetCPUPostgres), targetP99, verdict(l.n > 0 && l.p99 < targetP99 && l.missing == 0))
	fmt.Printf("     messages sent %d, reached an agent %d, lost %d, duplicated %d\n", n, l.n, l.missing, repeated.Load())
	sys.printStatements(ctx)
	fmt.Printf("   (cpu step took %s)\n", since(began))
	return nil
}

package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/backend/cmd/parley-load/chatsim"
	"github.com/parleychat/parley/widget"
)

type visitorsOpts struct {
	counts  string
	agents  int
	window  int
	measure time.Duration
	// pprof and edgePprof: where the backend's and the edge's pprof are
	// served; each round's measured phase is profiled into a file.
	pprof, edgePprof string
}

func visitorsFlags(fs *flag.FlagSet) *visitorsOpts {
	o := &visitorsOpts{}
	fs.StringVar(&o.counts, "crowd", "100,1000,100", "visitors: the visitor counts measured in turn, the first one the baseline (measured again after the others: the drift of the run)")
	fs.IntVar(&o.agents, "crowd-agents", 10, "visitors: agents signed in with the inbox page (list and open thread) open each")
	fs.IntVar(&o.window, "crowd-window", 8, "visitors: unacknowledged messages a visitor may have in flight")
	fs.DurationVar(&o.measure, "crowd-measure", 10*time.Second, "visitors: how long each saturated rate is measured")
	fs.StringVar(&o.pprof, "crowd-pprof", "", "visitors: serve the backend's pprof on this address and write its CPU profile of each round's measured phase to visitors-N-backend.pprof")
	fs.StringVar(&o.edgePprof, "crowd-edge-pprof", "", "visitors: serve the edge's pprof on this address and write its CPU profile of each round's measured phase to visitors-N-edge.pprof")
	return o
}

// Target of the visitors step: the larger crowd keeps this share of the baseline's rate.
const targetCrowdRatio = 0.9

// runVisitors measures durable messages per second (messages acknowledged
// to visitors after their commit) with 100 visitors, with 1,000 and with
// 100 again (the messages table the rounds grow slows every later round), each
// with the same 10 agents signed in through the sign-in form, every agent
// with the inbox page open (its one live socket carries the list and the
// open thread), and routing giving the conversations out among them. The
// ratio says whether a crowd, and the list pages watching it, costs more
// per message than a few visitors.
func runVisitors(ctx context.Context, d dirs, o *visitorsOpts) error {
	began := time.Now()
	fmt.Printf("== visitors: durable messages/s as the crowd grows, %d agents with the inbox page open each (list and thread)\n", o.agents)
	sys, err := startSystem(ctx, d)
	if err != nil {
		return err
	}
	defer sys.close()
	fmt.Println("   database:", sys.describeDatabase(ctx))
	var counts []int
	for _, f := range strings.Split(o.counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("visitors: bad -crowd %q", o.counts)
		}
		counts = append(counts, n)
	}
	maxCount := 0
	for _, n := range counts {
		maxCount = max(maxCount, n)
	}
	agents, err := sys.benchAgents(ctx, o.agents, maxCount) // room for every conversation: all of them assigned
	if err != nil {
		return err
	}
	be, edge, err := sys.startPair(ctx, o.pprof, o.edgePprof)
	if err != nil {
		return err
	}
	pctx, pstop := context.WithCancel(ctx)
	pages, err := openAgentPages(pctx, edge.url, agents)
	if err != nil {
		pstop()
		return err
	}
	defer func() { pstop(); pages.wait() }()
	fmt.Printf("   system: 1 backend, 1 edge (visitor rate limit lifted; %s), %d agents signed in through the form, each with the inbox page open (its live socket: list and open thread)\n", linkDesc(), len(agents))
	rates := make([]float64, len(counts))
	for i, n := range counts {
		r, err := crowdRound(ctx, sys, edge, pages, o, n, fmt.Sprintf("c%d-", i))
		if err != nil {
			return err
		}
		rates[i] = r
		if err := sys.closeOpen(ctx); err != nil {
			return err
		}
	}
	// The database grows and the machine drifts while the rounds run: a
	// baseline round measured again afterwards says by how much, and a
	// crowd is judged against the mean of the baseline rounds on either
	// side of it (the first alone when none follows).
	for i := 1; i < len(counts); i++ {
		if counts[i] == counts[0] {
			fmt.Printf("   %d visitors again: %.0f msg/s = %.2f of the first round: the drift of the run (no target)\n", counts[i], rates[i], rates[i]/max(rates[0], 1))
			continue
		}
		before, after := rates[0], 0.0
		for j := i - 1; j >= 0; j-- {
			if counts[j] == counts[0] {
				before = rates[j]
				break
			}
		}
		for j := i + 1; j < len(counts); j++ {
			if counts[j] == counts[0] {
				after = rates[j]
				break
			}
		}
		first := rates[i] / max(rates[0], 1)
		if after == 0 {
			fmt.Printf("   %d visitors against %d: %.0f / %.0f msg/s = %.2f; target ≥ %.1f: %s\n", counts[i], counts[0], rates[i], rates[0], first,
				targetCrowdRatio, verdict(first >= targetCrowdRatio))
			continue
		}
		base := (before + after) / 2
		ratio := rates[i] / max(base, 1)
		fmt.Printf("   %d visitors against %d: %.0f msg/s against %.0f, the mean of the %d-visitor rounds before and after (%.0f, %.0f) = %.2f; target ≥ %.1f: %s (against the first round alone: %.2f)\n",
			counts[i], counts[0], rates[i], base, counts[0], before, after, ratio, targetCrowdRatio, verdict(ratio >= targetCrowdRatio), first)
	}
	for _, p := range []*process{be, edge} {
		printWarnings(p, 8)
	}
	fmt.Printf("   (visitors step took %s)\n", since(began))
	return nil
}

// agentPages are the agents' open inbox pages, one live socket each
// carrying the page's list and open thread, read until ctx ends.
type agentPages struct {
	agents []*chatsim.Agent
	frames atomic.Int64 // frames the pages received
	wg     sync.WaitGroup
	mu     sync.Mutex
	ended  map[string]int // sockets ended, by how
}

func openAgentPages(ctx context.Context, edgeURL string, agents []benchAgent) (*agentPages, error) {
	p := &agentPages{ended: map[string]int{}}
	for _, a := range agents {
		ag, err := chatsim.SignIn(ctx, edgeURL, a.email, a.password)
		if err != nil {
			return nil, err
		}
		p.agents = append(p.agents, ag)
		c, err := p.dial(ctx, ag)
		if err != nil {
			return nil, err
		}
		p.wg.Add(1)
		go func() { defer p.wg.Done(); p.page(ctx, ag, c) }()
	}
	return p, nil
}

// dial opens the inbox page's one socket: its alerts and its list.
func (p *agentPages) dial(ctx context.Context, ag *chatsim.Agent) (*websocket.Conn, error) {
	c, err := ag.DialLive(ctx)
	if err != nil {
		return nil, err
	}
	for _, typ := range []string{"alerts", "list"} {
		if err := chatsim.WriteLive(ctx, c, typ, 0, 0); err != nil {
			c.CloseNow()
			return nil, err
		}
	}
	return c, nil
}

// page keeps one agent's inbox page open until ctx ends: it reads the
// socket, opens the newest conversation of the list in the thread pane
// (a subscribe on the same socket, switching every few seconds as newer
// ones come), and reconnects after a second when the socket ends, as the
// page's script does.
func (p *agentPages) page(ctx context.Context, ag *chatsim.Agent, c *websocket.Conn) {
	for ctx.Err() == nil {
		var (
			mu     sync.Mutex
			newest int64
			done   = make(chan error, 1)
		)
		go func() {
			for {
				f, err := chatsim.ReadLive(ctx, c)
				if err != nil {
					done <- err
					return
				}
				p.frames.Add(1)
				mu.Lock()
				for _, it := range f.Items {
					newest = max(newest, it.ID)
				}
				mu.Unlock()
			}
		}()
		var shown int64
		tick := time.NewTicker(2 * time.Second)
	loop:
		for {
			select {
			case err := <-done:
				if ctx.Err() == nil {
					p.mu.Lock()
					p.ended[endReason(err)]++
					p.mu.Unlock()
				}
				break loop
			case <-tick.C:
				mu.Lock()
				n := newest
				mu.Unlock()
				if n != 0 && n != shown && chatsim.WriteLive(ctx, c, "subscribe", n, 0) == nil {
					shown = n
				}
			}
		}
		tick.Stop()
		c.CloseNow()
		for ctx.Err() == nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			var err error
			if c, err = p.dial(ctx, ag); err == nil {
				break
			}
		}
	}
}

// endReason names how a page's socket ended, for the report.
func endReason(err error) string {
	if code := websocket.CloseStatus(err); code != -1 {
		return "close " + strconv.Itoa(int(code))
	}
	return "dropped"
}

// endedLine says how many page sockets ended during the step, and how.
func (p *agentPages) endedLine() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.ended) == 0 {
		return "no page socket ended"
	}
	return fmt.Sprintf("page sockets ended and reconnected: %v", p.ended)
}

func (p *agentPages) wait() { p.wg.Wait() }

// crowdRound runs n visitors: each opens its conversation, then every
// visitor keeps window messages in flight while acknowledgements are
// counted. It returns the acknowledged messages per second and checks by
// id that every message sent was stored once.
func crowdRound(ctx context.Context, sys *system, edge *process, pages *agentPages, o *visitorsOpts, n int, prefix string) (float64, error) {
	vctx, vstop := context.WithCancel(ctx)
	defer vstop()
	var running sync.WaitGroup
	defer running.Wait()
	defer vstop()
	vs := make([]*chatsim.Visitor, n)
	acks := make([]chan struct{}, n)
	var (
		acked    atomic.Int64
		ackedIDs sync.Map
		sent     atomic.Int64
		sentIDs  sync.Map
	)
	for i := range vs {
		acks[i] = make(chan struct{}, 1)
		vs[i] = chatsim.NewVisitor(chatsim.VisitorConfig{Edge: edge.url, Site: sys.demo.Site, Chatflow: sys.demo.ChatflowID,
			IDPrefix: fmt.Sprintf("%s%05d", prefix, i), OnFrame: func(f widget.Frame) {
				if f.Type == widget.FrameAck {
					if _, dup := ackedIDs.LoadOrStore(f.ID, struct{}{}); !dup {
						acked.Add(1)
					}
					select {
					case acks[i] <- struct{}{}:
					default:
					}
				}
			}})
		running.Add(1)
		go func() { defer running.Done(); vs[i].Run(vctx) }()
	}
	send := func(v *chatsim.Visitor, text string) {
		if id, err := v.Send(vctx, text); err == nil {
			sentIDs.Store(id, struct{}{})
			sent.Add(1)
		}
	}
	for _, v := range vs {
		send(v, "hello, I have a question")
	}
	if err := waitUntil(ctx, 120*time.Second, func() bool { return acked.Load() >= sent.Load() }); err != nil {
		return 0, fmt.Errorf("visitors: warm-up with %d: %d of %d acknowledged: %w", n, acked.Load(), sent.Load(), err)
	}
	// The round measures chatting, not the crowd's arrival: routing's
	// retries of the burst (the open step's subject) end first.
	settle := time.Now()
	waiting := func() int {
		var n int
		sys.db.QueryRowContext(ctx, `SELECT count(*) FROM conversations WHERE status = 'open' AND assignee_id IS NULL`).Scan(&n)
		return n
	}
	if err := waitUntil(ctx, 120*time.Second, func() bool { return waiting() == 0 }); err != nil {
		fmt.Printf("     %d conversations still unassigned after %s; measuring anyway\n", waiting(), since(settle))
	} else {
		fmt.Printf("     every conversation assigned %s after the warm-up\n", since(settle))
	}
	stop := saturate(vctx, vs, acks, o.window, func(v *chatsim.Visitor, k int) {
		send(v, "message "+strconv.Itoa(k)+" from a visitor in the crowd")
	})
	time.Sleep(2 * time.Second) // ramp up
	sys.printStatements(ctx)    // resets: what it prints next is the measured phase's
	profiles := fetchProfiles(ctx, o.measure, map[string]string{o.pprof: fmt.Sprintf("visitors-%d-backend.pprof", n), o.edgePprof: fmt.Sprintf("visitors-%d-edge.pprof", n)})
	defer profiles.Wait()
	a0, f0, c0, t0, load := acked.Load(), pages.frames.Load(), sys.cpuNow(), time.Now(), loadavg()
	time.Sleep(o.measure)
	a1, f1, c1, t1 := acked.Load(), pages.frames.Load(), sys.cpuNow(), time.Now()
	stop()
	secs := t1.Sub(t0).Seconds()
	rate := float64(a1-a0) / secs
	if err := waitUntil(ctx, 120*time.Second, func() bool { return acked.Load() >= sent.Load() }); err != nil {
		fmt.Printf("     drain: %d of %d acknowledged\n", acked.Load(), sent.Load())
	}
	// By id: every message sent acknowledged, and stored exactly once.
	lost := 0
	sentIDs.Range(func(k, _ any) bool {
		if _, ok := ackedIDs.Load(k); !ok {
			lost++
		}
		return true
	})
	var stored, distinct int64
	if err := sys.db.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT client_id) FROM messages WHERE client_id LIKE $1`,
		prefix+"%").Scan(&stored, &distinct); err != nil {
		return 0, err
	}
	per, sum := c1.perUnit(c0, float64(a1-a0))
	fmt.Printf("   %d visitors × %d in flight: %.0f durable msg/s over %.1fs; sent %d, acknowledged %d, stored %d (%d distinct ids): lost %d, duplicated %d\n",
		n, o.window, rate, secs, sent.Load(), acked.Load(), stored, distinct, lost, stored-distinct)
	fmt.Printf("     agents' pages received %.0f frames/s; CPU per message: %s; load average %s\n",
		float64(f1-f0)/secs, cpuLine(per, sum, "message"), load)
	fmt.Printf("     %s\n", pages.endedLine())
	sys.printStatements(ctx)
	return rate, nil
}

// printWarnings prints how many warnings and errors p logged, by message
// (the line without its time and attributes), at most n kinds.
func printWarnings(p *process, n int) {
	counts, first := map[string]int{}, map[string]string{}
	var kinds []string
	for _, l := range strings.Split(p.output(), "\n") {
		if !strings.Contains(l, " WARN ") && !strings.Contains(l, " ERROR ") {
			continue
		}
		whole := l
		if _, rest, ok := strings.Cut(l, " "); ok { // the date
			if _, rest, ok = strings.Cut(rest, " "); ok { // the time
				l = rest
			}
		}
		if i := strings.Index(l, "="); i > 0 {
			if j := strings.LastIndex(l[:i], " "); j > 0 {
				l = l[:j]
			}
		}
		if counts[l] == 0 {
			kinds = append(kinds, l)
			first[l] = whole
		}
		counts[l]++
	}
	if len(kinds) == 0 {
		return
	}
	fmt.Printf("   %s logged warnings or errors:\n", p.name)
	for _, k := range kinds[:min(n, len(kinds))] {
		fmt.Printf("     %d×, the first: %.300s\n", counts[k], first[k])
	}
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/backend/cmd/parley-load/chatsim"
	"github.com/parleychat/parley/widget"
)

type openOpts struct {
	visitors int
	agents   int
	backends string
	pprof    string
}

func openFlags(fs *flag.FlagSet) *openOpts {
	o := &openOpts{}
	fs.IntVar(&o.visitors, "open-visitors", 1000, "open: visitors that each open a conversation with a first message, all at once")
	fs.IntVar(&o.agents, "open-agents", 10, "open: available agents routing assigns among (least loaded)")
	fs.StringVar(&o.backends, "open-backends", "1,2", "open: rounds with this many backends (each with its own edge)")
	fs.StringVar(&o.pprof, "open-pprof", "", "open: serve the first backend's pprof on this address and write its CPU profile of each burst to open-N.pprof")
	return o
}

// Target of the open step.
const targetOpenPerSec = 1000

// runOpen measures how fast new conversations open for one account with
// routing on: N visitors, connected and welcomed, each send a first message
// at the same moment; each message opens a conversation that routing gives
// to the least-loaded of the agents. It prints conversations per second
// (first messages stored, and conversations assigned), the time from a
// visitor's send to its ack, the agents' loads against the rule, and CPU
// per conversation, for one backend and for two.
func runOpen(ctx context.Context, d dirs, o *openOpts) error {
	began := time.Now()
	fmt.Printf("== open: %d visitors each open a conversation with a first message, at once; routing on (%d agents, auto-assign, least loaded); %s\n", o.visitors, o.agents, linkDesc())
	sys, err := startSystem(ctx, d)
	if err != nil {
		return err
	}
	defer sys.close()
	fmt.Println("   database:", sys.describeDatabase(ctx))
	// A limit half again the fair share: the rule, not the limit, must spread them.
	limit := (o.visitors/o.agents)*3/2 + 1
	agents, err := sys.benchAgents(ctx, o.agents, limit)
	if err != nil {
		return err
	}
	for _, f := range strings.Split(o.backends, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("open: bad -open-backends %q", o.backends)
		}
		if err := openRound(ctx, sys, o, n, agents, limit); err != nil {
			return err
		}
		if err := sys.closeOpen(ctx); err != nil {
			return err
		}
	}
	fmt.Printf("   (open step took %s)\n", since(began))
	return nil
}

func openRound(ctx context.Context, sys *system, o *openOpts, n int, agents []benchAgent, limit int) error {
	var procs []*process
	defer func() {
		for _, p := range procs {
			p.stop()
		}
	}()
	var edges []*process
	for i := range n {
		var env []string
		if i == 0 && o.pprof != "" {
			env = append(env, "BACKEND_PPROF_ADDR="+o.pprof)
		}
		be, err := sys.startBackend(ctx, env...)
		if err != nil {
			return err
		}
		edge, err := sys.startEdge(ctx, be.url, "EDGE_RATE_BURST=1000000", "EDGE_RATE_PER_SECOND=1000000")
		if err != nil {
			return err
		}
		procs, edges = append(procs, be, edge), append(edges, edge)
	}
	// The agents are at work: signed in, the inbox page open (an agent
	// with no page open turns away and is given nothing).
	if err := sys.setAgentsAvailable(ctx, agents); err != nil {
		return err
	}
	pctx, pstop := context.WithCancel(ctx)
	pages, err := openAgentPages(pctx, edges[0].url, agents)
	if err != nil {
		pstop()
		return err
	}
	defer func() { pstop(); pages.wait() }() // before the servers stop (deferred earlier)
	prefix := fmt.Sprintf("o%d-", n)
	vctx, vstop := context.WithCancel(ctx)
	defer vstop()
	var running sync.WaitGroup
	defer running.Wait()
	defer vstop()
	vs := make([]*chatsim.Visitor, o.visitors)
	sentAt := make([]atomic.Int64, o.visitors)
	ackAt := make([]atomic.Int64, o.visitors)
	var acked atomic.Int64
	for i := range vs {
		vs[i] = chatsim.NewVisitor(chatsim.VisitorConfig{Edge: edges[i%n].url, Site: sys.demo.Site, Chatflow: sys.demo.ChatflowID,
			IDPrefix: fmt.Sprintf("%s%05d", prefix, i), OnFrame: func(f widget.Frame) {
				if f.Type == widget.FrameAck && ackAt[i].CompareAndSwap(0, time.Now().UnixNano()) {
					acked.Add(1)
				}
			}})
		running.Add(1)
		go func() { defer running.Done(); vs[i].Run(vctx) }()
	}
	if err := waitUntil(ctx, 120*time.Second, func() bool {
		for _, v := range vs {
			if !v.Connected() {
				return false
			}
		}
		return true
	}); err != nil {
		return fmt.Errorf("open: visitors connecting: %w", err)
	}
	time.Sleep(500 * time.Millisecond) // let the hellos' writes settle

	var profile chan error
	if o.pprof != "" {
		profile = make(chan error, 1)
		go func() { profile <- fetchProfile(ctx, o.pprof, 5, fmt.Sprintf("open-%d.pprof", n)) }()
		go func() {
			time.Sleep(3 * time.Second)
			fetchURL(ctx, "http://"+o.pprof+"/debug/pprof/goroutine?debug=1", fmt.Sprintf("open-%d.goroutines", n))
		}()
	}
	sys.printStatements(ctx) // resets: what follows is the burst's
	before, load := sys.cpuNow(), loadavg()
	t0 := time.Now()
	var sends sync.WaitGroup
	for i, v := range vs {
		sends.Add(1)
		go func() {
			defer sends.Done()
			sentAt[i].Store(time.Now().UnixNano())
			v.Send(vctx, "hello, is anyone there? I have a question about my order")
		}()
	}
	sends.Wait()
	if err := waitUntil(ctx, 120*time.Second, func() bool { return acked.Load() >= int64(o.visitors) }); err != nil {
		return fmt.Errorf("open: %d of %d first messages acknowledged: %w", acked.Load(), o.visitors, err)
	}
	var lastAck int64
	lat := make([]time.Duration, o.visitors)
	for i := range vs {
		lastAck = max(lastAck, ackAt[i].Load())
		lat[i] = time.Duration(ackAt[i].Load() - sentAt[i].Load())
	}
	stored := time.Unix(0, lastAck).Sub(t0)
	var waiting, total int
	err = waitUntil(ctx, 120*time.Second, func() bool {
		err := sys.db.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE assignee_id IS NULL), count(*) FROM conversations WHERE status = 'open'`).Scan(&waiting, &total)
		return err == nil && waiting == 0 && total >= o.visitors
	})
	assigned := time.Since(t0)
	after := sys.cpuNow()
	if err != nil {
		return fmt.Errorf("open: %d of %d conversations still unassigned: %w", waiting, total, err)
	}
	if profile != nil {
		if err := <-profile; err != nil {
			fmt.Println("   profile:", err)
		}
	}

	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	storedRate, assignedRate := float64(o.visitors)/stored.Seconds(), float64(o.visitors)/assigned.Seconds()
	fmt.Printf("   %d backend(s) and edge(s): %d conversations: first messages stored in %v (%.0f/s), all assigned in %v (%.0f/s); target ≥ %d/s: %s\n",
		n, o.visitors, r(stored), storedRate, r(assigned), assignedRate, targetOpenPerSec, verdict(assignedRate >= targetOpenPerSec))
	fmt.Printf("     time from send to first message stored (ack): p50 %v p99 %v max %v\n", r(lat[len(lat)/2]), r(lat[len(lat)*99/100]), r(lat[len(lat)-1]))

	// The rule: nobody over their limit, loads within one of each other.
	var loads []int
	rows, err := sys.db.QueryContext(ctx, `SELECT count(*) FROM conversations WHERE status = 'open' GROUP BY assignee_id`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var c int
		rows.Scan(&c)
		loads = append(loads, c)
	}
	rows.Close()
	sort.Ints(loads)
	exact := len(loads) == len(agents) && loads[0] >= loads[len(loads)-1]-1 && loads[len(loads)-1] <= limit
	fmt.Printf("     loads over %d agents: %v (limit %d): every one assigned, none over the limit, within one of each other: %s\n",
		len(loads), loads, limit, map[bool]string{true: "yes", false: "NO"}[exact])
	// Nothing lost or duplicated: one stored message and one conversation per visitor.
	var msgs, distinct, convs int
	if err := sys.db.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT client_id), count(DISTINCT conversation_id) FROM messages
		WHERE client_id LIKE $1`, prefix+"%").Scan(&msgs, &distinct, &convs); err != nil {
		return err
	}
	fmt.Printf("     first messages stored: %d of %d sent (%d distinct ids, %d conversations): lost %d, duplicated %d\n",
		msgs, o.visitors, distinct, convs, o.visitors-distinct, msgs-distinct)
	per, sum := after.perUnit(before, float64(o.visitors))
	fmt.Printf("     CPU per conversation: %s; load average before %s\n", cpuLine(per, sum, "conversation"), load)
	sys.printStatements(ctx)
	return nil
}

// fetchProfiles fetches, in the background, a CPU profile of about d from
// each pprof address of files (empty addresses skipped) into its file;
// Wait on the result for them to be written.
func fetchProfiles(ctx context.Context, d time.Duration, files map[string]string) *sync.WaitGroup {
	var wg sync.WaitGroup
	for addr, file := range files {
		if addr == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fetchProfile(ctx, addr, max(1, int(d.Seconds())-1), file); err != nil {
				fmt.Printf("   no profile from %s: %v\n", addr, err)
			}
		}()
	}
	return &wg
}

// fetchProfile writes a CPU profile of secs seconds from a pprof address to file.
func fetchProfile(ctx context.Context, addr string, secs int, file string) error {
	return fetchURL(ctx, "http://"+addr+"/debug/pprof/profile?seconds="+strconv.Itoa(secs), file)
}

// fetchURL writes what url answers to file.
func fetchURL(ctx context.Context, url, file string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, res.Body)
	return err
}

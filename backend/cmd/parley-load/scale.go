package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/backend/cmd/parley-load/chatsim"
	"github.com/parleychat/parley/widget"
)

type scaleOpts struct {
	visitors int
	window   int
	measure  time.Duration
	nats     string
}

func scaleFlags(fs *flag.FlagSet) *scaleOpts {
	o := &scaleOpts{}
	fs.IntVar(&o.visitors, "scale-visitors", 100, "scale: visitor sockets, spread over the edges")
	fs.IntVar(&o.window, "scale-window", 8, "scale: unacknowledged messages a visitor may have in flight")
	fs.DurationVar(&o.measure, "scale-measure", 10*time.Second, "scale: how long each saturated rate is measured")
	fs.StringVar(&o.nats, "nats", "", "scale: a nats-server binary; the backends then talk over NATS (BUS_URL) instead of LISTEN/NOTIFY")
	return o
}

// runScale measures durable messages per second with one backend and one
// edge, then with two of each, in the same run on the same database: each
// edge links to its own backend, the visitors are spread over the edges and
// one agent socket on the first backend follows every conversation, so half
// the messages reach it through the bus. Every message is counted by id.
func runScale(ctx context.Context, d dirs, o *scaleOpts) error {
	began := time.Now()
	bus := "LISTEN/NOTIFY"
	if o.nats != "" {
		bus = "NATS"
	}
	fmt.Printf("== scale: durable messages/s with one backend against two, same run, bus %s\n", bus)
	sys, err := startSystem(ctx, d)
	if err != nil {
		return err
	}
	defer sys.close()
	fmt.Println("   database:", sys.describeDatabase(ctx))
	var env []string
	if o.nats != "" {
		url, stop, err := startNATS(ctx, o.nats, sys.root)
		if err != nil {
			return err
		}
		defer stop()
		env = append(env, "BUS_URL="+url)
	}
	rates := map[int]float64{}
	for _, n := range []int{1, 2} {
		r, err := scaleRound(ctx, sys, o, n, env)
		if err != nil {
			return err
		}
		rates[n] = r
	}
	fmt.Printf("   two backends against one: %.0f / %.0f msg/s = %.2f× (on one machine both share its cores and its PostgreSQL;\n", rates[2], rates[1], rates[2]/max(rates[1], 1))
	fmt.Printf("     on separate machines the backends' CPU adds up and PostgreSQL's write rate is the ceiling)\n")
	fmt.Printf("   (scale step took %s)\n", since(began))
	return nil
}

func scaleRound(ctx context.Context, sys *system, o *scaleOpts, n int, env []string) (float64, error) {
	var procs []*process
	defer func() {
		for _, p := range procs {
			p.stop()
		}
	}()
	var edges []*process
	for range n {
		be, err := sys.startBackend(ctx, env...)
		if err != nil {
			return 0, err
		}
		edge, err := sys.startEdge(ctx, be.url, "EDGE_RATE_BURST=1000000", "EDGE_RATE_PER_SECOND=1000000")
		if err != nil {
			return 0, err
		}
		procs, edges = append(procs, be, edge), append(edges, edge)
	}
	agent, err := chatsim.SignIn(ctx, edges[0].url, sys.demo.AgentEmail, sys.demo.AgentPass)
	if err != nil {
		return 0, err
	}
	var (
		delivered, repeated atomic.Int64
		seen                sync.Map
	)
	wctx, wstop := context.WithCancel(ctx)
	prefix := fmt.Sprintf("s%d-", n) // the previous round's conversations are still open: skip them
	watcher := agent.Watch(wctx, func(f chatsim.LiveFrame) {
		if f.From != widget.FromVisitor || !strings.HasPrefix(f.ID, prefix) {
			return
		}
		if _, dup := seen.LoadOrStore(f.ID, struct{}{}); dup {
			repeated.Add(1)
			return
		}
		delivered.Add(1)
	})
	defer func() { wstop(); watcher.Wait() }()

	vctx, vstop := context.WithCancel(ctx)
	defer vstop()
	vs := make([]*chatsim.Visitor, o.visitors)
	acks := make([]chan struct{}, o.visitors)
	var sentIDs sync.Map
	var sent atomic.Int64
	for i := range vs {
		acks[i] = make(chan struct{}, 1)
		vs[i] = chatsim.NewVisitor(chatsim.VisitorConfig{Edge: edges[i%n].url, Site: sys.demo.Site, Chatflow: sys.demo.ChatflowID,
			IDPrefix: fmt.Sprintf("%s%05d", prefix, i), OnFrame: func(f widget.Frame) {
				if f.Type == widget.FrameAck {
					select {
					case acks[i] <- struct{}{}:
					default:
					}
				}
			}})
		go vs[i].Run(vctx)
	}
	send := func(v *chatsim.Visitor, text string) {
		if id, err := v.Send(vctx, text); err == nil {
			sentIDs.Store(id, struct{}{})
			sent.Add(1)
		}
	}
	for _, v := range vs {
		send(v, "hello, warming up")
	}
	if err := waitUntil(ctx, 60*time.Second, func() bool {
		return delivered.Load() >= sent.Load()
	}); err != nil {
		return 0, fmt.Errorf("warm-up with %d backends: %d conversations followed, %d of %d delivered: %w", n, watcher.Following(), delivered.Load(), sent.Load(), err)
	}
	stop := saturate(vctx, vs, acks, o.window, func(v *chatsim.Visitor, k int) {
		send(v, "message "+strconv.Itoa(k)+" of the scale bench")
	})
	time.Sleep(2 * time.Second) // ramp up
	d0, t0 := delivered.Load(), time.Now()
	time.Sleep(o.measure)
	d1, t1 := delivered.Load(), time.Now()
	stop()
	rate := float64(d1-d0) / t1.Sub(t0).Seconds()
	waitUntil(ctx, 60*time.Second, func() bool { return delivered.Load() >= sent.Load() })
	lost := 0
	sentIDs.Range(func(k, _ any) bool {
		if _, ok := seen.Load(k); !ok {
			lost++
		}
		return true
	})
	// The agent's list shows at most 200 conversations: close this round's
	// so the next round's agent follows its own.
	if _, err := sys.db.ExecContext(ctx, `UPDATE conversations SET status = 'closed', closed_at = now() WHERE status = 'open'`); err != nil {
		return 0, err
	}
	fmt.Printf("   %d backend(s), %d edge(s): %.0f durable msg/s reached the agent socket on backend 1; sent %d, lost %d, duplicated %d\n",
		n, n, rate, sent.Load(), lost, repeated.Load())
	return rate, nil
}

// startNATS runs one nats-server for a bench step and returns its URL.
func startNATS(ctx context.Context, bin, dir string) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.CommandContext(ctx, bin, "-a", "127.0.0.1", "-p", strconv.Itoa(port))
	logf, _ := os.Create(filepath.Join(dir, "nats.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() }
	url := "nats://127.0.0.1:" + strconv.Itoa(port)
	err = waitUntil(ctx, 30*time.Second, func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("nats-server did not start: %w", err)
	}
	return url, stop, nil
}

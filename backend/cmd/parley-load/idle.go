package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/widget"
)

type idleOpts struct {
	sockets int
	procs   int
	conc    int
	edges   int
}

func idleFlags(fs *flag.FlagSet) *idleOpts {
	o := &idleOpts{}
	fs.IntVar(&o.sockets, "sockets", 19000, "idle: visitor sockets to open, spread over the edges")
	fs.IntVar(&o.procs, "idle-procs", 4, "idle: client processes (each holds sockets/idle-procs, from its own 127.0.0.x, against one edge)")
	fs.IntVar(&o.edges, "idle-edges", 1, "idle: edge processes (each one process's file limit of sockets at most)")
	fs.IntVar(&o.conc, "idle-conc", 32, "idle: concurrent dials per client process")
	return o
}

const (
	targetIdleSockets = 50000
	// targetIdleSocketsScaled is the target across several edges of one machine.
	targetIdleSocketsScaled = 70000
	targetKBPerSocket       = 25.0
)

func runIdle(ctx context.Context, d dirs, o *idleOpts) error {
	began := time.Now()
	o.edges = max(o.edges, 1)
	fmt.Printf("== idle: visitor sockets %d edge(s) hold, and their memory per socket\n", o.edges)
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	sys, err := startSystem(ctx, d)
	if err != nil {
		return err
	}
	defer sys.close()
	fmt.Println("   database:", sys.describeDatabase(ctx))
	be, err := sys.startBackend(ctx)
	if err != nil {
		return err
	}
	var edges []*process
	for range o.edges {
		edge, err := sys.startEdge(ctx, be.url)
		if err != nil {
			return err
		}
		edges = append(edges, edge)
	}
	time.Sleep(time.Second) // let start-up work (asset compression) finish
	edgesRSS := func() (int64, error) {
		var sum int64
		for _, e := range edges {
			kb, err := e.rssKB()
			if err != nil {
				return 0, err
			}
			sum += kb
		}
		return sum, nil
	}
	edge0, _ := edgesRSS()
	be0, _ := be.rssKB()

	exe, err := os.Executable()
	if err != nil {
		return err
	}
	per := (o.sockets + o.procs - 1) / o.procs
	type result struct {
		ok, failed int
		err        error
	}
	results := make(chan result, o.procs)
	var children []*exec.Cmd
	var stdins []io.WriteCloser
	defer func() {
		for _, in := range stdins {
			in.Close() // the children close their sockets and exit
		}
		for _, c := range children {
			done := make(chan struct{})
			go func() { c.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				c.Process.Kill()
				<-done
			}
		}
	}()
	dialStart := time.Now()
	for k := range o.procs {
		n := min(per, o.sockets-k*per)
		if n <= 0 {
			break
		}
		src := fmt.Sprintf("127.0.0.%d", 2+k)
		edge := edges[k%len(edges)]
		c := exec.CommandContext(ctx, exe, "hold", "-edge", edge.url, "-site", sys.demo.Site, "-chatflow", sys.demo.ChatflowID,
			"-n", strconv.Itoa(n), "-src", src, "-conc", strconv.Itoa(o.conc))
		c.Stderr = os.Stderr
		in, _ := c.StdinPipe()
		out, _ := c.StdoutPipe()
		if err := c.Start(); err != nil {
			return err
		}
		children, stdins = append(children, c), append(stdins, in)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				var r result
				if _, err := fmt.Sscanf(sc.Text(), "ready %d %d", &r.ok, &r.failed); err == nil {
					results <- r
					return
				}
			}
			results <- result{err: errors.New("a client process ended before holding its sockets")}
		}()
	}
	held, failed := 0, 0
	openWithin := max(150*time.Second, time.Duration(o.sockets)*10*time.Millisecond)
	for range children {
		select {
		case r := <-results:
			if r.err != nil {
				return r.err
			}
			held += r.ok
			failed += r.failed
		case <-time.After(openWithin):
			return fmt.Errorf("idle: the client processes took over %v to open their sockets", openWithin)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	opened := time.Since(dialStart)
	time.Sleep(3 * time.Second) // settle: handshakes done, hello answered
	edge1, err := edgesRSS()
	if err != nil {
		return err
	}
	be1, _ := be.rssKB()
	var links int
	for _, edge := range edges {
		var health struct {
			Links int `json:"links"`
		}
		if res, err := http.Get(edge.url + "/healthz"); err == nil {
			json.NewDecoder(res.Body).Decode(&health)
			res.Body.Close()
		}
		links += health.Links
	}

	perSocket := float64(edge1-edge0) / float64(max(held, 1))
	fmt.Printf("   held %d idle visitor sockets (hello answered) on %d edge(s), from %d client processes on 127.0.0.2-127.0.0.%d; %d failed; opened in %v; edge links up: %d\n",
		held, len(edges), len(children), 1+len(children), failed, opened.Round(100*time.Millisecond), links)
	fmt.Printf("   edge RSS %d KB → %d KB: %.1f KB per socket; target ≤ %.0f KB: %s\n", edge0, edge1, perSocket, targetKBPerSocket, verdict(perSocket <= targetKBPerSocket))
	fmt.Printf("   (backend RSS %d KB → %d KB: %.1f KB per visitor session it carries)\n", be0, be1, float64(be1-be0)/float64(max(held, 1)))
	if len(edges) > 1 {
		fmt.Printf("   target %d sockets over %d edges on this machine: %s (%d per edge; one edge process holds at most ~%d here, its file limit %d)\n",
			targetIdleSocketsScaled, len(edges), verdict(held >= targetIdleSocketsScaled), held/len(edges), int(lim.Cur)-100, lim.Cur)
	} else {
		fmt.Printf("   target %d sockets: %s here. One socket is one file descriptor in the edge, and this machine's limit is %d (soft) / %d (hard) per process and cannot be raised (no CAP_SYS_RESOURCE),\n",
			targetIdleSockets, verdict(held >= targetIdleSockets), lim.Cur, lim.Max)
		fmt.Printf("     so one edge process can hold at most ~%d. At the measured %.1f KB per socket, %d sockets need %d × %.1f KB ≈ %.0f MB of edge memory\n",
			int(lim.Cur)-100, perSocket, targetIdleSockets, targetIdleSockets, perSocket, float64(targetIdleSockets)*perSocket/1024)
		fmt.Printf("     and an fd limit of at least %d (e.g. LimitNOFILE=65536 in the edge's systemd unit), or three edges at this limit.\n", targetIdleSockets+100)
	}
	fmt.Printf("   (idle step took %s)\n", since(began))
	return nil
}

// runHold is one client process of the idle step: it opens n visitor
// sockets from source address src, says hello on each, prints "ready OK
// FAILED" and holds them, answering pings, until its stdin closes.
func runHold(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("hold", flag.ExitOnError)
	edge := fs.String("edge", "", "edge base URL")
	site := fs.String("site", "", "site")
	chatflow := fs.String("chatflow", "", "chatflow")
	n := fs.Int("n", 1000, "sockets")
	src := fs.String("src", "127.0.0.1", "source address")
	conc := fs.Int("conc", 32, "concurrent dials")
	fs.Parse(args)
	ip := net.ParseIP(*src)
	if ip == nil {
		return fmt.Errorf("hold: bad source address %q", *src)
	}
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true}}
	url := "ws" + strings.TrimPrefix(*edge, "http") + "/ws"
	hello := []byte(widget.EncodeFrame(widget.Frame{Type: widget.FrameHello, V: widget.ProtocolVersion, Site: *site, Chatflow: *chatflow, Page: "https://shop.example/bench"}))

	hctx, stop := context.WithCancel(ctx)
	defer stop()
	var (
		mu     sync.Mutex
		conns  []*websocket.Conn
		ok     atomic.Int64
		failed atomic.Int64
		// retried counts dials tried again; reported on stderr.
		retried atomic.Int64
		next    atomic.Int64
		wg      sync.WaitGroup
		lastEr  atomic.Value
	)
	open := func() error {
		dctx, cancel := context.WithTimeout(hctx, 60*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(dctx, url, &websocket.DialOptions{HTTPClient: client})
		if err != nil {
			return err
		}
		if err := c.Write(dctx, websocket.MessageText, hello); err != nil {
			c.CloseNow()
			return err
		}
		for {
			_, data, err := c.Read(dctx)
			if err != nil {
				c.CloseNow()
				return err
			}
			var f widget.Frame
			if json.Unmarshal(data, &f) == nil && f.Type == widget.FrameWelcome {
				break
			}
		}
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
		// Read on: that answers the edge's pings, and drops whatever else comes.
		go func() {
			for {
				if _, _, err := c.Read(hctx); err != nil {
					return
				}
			}
		}()
		return nil
	}
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(*n) {
				// Like the widget: a refused or dropped dial (a backend
				// too busy to answer hello in time) is tried again, with backoff.
				var err error
				for attempt := range 4 {
					if err = open(); err == nil || hctx.Err() != nil {
						break
					}
					retried.Add(1)
					time.Sleep(time.Duration(500<<attempt) * time.Millisecond)
				}
				if err != nil {
					failed.Add(1)
					lastEr.Store(err.Error())
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if r := retried.Load(); r > 0 {
		fmt.Fprintf(os.Stderr, "hold %s: %d dials tried again\n", *src, r)
	}
	if e, _ := lastEr.Load().(string); e != "" {
		fmt.Fprintf(os.Stderr, "hold %s: %d sockets failed; last error: %s\n", *src, failed.Load(), e)
	}
	fmt.Printf("ready %d %d\n", ok.Load(), failed.Load())
	io.Copy(io.Discard, os.Stdin) // hold until the parent closes our stdin
	stop()
	mu.Lock()
	defer mu.Unlock()
	for _, c := range conns {
		c.CloseNow()
	}
	return nil
}

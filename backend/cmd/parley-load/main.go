// Command parley-load measures Parley under load, each step on a throwaway
// system of its own (a private PostgreSQL cluster with production settings,
// the demo account, parley-backend and parley-edge from the bin folder):
//
//	parley-load [flags] throughput   durable messages per second, visitor sockets → edge → backend → agent socket,
//	                                  with pgbench's single-row INSERT rate on the same cluster as the baseline,
//	                                  and end-to-end latency at a fixed rate
//	parley-load [flags] idle         idle visitor sockets one edge holds, and the edge's memory per socket
//	parley-load [flags] config       published-config requests per second at the edge against a static file,
//	                                  counting the edge's requests to the backend
//	parley-load [flags] mail         the same durable message rate without and with the email outbox delivering
//	                                  to a local Mailpit, side by side, and the outbox's delivery rate alone
//	parley-load [flags] scale        durable messages per second with one backend and edge, then two of each,
//	                                  same run (-nats bin/nats-server: over NATS)
//	parley-load [flags] open         new conversations per second for one account with routing on (N visitors
//	                                  open one each at once; 10 agents, least loaded), one backend and two
//	parley-load [flags] visitors     durable messages per second with 100 visitors and then 1,000, 10 agents
//	                                  signed in with the inbox page (list and thread) open each, and the ratio
//	parley-load [flags] cpu          CPU µs per message per process (edge, backend, PostgreSQL) at a fixed
//	                                  1,000 msg/s with p50/p99 visitor → agent, pgbench's INSERT rate beside
//	parley-load [flags] all          throughput, idle and config in a row
//
// `make bench` runs each step. Every figure is printed with the target it
// is held to; the process exits non-zero only when a step cannot run, not
// when a target is missed (the figures are the result).
package main

import (
	"net/http"
	_ "net/http/pprof"

	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	var d dirs
	flag.StringVar(&d.bin, "bin", "bin", "folder with parley-backend and parley-edge")
	flag.StringVar(&d.public, "public", "public", "the edge's public folder")
	flag.StringVar(&d.build, "build", "build", "the edge's build folder (widget.wasm)")
	tp := throughputFlags(flag.CommandLine)
	id := idleFlags(flag.CommandLine)
	cf := configFlags(flag.CommandLine)
	mo := mailFlags(flag.CommandLine)
	sc := scaleFlags(flag.CommandLine)
	op := openFlags(flag.CommandLine)
	vo := visitorsFlags(flag.CommandLine)
	co := cpuFlags(flag.CommandLine)
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: parley-load [flags] throughput|idle|config|mail|scale|open|visitors|cpu|all\n")
		flag.PrintDefaults()
	}
	pprofAddr := flag.String("pprof", "", "serve this process's net/http/pprof on this address (the servers take BACKEND_PPROF_ADDR and EDGE_PPROF_ADDR)")
	flag.StringVar(&linkOver, "link", "socket", "how each edge reaches its backend: socket (a Unix socket, BACKEND_SOCKET, as deploy/ sets up one machine) or tcp (loopback TCP)")
	flag.IntVar(&pgStatements, "pg-statements", 0, "print this many of PostgreSQL's costliest statements after each measured phase (loads pg_stat_statements)")
	flag.Parse()
	if linkOver != "socket" && linkOver != "tcp" {
		fmt.Fprintf(os.Stderr, "parley-load: -link is socket or tcp, not %q\n", linkOver)
		os.Exit(2)
	}
	if *pprofAddr != "" {
		go http.ListenAndServe(*pprofAddr, nil)
	}
	// The servers' logs stay in their processes; ours would only interleave.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch step := flag.Arg(0); step {
	case "throughput":
		err = runThroughput(ctx, d, tp)
	case "idle":
		err = runIdle(ctx, d, id)
	case "config":
		err = runConfig(ctx, d, cf)
	case "mail":
		err = runMail(ctx, d, tp, mo)
	case "scale":
		err = runScale(ctx, d, sc)
	case "open":
		err = runOpen(ctx, d, op)
	case "visitors":
		err = runVisitors(ctx, d, vo)
	case "cpu":
		err = runCPU(ctx, d, co)
	case "all":
		for _, f := range []func() error{
			func() error { return runThroughput(ctx, d, tp) },
			func() error { return runIdle(ctx, d, id) },
			func() error { return runConfig(ctx, d, cf) },
		} {
			if err = f(); err != nil {
				break
			}
		}
	case "hold":
		// Internal: one process of the idle step's clients.
		err = runHold(ctx, flag.Args()[1:])
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "parley-load:", err)
		os.Exit(1)
	}
}

// verdict labels a figure against its target.
func verdict(ok bool) string {
	if ok {
		return "target met"
	}
	return "TARGET MISSED"
}

// since formats the time a step took.
func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }

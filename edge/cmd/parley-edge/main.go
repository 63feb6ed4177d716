// Command parley-edge runs Parley's public edge: static files and the
// widget, site configs, visitor WebSockets relayed to the backend, and a
// reverse proxy for the inbox and the admin API.
//
// Settings come from the environment (EDGE_ADDR, BACKEND_URL, LINK_SECRET,
// PUBLIC_DIR, BUILD_DIR, EDGE_LINKS, EDGE_CONFIG_TTL, EDGE_RATE_BURST,
// EDGE_RATE_PER_SECOND); flags of the same meaning override them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/parleychat/parley/edge/internal/edge"
	"github.com/parleychat/parley/internal/logging"
	"github.com/parleychat/parley/internal/metrics"
	"github.com/parleychat/parley/internal/profiling"
	"github.com/parleychat/parley/internal/version"
)

func main() {
	logging.Setup()
	s := edge.SettingsFromEnv()
	addr := os.Getenv("EDGE_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	flag.StringVar(&addr, "addr", addr, "listen address (EDGE_ADDR)")
	flag.StringVar(&s.BackendURL, "backend", s.BackendURL, "backend base URL (BACKEND_URL)")
	flag.StringVar(&s.PublicDir, "public", s.PublicDir, "static files folder (PUBLIC_DIR)")
	flag.StringVar(&s.BuildDir, "build", s.BuildDir, "built widget folder (BUILD_DIR)")
	flag.IntVar(&s.LinkCount, "links", s.LinkCount, "WebSocket links to the backend (EDGE_LINKS)")
	flag.DurationVar(&s.ConfigTTL, "config-ttl", s.ConfigTTL, "how long a site config is cached (EDGE_CONFIG_TTL)")
	drain := defaultDrainTime
	if v := os.Getenv("EDGE_DRAIN_TIME"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			drain = d
		} else {
			slog.Warn("EDGE_DRAIN_TIME is not a positive duration; using the default", "value", v, "default", drain)
		}
	}
	flag.DurationVar(&drain, "drain", drain, "on SIGTERM, the longest the edge takes to close its sockets and exit (EDGE_DRAIN_TIME)")
	certFile, keyFile := os.Getenv("EDGE_TLS_CERT"), os.Getenv("EDGE_TLS_KEY")
	flag.StringVar(&certFile, "tls-cert", certFile, "PEM certificate chain: serve HTTPS and wss:// (EDGE_TLS_CERT)")
	flag.StringVar(&keyFile, "tls-key", keyFile, "PEM private key of -tls-cert (EDGE_TLS_KEY)")
	metricsAddr := os.Getenv("EDGE_METRICS_ADDR")
	if metricsAddr == "" {
		metricsAddr = defaultMetricsAddr
	}
	flag.StringVar(&metricsAddr, "metrics", metricsAddr, `address of /metrics and /readyz, apart from the public one; "off" for none (EDGE_METRICS_ADDR)`)
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println("parley-edge", version.Version)
		return
	}
	if metricsAddr == metrics.Off {
		metrics.Disable()
	}
	if (certFile == "") != (keyFile == "") {
		slog.Error("EDGE_TLS_CERT and EDGE_TLS_KEY go together")
		os.Exit(2)
	}
	if s.LinkSecret == "" {
		slog.Warn("LINK_SECRET is empty; the backend will refuse the edge's links unless it is empty there too")
	}
	assetDir, err := useEmbedded(&s.PublicDir, &s.BuildDir)
	if err != nil {
		slog.Error("starting the edge", "err", err)
		os.Exit(1)
	}
	if assetDir != "" {
		defer os.RemoveAll(assetDir)
		slog.Info("serving the assets embedded in this binary")
	}

	srv, err := edge.New(s)
	if err != nil {
		slog.Error("starting the edge", "err", err)
		os.Exit(1)
	}
	profiling.StartFromEnv("EDGE_PPROF_ADDR")
	metrics.Serve(metricsAddr, srv.Metrics(), map[string]http.Handler{"GET /readyz": srv, "GET /healthz": srv})
	hs := &http.Server{
		Addr:              addr,
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	scheme := "http"
	if certFile != "" {
		scheme = "https"
		go func() { errc <- hs.ListenAndServeTLS(certFile, keyFile) }()
	} else {
		go func() { errc <- hs.ListenAndServe() }()
	}
	slog.Info("edge listening", "version", version.Version, "addr", scheme+"://"+addr, "backend", s.BackendURL)

	select {
	case err := <-errc:
		slog.Error("edge stopped", "err", err)
		os.Exit(1)
	case <-ctx.Done():
	}
	slog.Info("edge draining", "drain_time", drain)
	start := time.Now()
	// Stop accepting at once (Shutdown closes the listener first, then waits
	// for proxied requests in flight); close every visitor socket with
	// 1012, service restart, so widgets reconnect at once to another edge
	// or to this one restarted; then drop the links. All within drain.
	dctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- hs.Shutdown(dctx) }()
	srv.Drain(dctx)
	if err := <-shut; err != nil && !errors.Is(err, context.DeadlineExceeded) {
		slog.Warn("edge shutdown", "err", err)
	}
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-dctx.Done():
		slog.Warn("edge drain time over; exiting with sockets still open")
	}
	slog.Info("edge stopped", "took", time.Since(start).Round(time.Millisecond))
}

// defaultMetricsAddr is EDGE_METRICS_ADDR's default: loopback only.
const defaultMetricsAddr = "127.0.0.1:9180"

// defaultDrainTime is how long a stopping edge may take to close its
// visitor sockets and links (EDGE_DRAIN_TIME): widgets answer a close at
// once, so seconds are plenty; it must stay under the service manager's
// stop timeout (systemd's TimeoutStopSec, 90 s by default).
const defaultDrainTime = 10 * time.Second

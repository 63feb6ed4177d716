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
	"github.com/parleychat/parley/backend/profiling"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/parleychat/parley/edge"
)

func main() {
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
	flag.Parse()
	if s.LinkSecret == "" {
		slog.Warn("LINK_SECRET is empty; the backend will refuse the edge's links unless it is empty there too")
	}

	srv, err := edge.New(s)
	if err != nil {
		slog.Error("starting the edge", "err", err)
		os.Exit(1)
	}
	profiling.StartFromEnv("EDGE_PPROF_ADDR")
	hs := &http.Server{
		Addr:              addr,
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- hs.ListenAndServe() }()
	slog.Info("edge listening", "addr", "http://"+addr, "backend", s.BackendURL, "demo", "http://"+addr+"/demo/")

	select {
	case err := <-errc:
		slog.Error("edge stopped", "err", err)
		os.Exit(1)
	case <-ctx.Done():
	}
	slog.Info("edge shutting down")
	// Stop taking requests, then close the visitor sockets with 1013 (by
	// dropping the links) so widgets reconnect elsewhere or after restart.
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		slog.Warn("edge shutdown", "err", err)
	}
	srv.Close()
}

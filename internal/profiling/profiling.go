// Package profiling serves net/http/pprof on a separate, opt-in address, so
// a running backend or edge can be profiled under load without exposing the
// profiler on the public listener.
package profiling

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
)

// StartFromEnv serves the profiler on the address in the environment
// variable name (e.g. BACKEND_PPROF_ADDR=127.0.0.1:6061), if it is set.
func StartFromEnv(name string) {
	addr := os.Getenv(name)
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	go func() {
		slog.Info("profiler listening", "addr", addr)
		if err := http.ListenAndServe(addr, mux); err != nil {
			slog.Warn("profiler", "err", err)
		}
	}()
}

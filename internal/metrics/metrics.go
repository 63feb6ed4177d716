// Package metrics serves Prometheus metrics on an address of their own,
// apart from the public one, and holds what backend and edge share about
// them: the listener, the off switch and HTTP request instrumentation.
package metrics

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Off is the value of BACKEND_METRICS_ADDR or EDGE_METRICS_ADDR that turns
// metrics off: no listener, and the hot paths skip their counting.
const Off = "off"

// Enabled says whether the hot paths count. It is set once at start,
// before any request (Disable), and only read afterwards.
var Enabled = true

// Disable turns counting off for the process.
func Disable() { Enabled = false }

// NewRegistry returns a registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler serves reg in Prometheus's text format.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slogErrors{}})
}

// Serve listens on addr and serves GET /metrics (and nothing else) from
// reg, in the background. addr "off" serves nothing; a listener that cannot
// start is logged, not fatal: the service runs on without its metrics.
// It returns the address bound ("" when none), for tests using port 0.
func Serve(addr string, reg *prometheus.Registry, extra map[string]http.Handler) string {
	if addr == "" || addr == Off {
		return ""
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		slog.Error("metrics listener", "addr", addr, "err", err)
		return ""
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", Handler(reg))
	for p, h := range extra {
		mux.Handle(p, h)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("metrics listener", "addr", addr, "err", err)
		}
	}()
	slog.Info("metrics listening", "addr", "http://"+ln.Addr().String()+"/metrics")
	return ln.Addr().String()
}

type slogErrors struct{}

func (slogErrors) Println(v ...any) { slog.Warn("metrics", "err", v) }

// LatencyBuckets are the request and append latency buckets, in seconds:
// 0.5 ms to 10 s.
var LatencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// HTTP counts requests by route pattern (never the raw path: one series
// per route, whatever the ids in it), method and status, and their latency.
type HTTP struct {
	Requests *prometheus.CounterVec
	Latency  *prometheus.HistogramVec
}

// NewHTTP registers the request metrics of service ("backend" or "edge") on reg.
func NewHTTP(reg prometheus.Registerer, service string) *HTTP {
	h := &HTTP{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_" + service + "_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parley_" + service + "_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request (until the handler returns; a WebSocket counts its whole life), by route pattern.",
			Buckets: LatencyBuckets,
		}, []string{"route", "method"}),
	}
	reg.MustRegister(h.Requests, h.Latency)
	return h
}

// Observe records one answered request. route "" (nothing matched) is
// recorded as "unmatched".
func (h *HTTP) Observe(route, method string, status int, took time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		method = "other" // a client's made-up method must not make a series
	}
	h.Requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	h.Latency.WithLabelValues(route, method).Observe(took.Seconds())
}

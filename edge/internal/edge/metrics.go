package edge

import (
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/internal/logging"
	"github.com/parleychat/parley/internal/metrics"
)

// edgeMetrics are one edge's metrics, on a registry of its own (an edge
// is a value: tests run several in one process).
type edgeMetrics struct {
	reg         *prometheus.Registry
	http        *metrics.HTTP
	framesIn    prometheus.Counter
	framesOut   prometheus.Counter
	rateLimited prometheus.Counter
	// cacheLookups counts requests to the config, mobile and knowledge-base
	// caches; hits are those lookups that needed no fetch of their own.
	configLookups, mobileLookups, kbLookups atomic.Int64
}

func newEdgeMetrics(srv *Server) *edgeMetrics {
	m := &edgeMetrics{reg: metrics.NewRegistry()}
	m.http = metrics.NewHTTP(m.reg, "edge")
	m.framesIn = prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_edge_visitor_frames_in_total",
		Help: "Frames received from visitor sockets."})
	m.framesOut = prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_edge_visitor_frames_out_total",
		Help: "Frames written to visitor sockets."})
	m.rateLimited = prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_edge_rate_limited_total",
		Help: "Visitor sockets closed for sending frames too fast (4429)."})
	m.reg.MustRegister(m.framesIn, m.framesOut, m.rateLimited,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "parley_edge_visitor_sockets",
			Help: "Open visitor sockets."}, func() float64 { return float64(srv.visitors.count()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "parley_edge_links",
			Help: "Links to the backend that are up."}, func() float64 { return float64(srv.Pool.Live()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "parley_edge_link_queue_depth",
			Help: "Envelopes waiting in the links' write queues, all links together."}, func() float64 { return float64(srv.Pool.queued()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "parley_edge_link_reconnects_total",
			Help: "Links dialed again after one dropped (dials beyond one per link slot)."}, func() float64 {
			return float64(max(0, srv.Pool.Dials()-int64(srv.s.LinkCount)))
		}),
		cacheHits("config", "site configs", &m.configLookups, srv.Configs),
		cacheHits("mobile", "mobile tag resolutions", &m.mobileLookups, srv.Mobile),
	)
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "parley_edge_kb_lookups_total",
		Help: "Knowledge-base reads asked of the edge."}, func() float64 { return float64(m.kbLookups.Load()) }))
	return m
}

// cacheHits counts a cache's lookups that needed no backend fetch of their
// own (concurrent misses share one fetch and count as hits).
func cacheHits(name, what string, lookups *atomic.Int64, c *ConfigCache) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "parley_edge_" + name + "_cache_hits_total",
		Help: "Lookups of " + what + " served from the edge's memory."}, func() float64 {
		return float64(max(0, lookups.Load()-int64(c.Fetches())))
	})
}

// queued returns how many envelopes wait in the live links' write queues.
func (p *Pool) queued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.links {
		n += len(l.out.Out)
	}
	return n
}

// Metrics returns the edge's metrics registry, for metrics.Serve.
func (srv *Server) Metrics() *prometheus.Registry { return srv.metrics.reg }

// statusWriter remembers the status a handler wrote. Unwrap keeps
// http.ResponseController (hijacking for WebSockets, flushing for the
// proxy) working through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// serveObserved routes r with a request id (the client's when well formed,
// else a new one) that the proxy passes to the backend, counts it by route
// pattern, and logs every request but static files.
func (srv *Server) serveObserved(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get(logging.RequestIDHeader)
	if !logging.ValidRequestID(id) {
		id = logging.NewRequestID()
		r.Header.Set(logging.RequestIDHeader, id)
	}
	w.Header().Set(logging.RequestIDHeader, id)
	sw := &statusWriter{ResponseWriter: w}
	srv.mux.ServeHTTP(sw, r)
	status := sw.status
	if status == 0 {
		status = http.StatusSwitchingProtocols // hijacked: a WebSocket
		if r.Pattern != "/ws" {
			status = http.StatusOK
		}
	}
	took := time.Since(start)
	switch r.Pattern {
	case "/v1/sites/{site}/config":
		srv.metrics.configLookups.Add(1)
	case "/v1/sites/{site}/mobile/{tag}":
		srv.metrics.mobileLookups.Add(1)
	case "/v1/sites/{site}/kb/{kb}/{rest...}":
		srv.metrics.kbLookups.Add(1)
	}
	if metrics.Enabled {
		srv.metrics.http.Observe(r.Pattern, r.Method, status, took)
	}
	if r.Pattern != "/" || status >= http.StatusInternalServerError {
		slog.Info("request", "request_id", id, "method", r.Method, "route", r.Pattern, "path", r.URL.Path,
			"status", status, "duration_ms", float64(took.Microseconds())/1000)
	}
}

// readyz answers 200 while the edge can carry visitors: a link to the
// backend is up and it is not draining; 503 otherwise.
func (srv *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case srv.Draining():
		http.Error(w, "draining", http.StatusServiceUnavailable)
	case srv.Pool.Live() == 0:
		http.Error(w, "no link to the backend", http.StatusServiceUnavailable)
	default:
		w.Write([]byte("ready\n"))
	}
}

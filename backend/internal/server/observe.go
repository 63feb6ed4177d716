package server

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/parleychat/parley/backend/internal/chat"
	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/backend/internal/inbox"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/internal/logging"
	"github.com/parleychat/parley/internal/metrics"
)

// newRegistry registers the backend's metrics: HTTP requests, the
// database pool, appends, links and sockets, notice lag.
func newRegistry(s *Server) (*prometheus.Registry, *metrics.HTTP) {
	reg := metrics.NewRegistry()
	reg.MustRegister(collectors.NewDBStatsCollector(s.DB.DB, "parley"))
	reg.MustRegister(store.Collectors()...)
	reg.MustRegister(chat.LinksOpen, chat.VisitorSessions, inbox.AgentSockets, events.NoticeLag)
	return reg, metrics.NewHTTP(reg, "backend")
}

// observe is the first middleware: the request id (the edge's, or a new
// one) goes on the response and the log line; the request is counted by
// its route pattern (gin's FullPath, never the raw path).
func observe(h *metrics.HTTP) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		id := c.GetHeader(logging.RequestIDHeader)
		if !logging.ValidRequestID(id) {
			id = logging.NewRequestID()
		}
		c.Header(logging.RequestIDHeader, id)
		c.Next()
		took := time.Since(start)
		status := c.Writer.Status()
		if metrics.Enabled {
			h.Observe(c.FullPath(), c.Request.Method, status, took)
		}
		level := slog.LevelInfo
		if status >= http.StatusInternalServerError {
			level = slog.LevelWarn
		}
		slog.Log(c, level, "request", "request_id", id, "method", c.Request.Method, "route", c.FullPath(),
			"path", c.Request.URL.Path, "status", status, "duration_ms", float64(took.Microseconds())/1000)
	}
}

// readyz answers 200 when the backend can serve: the database answers and
// the backend is not stopping; 503 otherwise. (/healthz, liveness, says the
// process runs.)
func (s *Server) readyz(c *gin.Context) {
	if s.stopping.Load() {
		c.String(http.StatusServiceUnavailable, "stopping")
		return
	}
	if err := s.Store.Ping(c); err != nil {
		c.String(http.StatusServiceUnavailable, "database unavailable")
		return
	}
	c.String(http.StatusOK, "ready")
}

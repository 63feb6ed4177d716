package chat

import "github.com/prometheus/client_golang/prometheus"

// Chat engine metrics, registered by the backend on its metrics registry.
var (
	// LinksOpen is how many edge links this backend holds.
	LinksOpen = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "parley_backend_links",
		Help: "Open links from edges.",
	})
	// VisitorSessions is how many visitor sockets reach this backend over
	// its links.
	VisitorSessions = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "parley_backend_visitor_sessions",
		Help: "Visitor sessions carried by the edges' links.",
	})
)

package inbox

import "github.com/prometheus/client_golang/prometheus"

// AgentSockets is how many agent pages' live sockets are open on this
// backend; registered by the backend on its metrics registry.
var AgentSockets = prometheus.NewGauge(prometheus.GaugeOpts{
	Name: "parley_backend_agent_sockets",
	Help: "Open live sockets of agent pages.",
})

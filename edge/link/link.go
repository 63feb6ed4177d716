// Package link is the multiplexed connection between an edge and a backend.
//
// An edge holds a few long-lived WebSockets to each backend (at
// /internal/link, authorised by the shared link secret) and carries every
// visitor socket over them as a session. Each WebSocket message is one
// Envelope in JSON.
package link

import "encoding/json"

// Path is where a backend accepts links.
const Path = "/internal/link"

// Envelope kinds.
const (
	Open  = "open"  // edge → backend: a visitor socket opened (Meta set)
	Data  = "data"  // either way: one visitor frame, verbatim in Frame
	Close = "close" // either way: the session ended; backend → edge asks the edge to close with Code and Reason
)

// Envelope wraps one visitor frame or session event on a link.
type Envelope struct {
	Session uint64          `json:"s"`
	Kind    string          `json:"k"`
	Frame   json.RawMessage `json:"f,omitempty"`
	Meta    *Meta           `json:"m,omitempty"`
	Code    int             `json:"c,omitempty"`
	Reason  string          `json:"r,omitempty"`
}

// Meta describes the visitor socket behind a session.
type Meta struct {
	RemoteIP  string `json:"ip"`
	Origin    string `json:"origin"`
	UserAgent string `json:"ua"`
}

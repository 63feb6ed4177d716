// Package logging sets up the process's log format and carries the request
// id that ties an edge's log line to the backend's for the same request.
package logging

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
)

// Setup makes slog's default logger write text (LOG_FORMAT unset or
// "text") or one JSON object a line (LOG_FORMAT=json) to standard error.
func Setup() {
	switch f := os.Getenv("LOG_FORMAT"); f {
	case "json":
		slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	case "", "text":
	default:
		slog.Warn("LOG_FORMAT is text or json; using text", "value", f)
	}
}

// RequestIDHeader carries a request's id from the edge to the backend and
// back to the client.
const RequestIDHeader = "X-Request-Id"

// NewRequestID returns a random request id (16 hex digits).
func NewRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ValidRequestID accepts an id a proxy passed on: 1 to 64 letters, digits,
// dashes and underscores, so a client cannot forge log lines with it.
func ValidRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Package link is the multiplexed connection between an edge and a backend.
//
// An edge holds a few long-lived WebSockets to each backend (at
// /internal/link, authorised by the shared link secret) and carries every
// visitor socket over them as a session. Each WebSocket message is one
// Envelope in JSON.
package link

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
)

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
	RemoteIP string `json:"ip"`
	// Origin is the page's Origin header; empty for apps and for pages
	// the edge serves itself (the inbox's preview).
	Origin    string `json:"origin"`
	UserAgent string `json:"ua"`
}

// A link message carries one Envelope object or, when a writer found several
// waiting, a JSON array of them: one write and one read instead of many.
// Writers keep a batch under MaxBatchBytes; an envelope bigger than that
// travels alone.
const MaxBatchBytes = 32 << 10

// Batcher joins encoded envelopes into link messages.
type Batcher struct {
	buf []byte // "[" and the envelopes so far, comma-separated
	n   int
}

// Add appends one encoded envelope if the batch has room for it (an empty
// batch always takes it) and reports whether it did.
func (b *Batcher) Add(env []byte) bool {
	if b.n > 0 && len(b.buf)+len(env)+2 > MaxBatchBytes {
		return false
	}
	if b.n == 0 {
		b.buf = append(b.buf[:0], '[')
	} else {
		b.buf = append(b.buf, ',')
	}
	b.buf = append(b.buf, env...)
	b.n++
	return true
}

// Len is how many envelopes wait in the batch.
func (b *Batcher) Len() int { return b.n }

// Message returns the batch as one link message (a lone envelope stays an
// object) and empties the batcher. The slice is valid until the next Add.
func (b *Batcher) Message() []byte {
	n := b.n
	b.n = 0
	if n == 1 {
		return b.buf[1:]
	}
	b.buf = append(b.buf, ']')
	return b.buf
}

// Pump writes what arrives on out as link messages, each carrying whatever
// waited when it was made, until ctx ends or write fails (its error is
// returned). encode turns one queued item into an encoded envelope.
func Pump[T any](ctx context.Context, out <-chan T, encode func(T) []byte, write func([]byte) error) error {
	var b Batcher
	var carry []byte // an envelope the last batch had no room for
	for {
		if carry == nil {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case v := <-out:
				carry = encode(v)
			}
		}
		b.Add(carry)
		carry = nil
		// Let the goroutines that are ready run first: what they queue
		// meanwhile shares this write.
		runtime.Gosched()
	more:
		for {
			select {
			case v := <-out:
				enc := encode(v)
				if !b.Add(enc) {
					carry = enc
					break more
				}
			default:
				break more
			}
		}
		if err := write(b.Message()); err != nil {
			return err
		}
	}
}

// Decode calls fn for each envelope of a link message, in order.
func Decode(msg []byte, fn func(Envelope)) error {
	msg = bytes.TrimLeft(msg, " \t\r\n")
	if len(msg) > 0 && msg[0] == '[' {
		var envs []Envelope
		if err := json.Unmarshal(msg, &envs); err != nil {
			return err
		}
		for _, e := range envs {
			fn(e)
		}
		return nil
	}
	var e Envelope
	if err := json.Unmarshal(msg, &e); err != nil {
		return err
	}
	fn(e)
	return nil
}

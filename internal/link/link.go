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
	"errors"
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
func (b *Batcher) Add(env []byte) bool { return b.AddN(env, 1) }

// AddN appends n encoded envelopes, comma-separated in envs, that must
// travel in the same link message (an ack and the message it
// acknowledges, say), if the batch has room for them (an empty batch always
// takes them), and reports whether it did.
func (b *Batcher) AddN(envs []byte, n int) bool {
	if b.n > 0 && len(b.buf)+len(envs)+2 > MaxBatchBytes {
		return false
	}
	if b.n == 0 {
		b.buf = append(b.buf[:0], '[')
	} else {
		b.buf = append(b.buf, ',')
	}
	b.buf = append(b.buf, envs...)
	b.n += n
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
// returned). encode turns one queued item into n encoded envelopes,
// comma-separated, appended to dst (a scratch buffer Pump reuses) or in
// a slice of the item's own, which must then stay unchanged until the next
// call.
func Pump[T any](ctx context.Context, out <-chan T, encode func(dst []byte, v T) (envs []byte, n int), write func([]byte) error) error {
	var b Batcher
	var scratch []byte // where items are encoded, grown to the largest
	var carry []byte   // envelopes the last batch had no room for (a copy)
	carryN := 0
	add := func(v T) bool {
		enc, n := encode(scratch[:0], v)
		if cap(enc) > cap(scratch) && cap(scratch) < MaxBatchBytes {
			scratch = enc[:0] // grown by encode: keep the larger buffer
		}
		if !b.AddN(enc, n) {
			carry, carryN = append(carry[:0], enc...), n
			return false
		}
		return true
	}
	for {
		if carryN == 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case v := <-out:
				add(v) // an empty batch takes anything
			}
		} else {
			b.AddN(carry, carryN)
			carryN = 0
		}
		// Let the goroutines that are ready run first: what they queue
		// meanwhile shares this write.
		runtime.Gosched()
	more:
		for {
			select {
			case v := <-out:
				if !add(v) {
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

// Decode calls fn for each envelope of a link message, in order. The
// envelopes' frames may share msg's memory.
func Decode(msg []byte, fn func(Envelope)) error {
	msg = bytes.TrimLeft(msg, " \t\r\n")
	if len(msg) == 0 || msg[0] != '[' {
		return decodeOne(msg, fn)
	}
	// Each element on its own: the writers' envelopes take a fast path,
	// anything else goes through encoding/json.
	rest := skipSpace(msg[1:])
	if len(rest) > 0 && rest[0] == ']' {
		if len(skipSpace(rest[1:])) != 0 {
			return errBadMessage
		}
		return nil
	}
	for {
		end := valueEnd(rest)
		if end < 0 {
			return errBadMessage
		}
		if err := decodeOne(rest[:end], fn); err != nil {
			return err
		}
		rest = skipSpace(rest[end:])
		if len(rest) == 0 {
			return errBadMessage
		}
		switch rest[0] {
		case ',':
			rest = skipSpace(rest[1:])
		case ']':
			if len(skipSpace(rest[1:])) != 0 {
				return errBadMessage
			}
			return nil
		default:
			return errBadMessage
		}
	}
}

var errBadMessage = errors.New("link: malformed link message")

// decodeOne decodes one envelope object.
func decodeOne(b []byte, fn func(Envelope)) error {
	if e, ok := decodeFast(b); ok {
		fn(e)
		return nil
	}
	var e Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return err
	}
	fn(e)
	return nil
}

// decodeFast decodes the envelopes the writers build by hand,
// {"s":N,"k":"KIND"} with an optional ,"f":OBJECT, without reflection;
// false for anything else.
func decodeFast(b []byte) (Envelope, bool) {
	var e Envelope
	rest, ok := bytes.CutPrefix(b, []byte(`{"s":`))
	if !ok {
		return e, false
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i == 0 || i > 19 || (i > 1 && rest[0] == '0') {
		return e, false
	}
	for _, c := range rest[:i] {
		e.Session = e.Session*10 + uint64(c-'0')
	}
	rest = rest[i:]
	switch {
	case bytes.HasPrefix(rest, []byte(`,"k":"data"`)):
		e.Kind, rest = Data, rest[len(`,"k":"data"`):]
	case bytes.HasPrefix(rest, []byte(`,"k":"close"`)):
		e.Kind, rest = Close, rest[len(`,"k":"close"`):]
	default:
		return e, false
	}
	if f, ok := bytes.CutPrefix(rest, []byte(`,"f":`)); ok && len(f) > 1 && f[0] == '{' {
		end := valueEnd(f)
		if end < 0 || string(f[end:]) != "}" {
			return e, false
		}
		e.Frame = json.RawMessage(f[:end:end])
		return e, true
	}
	return e, string(rest) == "}"
}

func skipSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	return b
}

// valueEnd returns where the JSON object, array or string at the start of b
// ends, or -1. It only balances brackets and skips strings: what lies
// between is checked by whoever decodes the value.
func valueEnd(b []byte) int {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			i++
			for i < len(b) && b[i] != '"' {
				if b[i] == '\\' {
					i++
				}
				i++
			}
			if i >= len(b) {
				return -1
			}
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
			if depth < 0 {
				return -1
			}
		default:
			if depth == 0 {
				return -1
			}
		}
	}
	return -1
}

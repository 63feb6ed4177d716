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
	"sync"
	"sync/atomic"
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

// Sender writes one link's messages for many goroutines. A sender that
// finds the link idle (nothing queued, no write under way) writes its
// envelopes at once on its own goroutine (TrySend), sparing a hand-off to
// the writer and its wake-up; otherwise they queue on Out for Pump, which
// joins what waits into one message. Envelopes keep the order they were
// sent in either way.
type Sender[T any] struct {
	// Out is the queue; Queue sends on it, Pump drains it.
	Out chan T
	// Encode turns one item into n encoded envelopes, comma-separated:
	// appended to dst (a scratch buffer the Sender reuses, and replaces
	// by what Encode returns when that is larger), or always in a slice
	// of the item's own that nothing else changes (then Encode never
	// writes to dst).
	Encode func(dst []byte, v T) (envs []byte, n int)
	// Write writes one link message.
	Write func([]byte) error

	queued  atomic.Int64 // items queued or taken by Pump and not yet written
	mu      sync.Mutex   // held while writing
	b       Batcher
	scratch []byte // where items are encoded, grown to the largest
	carry   []byte // envelopes the last batch had no room for (a copy)
	carryN  int
	failed  error // a write failed: the link is dead
}

// TrySend writes v at once when the link is idle and reports whether it
// did (with the write's error); false means v must go through Queue.
func (s *Sender[T]) TrySend(v T) (bool, error) {
	if s.queued.Load() != 0 || !s.mu.TryLock() {
		return false, nil
	}
	defer s.mu.Unlock()
	if s.queued.Load() != 0 {
		return false, nil // queued meanwhile: those go first
	}
	if s.failed != nil {
		return true, s.failed
	}
	s.add(v)
	return true, s.flush()
}

// Queue queues v for Pump, waiting while Out is full (backpressure) until
// done or ctx ends, which it reports as false.
func (s *Sender[T]) Queue(ctx context.Context, done <-chan struct{}, v T) bool {
	s.queued.Add(1) // before the send: no TrySend may overtake v
	select {
	case s.Out <- v:
		return true
	case <-done:
	case <-ctx.Done():
	}
	s.queued.Add(-1)
	return false
}

// TryQueue queues v if Out has room, without waiting.
func (s *Sender[T]) TryQueue(v T) bool {
	s.queued.Add(1)
	select {
	case s.Out <- v:
		return true
	default:
		s.queued.Add(-1)
		return false
	}
}

// add encodes v into the batch, or into carry when the batch has no room;
// mu is held.
func (s *Sender[T]) add(v T) bool {
	enc, n := s.Encode(s.scratch[:0], v)
	if cap(enc) > cap(s.scratch) && cap(s.scratch) < MaxBatchBytes {
		s.scratch = enc[:0] // grown by Encode: keep the larger buffer
	}
	if !s.b.AddN(enc, n) {
		s.carry, s.carryN = append(s.carry[:0], enc...), n
		return false
	}
	return true
}

// flush writes the batch; mu is held.
func (s *Sender[T]) flush() error {
	err := s.Write(s.b.Message())
	if err != nil {
		s.failed = err
	}
	return err
}

// Pump writes what is queued on Out as link messages, each carrying
// whatever waited when it was made, until ctx ends or a write fails (its
// error is returned).
func (s *Sender[T]) Pump(ctx context.Context) error {
	for {
		var v T
		select {
		case <-ctx.Done():
			return ctx.Err()
		case v = <-s.Out:
		}
		// Let the goroutines that are ready run first: what they queue
		// meanwhile shares this write.
		runtime.Gosched()
		s.mu.Lock()
		if s.failed != nil {
			s.mu.Unlock()
			return s.failed
		}
		taken := int64(1)
		full := !s.add(v)
		for !full {
			select {
			case v := <-s.Out:
				taken++
				full = !s.add(v)
			default:
				full = true
			}
		}
		for {
			if err := s.flush(); err != nil {
				s.mu.Unlock()
				return err
			}
			if s.carryN == 0 {
				break
			}
			s.b.AddN(s.carry, s.carryN)
			s.carryN = 0
		}
		s.queued.Add(-taken)
		s.mu.Unlock()
	}
}

// Pump writes what arrives on out as link messages with a Sender of its
// own: each carries whatever waited when it was made, until ctx ends or
// write fails (its error is returned). encode is as Sender.Encode.
func Pump[T any](ctx context.Context, out chan T, encode func(dst []byte, v T) (envs []byte, n int), write func([]byte) error) error {
	s := &Sender[T]{Out: out, Encode: encode, Write: write}
	return s.Pump(ctx)
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

package events

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Batching limits of the sender.
const (
	// MaxPayload stays under PostgreSQL's 8000-byte NOTIFY payload limit.
	MaxPayload = 7000
	// sendQueue is how many notices may wait for the sender; past it Send
	// publishes locally and the remote backends catch up on the next notice.
	sendQueue = 8192
	// sendEvery is the least time between two batches. Over LISTEN/NOTIFY
	// each batch is a transaction of its own, with a commit record, and a
	// wake-up of every listening backend: at a thousand messages a second,
	// batches of whatever waited after the last round trip came every few
	// messages. Under load the other backends hear of a change up to this
	// much later; this backend's own subscribers hear of it at once.
	sendEvery = 10 * time.Millisecond
)

// batch is the NOTIFY payload of a batching sender: notices from one origin.
type batch struct {
	Origin string `json:"o"` // first: decode tells batches by it
	// At is when the batch was sent, in Unix microseconds, for NoticeLag
	// (0 from a sender that does not say).
	At      int64    `json:"t,omitempty"`
	Notices []Notice `json:"n"`
}

// NoticeLag is how long other backends' batches took to arrive here, from
// their send to this backend's decoding (clocks of different machines
// differ: keep them synchronised).
var NoticeLag = prometheus.NewHistogram(prometheus.HistogramOpts{
	Name:    "parley_backend_notice_lag_seconds",
	Help:    "Delay of notices from other backends: their NOTIFY to this backend's receipt.",
	Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
})

// Send announces a committed change. This process's subscribers hear of it
// at once; other backends through one NOTIFY per batch, sent outside the
// writer's transaction. Committing a transaction that issued NOTIFY takes a
// database-wide lock until the commit is flushed, which serialises every
// writer; batching after commit keeps message writes parallel. A backend that
// dies between a commit and its batch (a millisecond) delays other backends'
// view of that event until the conversation's next notice.
//
// Several notices sent together (a batch of messages committed at once)
// reach each subscriber together: its goroutine wakes once for all of them
// rather than once each.
func (b *Bus) Send(ns ...Notice) {
	b.publish(ns)
	for _, n := range ns {
		select {
		case b.queue <- n:
		default:
			slog.Warn("events: send queue full; notice published locally only", "notice", n.String())
		}
	}
}

func (b *Bus) sendLoop() {
	var last time.Time // when the last batch went
	for first := range b.queue {
		notices, size := []Notice{first}, 64
		// Busy: the batch waits until sendEvery after the last one, taking
		// what comes meanwhile. Idle: it goes at once.
		if wait := time.Until(last.Add(sendEvery)); wait > 0 {
			t := time.NewTimer(wait)
			notices, size = b.gather(notices, size, t.C)
			t.Stop()
		}
		// Then whatever else is waiting: batches grow with load, idle adds no delay.
		notices, _ = b.gather(notices, size, nil)
		last = time.Now()
		b.remote.send(notices)
	}
}

// encode makes the wire form of a batch of this process's notices.
func (b *Bus) encode(notices []Notice) []byte {
	payload, _ := json.Marshal(batch{Origin: b.origin, At: time.Now().UnixMicro(), Notices: notices})
	return payload
}

// decode reads a wire payload: a batch, or one Notice (a NOTIFY of the
// store's fallback). Batches from this process were published locally
// already and are skipped.
func (b *Bus) decode(payload []byte) []Notice {
	if len(payload) > 4 && payload[0] == '{' && payload[2] == 'o' {
		if bytes.HasPrefix(payload, b.own) {
			return nil // this process's own, heard back: not worth decoding
		}
		var bt batch
		if err := json.Unmarshal(payload, &bt); err != nil || bt.Origin == b.origin {
			return nil
		}
		if bt.At > 0 {
			NoticeLag.Observe(max(0, time.Since(time.UnixMicro(bt.At)).Seconds()))
		}
		return bt.Notices
	}
	var n Notice
	if err := json.Unmarshal(payload, &n); err != nil {
		return nil
	}
	return []Notice{n}
}

// gather adds queued notices to notices (of payload size so far) until the
// payload is full or the queue closes, and until fires; with until nil,
// until the queue is empty.
func (b *Bus) gather(notices []Notice, size int, until <-chan time.Time) ([]Notice, int) {
	for size < MaxPayload {
		var (
			n  Notice
			ok bool
		)
		if until == nil {
			select {
			case n, ok = <-b.queue:
			default:
				return notices, size
			}
		} else {
			select {
			case n, ok = <-b.queue:
			case <-until:
				return notices, size
			}
		}
		if !ok {
			return notices, size
		}
		notices = append(notices, n)
		size += 64
	}
	return notices, size
}

package events

import (
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
func (b *Bus) Send(n Notice) {
	b.Publish(n)
	select {
	case b.queue <- n:
	default:
		slog.Warn("events: send queue full; notice published locally only", "notice", n.String())
	}
}

func (b *Bus) sendLoop() {
	var last time.Time // when the last batch went
	for first := range b.queue {
		notices := []Notice{first}
		size := 64
		// Busy: the batch waits until sendEvery after the last one, taking
		// what comes meanwhile. Idle: it goes at once.
		if wait := time.Until(last.Add(sendEvery)); wait > 0 {
			t := time.NewTimer(wait)
		gather:
			for size < MaxPayload {
				select {
				case n, ok := <-b.queue:
					if !ok {
						break gather
					}
					notices = append(notices, n)
					size += 64
				case <-t.C:
					break gather
				}
			}
			t.Stop()
		}
	drain: // take whatever else is waiting: batches grow with load, idle adds no delay
		for size < MaxPayload {
			select {
			case n, ok := <-b.queue:
				if !ok {
					break drain
				}
				notices = append(notices, n)
				size += 64
			default:
				break drain
			}
		}
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

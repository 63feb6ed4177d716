package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"

	"github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/internal/metrics"
)

// Group commit of message appends. Appends arriving while earlier ones are
// being written wait and then go to the database together: one statement
// and one commit for the lot. An append arriving on an idle store is written
// at once, alone, so batching adds no delay at low load; under load batches
// grow by themselves and PostgreSQL's per-statement and per-commit work is
// shared by many messages. In between (messages flowing steadily, each
// batch done before the next message comes) batches start at most every
// appendCycle, so that each carries a cycle's messages instead of one.
const (
	// appendInFlight is how many batches may be written at once: one.
	// Two (one waiting for its commit's flush while the next executes)
	// fought over the same pages and locks (the conversations' rows, the
	// messages' indexes' last pages): at a fixed 1,000 messages a second
	// on two cores PostgreSQL spent about 60% more CPU per message and
	// p99 latency was three times higher than with one, whose batches
	// simply grow while it commits.
	appendInFlight = 1
	// appendMaxBatch bounds one statement's work and its row locks.
	appendMaxBatch = 256
	// appendTimeout bounds one batch's statement.
	appendTimeout = 15 * time.Second
	// appendCycle is how soon after the start of the batch before a batch
	// may start while messages flow steadily (that batch ended less than
	// appendSteady ago). A batch's fixed work (a round trip, the
	// statement's start, a commit and its WAL flush, the notice to other
	// backends, the wake-ups of every socket it answers) costs about as
	// much as writing several messages, so a batch should carry many.
	// Counted from the start, a batch carries a whole cycle's messages
	// however fast the one before was written: at 1,000 messages a second
	// about twenty. Against a 12 ms cycle, alternating runs of parley-load
	// cpu measured up to a fifth less PostgreSQL CPU per message (less on
	// a fast hour) for about 5 ms more median latency; p99 stayed at
	// 24–37 ms, of the 50 it may take from visitor to agent, in all runs
	// but one (117 ms, on a loaded hour). A message on a
	// quiet store never waits. Under heavier load, once appendLingerBelow
	// messages wait, the batch goes at once.
	appendCycle       = 20 * time.Millisecond
	appendSteady      = 30 * time.Millisecond
	appendLingerBelow = 28
)

// appendReq is one AppendMessage waiting for its batch.
type appendReq struct {
	m    NewMessage
	done chan appendRes // buffered: the batch never waits for a caller
	at   time.Time      // when it was queued (for AppendSeconds; zero with metrics off)
}

// Append metrics, registered by the backend on its metrics registry.
var (
	// MessagesStored counts messages and notes written by AppendMessage
	// (not resends of stored ones, nor refused ones).
	MessagesStored = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parley_backend_messages_stored_total",
		Help: "Messages and notes stored (resends of stored ones not counted).",
	})
	// AppendSeconds is the time from AppendMessage queueing a message until
	// its batch committed: the wait for the batch and its statement.
	AppendSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "parley_backend_append_duration_seconds",
		Help:    "Time from queueing a message to its batch's commit.",
		Buckets: metrics.LatencyBuckets,
	})
	// AppendBatchSize is how many messages each batch statement wrote.
	AppendBatchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "parley_backend_append_batch_size",
		Help:    "Messages per group-commit batch.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
	})
)

// Collectors returns the store's metrics, for a registry.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{MessagesStored, AppendSeconds, AppendBatchSize}
}

// appendRes is what the batch statement said about one message.
type appendRes struct {
	account, id, seq sql.NullInt64
	storedBefore     bool // the client id was stored already: a resend
	refused          bool // RequireOpen and the conversation is not open
	at               sql.NullTime
	err              error
}

// appender queues appends and runs their batches.
type appender struct {
	mu      sync.Mutex
	pending []*appendReq
	running int // batches in flight
	// waited is when an append last found every batch slot writing: the
	// message path was saturated then (AppendsWaitedWithin).
	waited time.Time
	// started and ended are when the last batch began and was written;
	// lingering is set while the next waits for company (appendCycle): an
	// append arriving then did not wait for a busy database, and wakes
	// the batch (full) once appendLingerBelow messages wait.
	started, ended time.Time
	lingering      bool
	full           chan struct{}
}

// submit queues r and makes sure a batch runner will take it.
func (s *Store) submitAppend(r *appendReq) {
	if metrics.Enabled {
		r.at = time.Now()
	}
	a := &s.appends
	a.mu.Lock()
	a.pending = append(a.pending, r)
	start := a.running < appendInFlight
	if start {
		a.running++
	} else if !a.lingering {
		a.waited = time.Now()
	} else if len(a.pending) >= appendLingerBelow {
		select {
		case a.full <- struct{}{}:
		default:
		}
	}
	a.mu.Unlock()
	if start {
		go s.runAppends()
	}
}

// AppendsWaitedWithin reports whether, within d, a message append had to
// wait because every batch slot was writing: the message path is
// saturated, and background work (the email senders) yields to it.
func (s *Store) AppendsWaitedWithin(d time.Duration) bool {
	a := &s.appends
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.waited.IsZero() && time.Since(a.waited) < d
}

// WaitAppends returns once no append waits or is being written (or when
// ctx ends, with its error): a stopping backend calls it after its callers
// have stopped, before closing the database, so that what it accepted is
// committed, not cut off.
func (s *Store) WaitAppends(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		a := &s.appends
		a.mu.Lock()
		idle := len(a.pending) == 0 && a.running == 0
		a.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// runAppends writes batches until nothing waits. It runs in a goroutine of
// its own, so no caller's latency includes other callers' batches.
func (s *Store) runAppends() {
	a := &s.appends
	for {
		a.mu.Lock()
		if len(a.pending) == 0 {
			a.running--
			a.mu.Unlock()
			return
		}
		if wait := time.Until(a.started.Add(appendCycle)); wait > 0 && len(a.pending) < appendLingerBelow &&
			!a.ended.IsZero() && time.Since(a.ended) < appendSteady {
			// Messages are flowing: let the cycle's others join this batch.
			if a.full == nil {
				a.full = make(chan struct{}, 1)
			}
			a.lingering = true
			a.mu.Unlock()
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-a.full:
				t.Stop()
			}
			a.mu.Lock()
			a.lingering = false
			select { // a wake-up sent as the timer fired
			case <-a.full:
			default:
			}
		}
		a.started = time.Now()
		n := min(len(a.pending), appendMaxBatch)
		batch := make([]*appendReq, n)
		copy(batch, a.pending)
		a.pending = append(a.pending[:0], a.pending[n:]...)
		a.mu.Unlock()
		s.writeBatch(batch)
		a.mu.Lock()
		a.ended = time.Now()
		a.mu.Unlock()
	}
}

// appendBatchSQL stores several messages in one statement: the function
// append_messages (migrations 0046 and 0047) keeps its plan for
// the connection, where a batch statement of its own was planned afresh for
// each batch (planning a small batch cost more than writing it). Conversation
// rows are locked in id order, so concurrent batches never deadlock; each
// conversation's new messages take consecutive sequence numbers in queue
// order. A client id stored before is left alone (and reported), as is a
// message to a conversation that must be open and is not.
const appendBatchSQL = `SELECT ord, stored_before, account_id, refused, id, seq, created_at
	FROM append_messages($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::boolean[], $6::text[], $7::boolean[], $8::boolean[])`

// writeBatch writes batch and hands every caller its row. Twins (the same
// client id for the same conversation twice in one batch) are written once;
// the later one reads as a resend. A deadlock with some other writer is
// retried once, as is a twin another backend stored while this batch
// waited for a conversation's lock (the statement's unique violation: the
// retry finds it stored before); any other error fails the whole batch,
// and each caller's client retries (appends are idempotent).
func (s *Store) writeBatch(batch []*appendReq) {
	type key struct {
		conv   int64
		client string
	}
	var (
		seen  = map[key]bool{}
		rows  = make([]*appendReq, 0, len(batch))
		twins []*appendReq
	)
	for _, r := range batch {
		if r.m.ClientID != "" {
			k := key{r.m.ConversationID, r.m.ClientID}
			if seen[k] {
				twins = append(twins, r)
				continue
			}
			seen[k] = true
		}
		rows = append(rows, r)
	}
	res, err := s.execBatch(rows)
	var pe *pq.Error
	if errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001" ||
		pe.Code == "23505" && pe.Constraint == "messages_conversation_id_client_id_key") {
		res, err = s.execBatch(rows)
	}
	if metrics.Enabled {
		stored := 0
		for i, r := range rows {
			AppendSeconds.Observe(time.Since(r.at).Seconds())
			if err == nil && res[i].id.Valid {
				stored++
			}
		}
		MessagesStored.Add(float64(stored))
		AppendBatchSize.Observe(float64(len(rows)))
	}
	if err == nil && s.send != nil {
		// The batch's messages are announced together, before their
		// callers hear: every subscriber (the chat hub, the inbox's row
		// feed, each agent page's socket) wakes once for the lot instead
		// of once per message, as each caller announced its own.
		var ns []events.Notice
		for i, r := range rows {
			if res[i].id.Valid {
				ns = append(ns, r.notice(res[i]))
			}
		}
		if len(ns) > 0 {
			s.send(ns...)
		}
	}
	for i, r := range rows {
		if err != nil {
			r.done <- appendRes{err: err}
			continue
		}
		r.done <- res[i]
	}
	for _, r := range twins {
		if err != nil {
			r.done <- appendRes{err: err}
			continue
		}
		// Stored by its twin a moment ago: answered like a resend.
		r.done <- appendRes{storedBefore: true}
	}
}

func (s *Store) execBatch(rows []*appendReq) ([]appendRes, error) {
	n := len(rows)
	var (
		convs     = make([]int64, n)
		clients   = make([]sql.NullString, n)
		authors   = make([]string, n)
		authorIDs = make([]sql.NullInt64, n)
		internal  = make([]bool, n)
		bodies    = make([]string, n)
		open      = make([]bool, n)
		offline   = make([]bool, n)
	)
	for i, r := range rows {
		m := r.m
		convs[i], authors[i], internal[i], bodies[i], open[i] = m.ConversationID, m.AuthorType, m.Internal, m.Body, m.RequireOpen
		offline[i] = m.ConfirmOffline
		clients[i] = sql.NullString{String: m.ClientID, Valid: m.ClientID != ""}
		authorIDs[i] = sql.NullInt64{Int64: m.AuthorID, Valid: m.AuthorID != 0}
	}
	ctx, cancel := context.WithTimeout(context.Background(), appendTimeout)
	defer cancel()
	stmt, err := s.prepared(ctx, appendBatchSQL)
	if err != nil {
		return nil, err
	}
	q, err := stmt.QueryContext(ctx, pq.Array(convs), pq.Array(clients), pq.Array(authors),
		pq.Array(authorIDs), pq.Array(internal), pq.Array(bodies), pq.Array(open), pq.Array(offline))
	if err != nil {
		return nil, err
	}
	defer q.Close()
	out := make([]appendRes, n)
	for q.Next() {
		var ord int64
		var r appendRes
		if err := q.Scan(&ord, &r.storedBefore, &r.account, &r.refused, &r.id, &r.seq, &r.at); err != nil {
			return nil, err
		}
		if ord < 1 || ord > int64(n) {
			return nil, errors.New("store: append batch returned an unknown row")
		}
		out[ord-1] = r
	}
	return out, q.Err()
}

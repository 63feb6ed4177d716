package events

import (
	"context"
	"database/sql"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/lib/pq"
)

// pgTransport carries notices over LISTEN/NOTIFY: every backend receives
// every batch (one channel), which is right for one machine or a few.
type pgTransport struct {
	bus      *Bus
	listener *pq.Listener
	sendDB   *sql.DB // the batching sender's connections
	// notify is the NOTIFY, prepared (on each of sendDB's connections) by
	// the first send that reaches the database: parsed and planned anew
	// for every batch, it cost PostgreSQL more than running it.
	notify *sql.Stmt
}

func listenPG(b *Bus, dsn string) (*pgTransport, error) {
	// A notification needs no durability (it is delivered at commit, and a
	// crash loses the listeners' connections anyway): the sender's commits
	// do not wait for their WAL to be flushed.
	sendDSN, err := withParam(dsn, "synchronous_commit", "off")
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("postgres", sendDSN)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(2)
	t := &pgTransport{bus: b, sendDB: db}
	t.listener = pq.NewListener(dsn, 100*time.Millisecond, 2*time.Second, func(ev pq.ListenerEventType, err error) {
		if ev == pq.ListenerEventReconnected {
			b.missedAll()
		}
		if err != nil {
			slog.Warn("events: listener", "event", ev, "err", err)
		}
	})
	if err := t.listener.Listen(Channel); err != nil && !strings.Contains(err.Error(), "already") {
		// The listener keeps retrying in the background; a down database at start is not fatal.
		slog.Warn("events: listen", "err", err)
	}
	go t.run()
	return t, nil
}

func (t *pgTransport) run() {
	for n := range t.listener.Notify {
		if n == nil { // connection re-established: anything may have been missed
			t.bus.missedAll()
			continue
		}
		t.bus.receive(t.bus.decode([]byte(n.Extra)))
	}
}

func (t *pgTransport) send(notices []Notice) {
	payload := string(t.bus.encode(notices))
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := t.prepare(ctx)
		if err == nil {
			_, err = t.notify.ExecContext(ctx, Channel, payload)
		}
		cancel()
		if err == nil {
			return
		}
		if attempt == 2 {
			// The database is unreachable: other backends resynchronise when
			// their listeners reconnect to it.
			slog.Warn("events: notify failed", "notices", len(notices), "err", err)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// prepare makes notify unless it is made; only the sender's goroutine
// calls it.
func (t *pgTransport) prepare(ctx context.Context) error {
	if t.notify != nil {
		return nil
	}
	st, err := t.sendDB.PrepareContext(ctx, `SELECT pg_notify($1, $2)`)
	if err != nil {
		return err
	}
	t.notify = st
	return nil
}

// withParam adds a run-time parameter to a connection string (a URL or
// key=value pairs); lib/pq sends it at connection start.
func withParam(dsn, name, value string) (string, error) {
	if !strings.Contains(dsn, "://") {
		return strings.TrimSpace(dsn) + " " + name + "=" + value, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set(name, value)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (t *pgTransport) watch(int64)   {}
func (t *pgTransport) unwatch(int64) {}

func (t *pgTransport) close() error {
	t.sendDB.Close()
	return t.listener.Close()
}

package events

import (
	"context"
	"database/sql"
	"log/slog"
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
}

func listenPG(b *Bus, dsn string) (*pgTransport, error) {
	db, err := sql.Open("postgres", dsn)
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
		_, err := t.sendDB.ExecContext(ctx, `SELECT pg_notify($1, $2)`, Channel, payload)
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

func (t *pgTransport) watch(int64)   {}
func (t *pgTransport) unwatch(int64) {}

func (t *pgTransport) close() error {
	t.sendDB.Close()
	return t.listener.Close()
}

package events

import (
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// SubjectPrefix starts the NATS subject of each account's notices:
// parley.acct.<account id>.
const SubjectPrefix = "parley.acct."

// natsTransport carries notices over NATS core publish/subscribe, one
// subject per account: a backend subscribes only to the accounts it holds
// sockets for, so adding backends does not multiply what each receives.
// NATS keeps nothing: a notice lost while a node or the link is down is
// made good by the resynchronisation every reconnect triggers.
type natsTransport struct {
	bus *Bus
	nc  *nats.Conn

	mu   sync.Mutex
	subs map[int64]*nats.Subscription
	// sent is when this backend last published for each account: after a
	// reconnect it tells those accounts' subscribers elsewhere to re-read,
	// since what it published just before losing its node may be lost.
	sent map[int64]time.Time
}

// resyncWindow is how far back a reconnect reaches: longer than any
// disconnect takes to be noticed (pings every 2 s, two missed).
const resyncWindow = 30 * time.Second

func dialNATS(b *Bus, url string) (*natsTransport, error) {
	t := &natsTransport{bus: b, subs: map[int64]*nats.Subscription{}, sent: map[int64]time.Time{}}
	nc, err := nats.Connect(url,
		nats.Name("parley-backend"),
		nats.RetryOnFailedConnect(true), // unreachable at start: keep trying, serve meanwhile
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.PingInterval(2*time.Second),
		nats.MaxPingsOutstanding(2),
		nats.ConnectHandler(func(c *nats.Conn) {
			slog.Info("events: connected to NATS", "server", c.ConnectedUrlRedacted())
			b.missedAll() // anything sent before now was not heard
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err == nil {
				return // closed by Close
			}
			slog.Warn("events: lost NATS; live updates from other backends wait until it is back", "err", err)
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			slog.Info("events: reconnected to NATS", "server", c.ConnectedUrlRedacted())
			b.missedAll()
			t.resyncOthers()
		}),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			// A slow consumer dropped messages: its readers catch up from the database.
			slog.Warn("events: NATS", "err", err)
			b.missedAll()
		}),
	)
	if err != nil {
		return nil, err
	}
	if !nc.IsConnected() {
		slog.Warn("events: NATS is not reachable yet; retrying in the background", "url", url)
	}
	t.nc = nc
	return t, nil
}

func subject(account int64) string { return SubjectPrefix + strconv.FormatInt(account, 10) }

// send publishes one message per account of the batch.
func (t *natsTransport) send(notices []Notice) {
	by := map[int64][]Notice{}
	var order []int64
	for _, n := range notices {
		if _, ok := by[n.Account]; !ok {
			order = append(order, n.Account)
		}
		by[n.Account] = append(by[n.Account], n)
	}
	now := time.Now()
	t.mu.Lock()
	for _, acct := range order {
		t.sent[acct] = now
	}
	t.mu.Unlock()
	for _, acct := range order {
		if err := t.nc.Publish(subject(acct), t.bus.encode(by[acct])); err != nil {
			slog.Warn("events: NATS publish", "account", acct, "err", err)
		}
	}
}

// resyncOthers asks the other backends to re-read the accounts this one
// published for lately: those notices may have died with the node.
func (t *natsTransport) resyncOthers() {
	t.mu.Lock()
	var accts []int64
	for acct, at := range t.sent {
		if time.Since(at) < resyncWindow {
			accts = append(accts, acct)
		} else {
			delete(t.sent, acct)
		}
	}
	t.mu.Unlock()
	for _, acct := range accts {
		t.nc.Publish(subject(acct), t.bus.encode([]Notice{{Account: acct, Kind: KindResync}}))
	}
}

func (t *natsTransport) watch(account int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.subs[account] != nil {
		return
	}
	sub, err := t.nc.Subscribe(subject(account), func(m *nats.Msg) {
		t.bus.receive(t.bus.decode(m.Data))
	})
	if err != nil {
		slog.Warn("events: NATS subscribe", "account", account, "err", err)
		return
	}
	sub.SetPendingLimits(65536, 64<<20)
	t.subs[account] = sub
}

func (t *natsTransport) unwatch(account int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if sub := t.subs[account]; sub != nil {
		sub.Unsubscribe()
		delete(t.subs, account)
	}
}

func (t *natsTransport) close() error {
	t.nc.Close()
	return nil
}

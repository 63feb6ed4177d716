package events_test

import (
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/backend/internal/events/natstest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// transports opens two buses ("backends") per transport: over
// LISTEN/NOTIFY and over a real NATS server.
func transports(t *testing.T) map[string][2]*events.Bus {
	t.Helper()
	dsn := dbtest.URL(t)
	nats := natstest.Start(t)
	out := map[string][2]*events.Bus{}
	for name, url := range map[string]string{"listen-notify": "", "nats": nats.URL()} {
		var pair [2]*events.Bus
		for i := range pair {
			b, err := events.Open(dsn, url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			pair[i] = b
		}
		out[name] = pair
	}
	return out
}

// wake reports whether n is the wake-up a bus gives its subscribers when
// it (re)connects, telling them to re-read (Missed), rather than a notice
// that was sent. NATS calls the connect handler on its own goroutine, so
// on a loaded machine it can come after the test's first subscriptions.
func wake(s *events.Subscription, n events.Notice) bool {
	return n.Conversation == 0 && n.Kind == events.KindConversation && s.Missed()
}

// next waits for a notice on s, or fails.
func next(t *testing.T, s *events.Subscription, within time.Duration) events.Notice {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case n := <-s.C:
			if wake(s, n) {
				continue
			}
			return n
		case <-deadline:
			t.Fatal("no notice arrived")
			return events.Notice{}
		}
	}
}

// silent checks that nothing arrives on s for a while (the only fixed
// wait: proving an absence).
func silent(t *testing.T, s *events.Subscription, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case n := <-s.C:
			if wake(s, n) {
				continue
			}
			t.Fatalf("unexpected notice %v", n)
		case <-deadline:
			return
		}
	}
}

// deliver sends n from b and retries until got sees it: a subscription
// made an instant ago may not be routed yet (NATS propagates interest).
func deliver(t *testing.T, from *events.Bus, to *events.Subscription, n events.Notice) events.Notice {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		from.Send(n)
		select {
		case got := <-to.C:
			if wake(to, got) {
				continue
			}
			return got
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("notice %v never arrived", n)
		}
	}
}

// Both buses pass the same contract: a notice reaches the other backend's
// subscribers of its account, once, and this backend's own at once and once.
func TestBusCarriesNoticesBetweenBackends(t *testing.T) {
	for name, pair := range transports(t) {
		t.Run(name, func(t *testing.T) {
			a, b := pair[0], pair[1]
			local := a.Subscribe(7)
			defer local.Close()
			remote := b.Subscribe(7)
			defer remote.Close()
			other := b.Subscribe(8)
			defer other.Close()

			got := deliver(t, a, remote, events.Notice{Account: 7, Conversation: 1, Seq: 1, Kind: events.KindMessage})
			if got.Seq != 1 || got.Conversation != 1 || got.Kind != events.KindMessage {
				t.Fatalf("remote got %v", got)
			}
			// Drain what the retries sent (some may still be on the way:
			// a barrier notice comes after them, in order), then one more:
			// exactly once each.
			a.Send(events.Notice{Account: 7, Conversation: 1, Seq: 100, Kind: events.KindMessage})
			for _, s := range []*events.Subscription{remote, local} {
				for n := next(t, s, 5*time.Second); n.Seq != 100; n = next(t, s, 5*time.Second) {
					if n.Seq != 1 {
						t.Fatalf("got %v while draining the retries", n)
					}
				}
			}
			a.Send(events.Notice{Account: 7, Conversation: 1, Seq: 2, Kind: events.KindMessage})
			if n := next(t, local, 5*time.Second); n.Seq != 2 {
				t.Fatalf("local got %v", n)
			}
			if n := next(t, remote, 5*time.Second); n.Seq != 2 {
				t.Fatalf("remote got %v", n)
			}
			silent(t, remote, 300*time.Millisecond)
			silent(t, local, 10*time.Millisecond)
			silent(t, other, 10*time.Millisecond)

			// Internal travels with the notice; a visitors' hub
			// (SkipInternal) never receives such notices, the rest in order.
			visitors := b.Subscribe(7)
			defer visitors.Close()
			visitors.SkipInternal()
			a.Send(events.Notice{Account: 7, Conversation: 1, Seq: 3, Kind: events.KindMessage, Internal: true})
			a.Send(events.Notice{Account: 7, Conversation: 1, Seq: 4, Kind: events.KindMessage})
			if n := next(t, remote, 5*time.Second); n.Seq != 3 || !n.Internal {
				t.Fatalf("remote got %v, want the internal note 3", n)
			}
			if n := next(t, remote, 5*time.Second); n.Seq != 4 || n.Internal {
				t.Fatalf("remote got %v, want message 4", n)
			}
			if n := next(t, visitors, 5*time.Second); n.Seq != 4 {
				t.Fatalf("visitors' hub got %v, want only message 4", n)
			}
			silent(t, visitors, 10*time.Millisecond)
			for _, want := range []int64{3, 4} {
				if n := next(t, local, 5*time.Second); n.Seq != want {
					t.Fatalf("local got %v, want %d", n, want)
				}
			}

			// Several sent together (a batch of messages) arrive together,
			// in order, once each, here and there.
			a.Send(events.Notice{Account: 7, Conversation: 1, Seq: 5, Kind: events.KindMessage},
				events.Notice{Account: 7, Conversation: 2, Seq: 1, Kind: events.KindMessage},
				events.Notice{Account: 7, Conversation: 1, Seq: 6, Kind: events.KindMessage})
			for name, s := range map[string]*events.Subscription{"local": local, "remote": remote} {
				for _, want := range [][2]int64{{1, 5}, {2, 1}, {1, 6}} {
					if n := next(t, s, 5*time.Second); n.Conversation != want[0] || n.Seq != want[1] {
						t.Fatalf("%s got %v, want conversation %d seq %d", name, n, want[0], want[1])
					}
				}
				silent(t, s, 50*time.Millisecond)
			}
		})
	}
}

// NATS down at start: the backend starts anyway and catches up when the
// server comes; NATS dying mid-run: subscribers are told they missed
// notices (they re-read the database) once it is back, and delivery resumes.
func TestNATSOutages(t *testing.T) {
	dsn := dbtest.URL(t)
	nd := natstest.Start(t)
	nd.Kill()
	a, err := events.Open(dsn, nd.URL())
	if err != nil {
		t.Fatalf("a bus must start with NATS unreachable: %v", err)
	}
	defer a.Close()
	b, err := events.Open(dsn, nd.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sub := b.Subscribe(3)
	defer sub.Close()

	nd.Start()
	deliver(t, a, sub, events.Notice{Account: 3, Conversation: 9, Kind: events.KindConversation})

	nd.Kill()
	a.Send(events.Notice{Account: 3, Conversation: 9, Seq: 5, Kind: events.KindMessage}) // lost with the server
	nd.Start()
	deadline := time.Now().Add(20 * time.Second)
	for !sub.Missed() {
		if time.Now().After(deadline) {
			t.Fatal("after NATS came back the subscriber was not told to re-read")
		}
		select {
		case <-sub.C:
		case <-time.After(100 * time.Millisecond):
		}
	}
	deliver(t, a, sub, events.Notice{Account: 3, Conversation: 9, Seq: 6, Kind: events.KindMessage})
}

// A three-node cluster: when the node a backend is connected to dies, it
// moves to another and notices flow again.
func TestNATSClusterFailover(t *testing.T) {
	dsn := dbtest.URL(t)
	c := natstest.StartCluster(t, 3)
	a, err := events.Open(dsn, c.Nodes[0].URL()+","+c.Nodes[1].URL()+","+c.Nodes[2].URL())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := events.Open(dsn, c.Nodes[1].URL()+","+c.Nodes[2].URL()+","+c.Nodes[0].URL())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sub := b.Subscribe(4)
	defer sub.Close()
	deliver(t, a, sub, events.Notice{Account: 4, Kind: events.KindPresence})
	c.Nodes[0].Kill()
	c.Nodes[1].Kill()
	deliver(t, a, sub, events.Notice{Account: 4, Conversation: 2, Kind: events.KindConversation})
}

// A backend whose NATS node dies may have lost what it published just
// before: when it is back, the other backends' subscribers of the accounts
// it published for are told to re-read, though their own node never failed.
func TestNATSPublisherLosesItsNode(t *testing.T) {
	dsn := dbtest.URL(t)
	c := natstest.StartCluster(t, 2)
	a, err := events.Open(dsn, c.Nodes[0].URL()) // a knows only node 1
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := events.Open(dsn, c.Nodes[1].URL())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sub := b.Subscribe(5)
	defer sub.Close()
	deliver(t, a, sub, events.Notice{Account: 5, Conversation: 1, Kind: events.KindConversation})
	for len(sub.C) > 0 {
		<-sub.C
	}
	sub.Missed()

	c.Nodes[0].Kill()
	a.Send(events.Notice{Account: 5, Conversation: 1, Seq: 9, Kind: events.KindMessage}) // may die with node 1
	c.Nodes[0].Start()
	deadline := time.Now().Add(20 * time.Second)
	for !sub.Missed() {
		if time.Now().After(deadline) {
			t.Fatal("the subscriber on the other node was never told to re-read")
		}
		select {
		case n := <-sub.C:
			if n.Kind == events.KindResync {
				t.Fatalf("a resync notice reached a subscriber as such: %v", n)
			}
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Only: a page following one thread hears that thread and the account's
// own notices; moved to another thread, only the new one's; OnlyAccount
// only the account's own; a subscription left wide hears everything.
func TestOnlyNarrowsToOneConversation(t *testing.T) {
	bus, err := events.Listen(dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	wide := bus.Subscribe(5)
	defer wide.Close()
	page := bus.Subscribe(5)
	defer page.Close()
	list := bus.Subscribe(5)
	defer list.Close()
	page.Only(1)
	list.Only(events.OnlyAccount)
	for _, c := range []int64{1, 2, 0} {
		bus.Publish(events.Notice{Account: 5, Conversation: c, Kind: events.KindMessage})
	}
	expect := func(s *events.Subscription, who string, convs ...int64) {
		t.Helper()
		for _, c := range convs {
			if n := next(t, s, time.Second); n.Conversation != c {
				t.Fatalf("%s got %v, want conversation %d", who, n, c)
			}
		}
		silent(t, s, 10*time.Millisecond)
	}
	expect(wide, "wide", 1, 2, 0)
	expect(page, "page of 1", 1, 0)
	expect(list, "list", 0)

	page.Only(2)
	page.Only(2) // unchanged
	bus.Publish(events.Notice{Account: 5, Conversation: 1, Kind: events.KindMessage})
	bus.Publish(events.Notice{Account: 5, Conversation: 2, Kind: events.KindMessage})
	expect(page, "page of 2", 2)
	page.Only(0)
	bus.Publish(events.Notice{Account: 5, Conversation: 1, Kind: events.KindMessage})
	expect(page, "page widened", 1)
	// Closed, a narrowed subscription is gone from its conversation.
	page.Only(3)
	page.Close()
	bus.Publish(events.Notice{Account: 5, Conversation: 3, Kind: events.KindMessage})
	expect(page, "closed page")
	expect(wide, "wide", 1, 2, 1, 3)
}

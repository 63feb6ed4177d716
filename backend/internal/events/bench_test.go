package events_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/backend/internal/events/natstest"
)

// BenchmarkNoticesFourBackends: one backend announces b.N notices spread
// over 100 accounts; three others, each subscribed to every account, must
// receive them all. Reported as notices delivered to each backend per
// second, for LISTEN/NOTIFY and for NATS side by side:
//
//	go test -run='^$' -bench=NoticesFourBackends -benchtime=200000x ./backend/events/
func BenchmarkNoticesFourBackends(b *testing.B) {
	dsn := dbtest.URL(b)
	nats := natstest.Start(b)
	for _, tr := range []struct{ name, url string }{{"listen-notify", ""}, {"nats", nats.URL()}} {
		b.Run(tr.name, func(b *testing.B) {
			const accounts = 100
			var buses []*events.Bus
			for range 4 {
				bus, err := events.Open(dsn, tr.url)
				if err != nil {
					b.Fatal(err)
				}
				defer bus.Close()
				buses = append(buses, bus)
			}
			// Every receiving backend counts what reaches it.
			var counts [3]atomic.Int64
			for i, bus := range buses[1:] {
				for a := range accounts {
					s := bus.Subscribe(int64(a + 1))
					defer s.Close()
					go func() {
						for n := range s.C {
							if n.Kind == events.KindMessage {
								counts[i].Add(1)
							}
						}
					}()
				}
			}
			// Let NATS propagate the subscriptions before timing.
			for _, bus := range buses[1:] {
				waitRouted(b, buses[0], bus)
			}
			slowest := func() int64 {
				m := counts[0].Load()
				for i := range counts {
					m = min(m, counts[i].Load())
				}
				return m
			}
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				// At most 4,000 in flight: the sender's queue holds 8,192 and
				// drops past it (the receivers would then resync from the database).
				for int64(i)-slowest() > 4000 {
					time.Sleep(50 * time.Microsecond)
				}
				buses[0].Send(events.Notice{Account: int64(i%accounts + 1), Conversation: int64(i), Seq: int64(i), Kind: events.KindMessage})
			}
			deadline := time.Now().Add(30 * time.Second)
			for slowest() < int64(b.N) {
				if time.Now().After(deadline) {
					b.Fatalf("the slowest backend received %d of %d notices", slowest(), b.N)
				}
				time.Sleep(100 * time.Microsecond)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "notices/s")
		})
	}
}

// waitRouted returns once a notice from one bus reaches another (NATS
// propagates a new subscription's interest asynchronously).
func waitRouted(b *testing.B, from, to *events.Bus) {
	s := to.Subscribe(1000)
	defer s.Close()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		from.Send(events.Notice{Account: 1000, Kind: events.KindPresence})
		select {
		case <-s.C:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	b.Fatal("subscriptions never routed")
}

// BenchmarkPublishFollowedThread: one notice of a conversation in an
// account whose 100 agent pages each follow a thread of their own (Only),
// beside a list page and the two account-wide subscribers (the chat hub,
// the inbox's row feed). Reported as ns per Publish:
//
//	go test -run='^$' -bench=PublishFollowedThread ./backend/internal/events/
func BenchmarkPublishFollowedThread(b *testing.B) {
	bus, err := events.Listen(dbtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer bus.Close()
	var subs []*events.Subscription
	for i := range 103 {
		s := bus.Subscribe(1)
		defer s.Close()
		switch {
		case i < 100:
			s.Only(int64(i + 1))
		case i == 100:
			s.Only(events.OnlyAccount)
		}
		subs = append(subs, s)
	}
	drain := func() {
		for _, s := range subs {
			for len(s.C) > 0 {
				<-s.C
			}
		}
	}
	b.ResetTimer()
	for i := range b.N {
		bus.Publish(events.Notice{Account: 1, Conversation: int64(i%100 + 1), Seq: int64(i), Kind: events.KindMessage})
		if i%64 == 63 {
			b.StopTimer()
			drain()
			b.StartTimer()
		}
	}
}

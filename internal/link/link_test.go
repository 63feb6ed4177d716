package link

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Whatever the batcher joins, Decode gives back in order; batches stay
// under MaxBatchBytes unless one envelope alone is bigger.
func TestBatchRoundTrip(t *testing.T) {
	var want []Envelope
	for i := range 200 {
		want = append(want, Envelope{Session: uint64(i), Kind: Data, Frame: json.RawMessage(fmt.Sprintf(`{"t":"send","text":%q}`, strings.Repeat("x", i*20)))})
	}
	want = append(want, Envelope{Session: 7, Kind: Data, Frame: json.RawMessage(`"` + strings.Repeat("y", MaxBatchBytes) + `"`)})
	want = append(want, Envelope{Session: 8, Kind: Close, Code: 4000, Reason: "bye"})

	var b Batcher
	var msgs [][]byte
	flush := func() { msgs = append(msgs, append([]byte(nil), b.Message()...)) }
	for _, e := range want {
		enc, _ := json.Marshal(e)
		if !b.Add(enc) {
			flush()
			if !b.Add(enc) {
				t.Fatal("an empty batch refused an envelope")
			}
		}
	}
	flush()
	var got []Envelope
	for _, m := range msgs {
		if len(m) > MaxBatchBytes && m[0] == '[' {
			t.Fatalf("a batch of %d bytes", len(m))
		}
		if err := Decode(m, func(e Envelope) { got = append(got, e) }); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%d envelopes back of %d, or changed", len(got), len(want))
	}
	if len(msgs) < 3 || len(msgs) > len(want)/2 {
		t.Fatalf("%d messages for %d envelopes", len(msgs), len(want))
	}
	// A lone envelope is a plain object, as before batching.
	b.Add([]byte(`{"s":1,"k":"close"}`))
	if m := string(b.Message()); m != `{"s":1,"k":"close"}` {
		t.Fatalf("lone envelope sent as %s", m)
	}
	if err := Decode([]byte(`[{"s":1,"k":"data"},`), func(Envelope) {}); err == nil {
		t.Fatal("a truncated batch decoded")
	}
}

// Pump delivers every queued envelope once, in order, batching what
// waits, and stops at the first failed write.
func TestPump(t *testing.T) {
	out := make(chan Envelope, 1000)
	for i := range 1000 {
		out <- Envelope{Session: uint64(i), Kind: Data}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var got []Envelope
	writes := 0
	enc := func(dst []byte, e Envelope) ([]byte, int) { b, _ := json.Marshal(e); return append(dst, b...), 1 }
	err := Pump(ctx, out, enc, func(msg []byte) error {
		writes++
		if err := Decode(msg, func(e Envelope) { got = append(got, e) }); err != nil {
			t.Fatal(err)
		}
		if len(got) == 1000 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Pump ended with %v", err)
	}
	for i, e := range got {
		if e.Session != uint64(i) {
			t.Fatalf("envelope %d is session %d", i, e.Session)
		}
	}
	if len(got) != 1000 || writes >= 1000 {
		t.Fatalf("%d envelopes in %d writes", len(got), writes)
	}
	broken := errors.New("link down")
	out <- Envelope{Kind: Close}
	if err := Pump(context.Background(), out, enc, func([]byte) error { return broken }); err != broken {
		t.Fatalf("a failed write ended Pump with %v", err)
	}
}

// Items of several envelopes travel together, in order, and the scratch
// buffer an item was encoded in is never overwritten while it waits.
func TestPumpGroups(t *testing.T) {
	out := make(chan int, 3000)
	for i := range 3000 {
		out <- i
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Item i is two envelopes, sessions 2i and 2i+1, with frames big
	// enough that batches fill up and carry items over.
	enc := func(dst []byte, i int) ([]byte, int) {
		for k := range 2 {
			if k > 0 {
				dst = append(dst, ',')
			}
			b, _ := json.Marshal(Envelope{Session: uint64(2*i + k), Kind: Data, Frame: json.RawMessage(fmt.Sprintf(`{"n":%q}`, strings.Repeat("z", i%300)))})
			dst = append(dst, b...)
		}
		return dst, 2
	}
	var got []Envelope
	err := Pump(ctx, out, enc, func(msg []byte) error {
		n := len(got)
		err := Decode(msg, func(e Envelope) {
			e.Frame = append(json.RawMessage(nil), e.Frame...) // msg is reused
			got = append(got, e)
		})
		if err != nil {
			t.Fatal(err)
		}
		if (len(got)-n)%2 != 0 {
			t.Fatalf("a message split an item: %d envelopes", len(got)-n)
		}
		if len(got) == 6000 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Pump ended with %v", err)
	}
	for i, e := range got {
		if e.Session != uint64(i) || string(e.Frame) != fmt.Sprintf(`{"n":%q}`, strings.Repeat("z", (i/2)%300)) {
			t.Fatalf("envelope %d is session %d with %s", i, e.Session, e.Frame)
		}
	}
}

// Decode gives what encoding/json gives, for the writers' hand-built
// envelopes (fast path) and anything else a peer may send.
func TestDecodeLikeJSON(t *testing.T) {
	for _, msg := range []string{
		`{"s":1,"k":"data","f":{"type":"send","text":"a \"}\" b","x":[1,{"y":"]"}]}}`,
		`{"s":18446744073709551615,"k":"data","f":{}}`,
		`{"s":0,"k":"close"}`,
		`{"s":2,"k":"close","c":4000,"r":"bye"}`,
		`{"k":"open","s":3,"m":{"ip":"1.2.3.4","origin":"","ua":"x"}}`,
		`{"s":4,"k":"data","f":"not an object"}`,
		`{"s":5,"k":"d\u0061ta","f":{}}`,
		` [ {"s":1,"k":"data","f":{"a":"}"}} , {"s":2,"k":"close"},{"s":3,"k":"data","f":{"b":"\\"}} ] `,
		`[]`,
	} {
		var want []Envelope
		var one Envelope
		if strings.HasPrefix(strings.TrimSpace(msg), "[") {
			if err := json.Unmarshal([]byte(msg), &want); err != nil {
				t.Fatal(msg, err)
			}
		} else {
			if err := json.Unmarshal([]byte(msg), &one); err != nil {
				t.Fatal(msg, err)
			}
			want = []Envelope{one}
		}
		var got []Envelope
		if err := Decode([]byte(msg), func(e Envelope) { got = append(got, e) }); err != nil {
			t.Fatalf("%s: %v", msg, err)
		}
		if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
			t.Fatalf("%s: got %+v, want %+v", msg, got, want)
		}
	}
	for _, bad := range []string{``, `[`, `[{"s":1,"k":"data"}`, `[{"s":1,"k":"data"}}`, `[{"s":1,"k":"data"} x]`, `{"s":1,"k":"data","f":{"a":1}`, `{"s":1,"k":"data"}]`, `[{"s":1,"k":"data"}] x`} {
		if err := Decode([]byte(bad), func(Envelope) {}); err == nil {
			t.Fatalf("%q decoded", bad)
		}
	}
}

// Senders that write at once and senders that queue keep each sender's
// order, lose nothing, and a failed write fails those after it.
func TestSenderOrder(t *testing.T) {
	type item struct{ from, n int }
	var got []Envelope
	var direct atomic.Int64
	s := &Sender[item]{
		Out: make(chan item, 8),
		Encode: func(dst []byte, v item) ([]byte, int) {
			b, _ := json.Marshal(Envelope{Session: uint64(v.from), Kind: Data, Code: v.n})
			return append(dst, b...), 1
		},
		Write: func(msg []byte) error {
			return Decode(msg, func(e Envelope) { got = append(got, e) }) // under the Sender's lock
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	pumped := make(chan error)
	go func() { pumped <- s.Pump(ctx) }()
	const senders, each = 8, 2000
	var wg sync.WaitGroup
	for from := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 1; n <= each; n++ {
				v := item{from, n}
				if ok, err := s.TrySend(v); err != nil {
					t.Error(err)
					return
				} else if ok {
					direct.Add(1)
					continue
				}
				if !s.Queue(ctx, nil, v) {
					t.Error("queue refused")
					return
				}
			}
		}()
	}
	wg.Wait()
	for s.queued.Load() != 0 {
		runtime.Gosched()
	}
	cancel()
	<-pumped
	last := map[uint64]int{}
	for _, e := range got {
		if e.Code != last[e.Session]+1 {
			t.Fatalf("sender %d: %d after %d", e.Session, e.Code, last[e.Session])
		}
		last[e.Session] = e.Code
	}
	if len(got) != senders*each {
		t.Fatalf("%d envelopes of %d", len(got), senders*each)
	}
	t.Logf("%d of %d written at once", direct.Load(), len(got))

	broken := errors.New("link down")
	s2 := &Sender[item]{Out: make(chan item, 1), Encode: s.Encode, Write: func([]byte) error { return broken }}
	if ok, err := s2.TrySend(item{1, 1}); !ok || err != broken {
		t.Fatalf("TrySend on an idle link: %v %v", ok, err)
	}
	if ok, err := s2.TrySend(item{1, 2}); !ok || err != broken {
		t.Fatalf("TrySend after a failed write: %v %v", ok, err)
	}
}

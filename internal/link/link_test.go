package link

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
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
	enc := func(e Envelope) []byte { b, _ := json.Marshal(e); return b }
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

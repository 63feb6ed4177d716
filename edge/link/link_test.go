package link

import (
	"encoding/json"
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

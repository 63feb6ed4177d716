package inbox

import "testing"

// FuzzDecodeClientFrame checks the live socket's decoder on arbitrary
// bytes: it never panics, and what it accepts has a known type and the
// fields that type needs.
func FuzzDecodeClientFrame(f *testing.F) {
	for _, seed := range []string{
		`{"type":"list"}`,
		`{"type":"subscribe","conversation":3,"last_seq":2}`,
		`{"type":"subscribe","conversation":-3}`,
		`{"type":"typing","conversation":3}`,
		`{"type":"read","conversation":3,"seq":9}`,
		`{"type":"read","conversation":3}`,
		`{"type":"nope"}`,
		`{"type":"list","conversation":"x"}`,
		"\xff",
		`null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := decodeClientFrame(b)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("refusal without a reason")
			}
			return
		}
		switch fr.Type {
		case liveList:
		case liveSubscribe, liveTyping:
			if fr.Conversation <= 0 || fr.LastSeq < 0 {
				t.Fatalf("accepted %+v", fr)
			}
		case liveRead:
			if fr.Conversation <= 0 || fr.Seq <= 0 {
				t.Fatalf("accepted %+v", fr)
			}
		default:
			t.Fatalf("accepted unknown type %q", fr.Type)
		}
	})
}

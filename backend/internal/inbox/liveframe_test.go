package inbox

import (
	"bytes"
	"encoding/json"
	"testing"
)

// appendFrame writes what encoding/json's Encoder writes, byte for byte,
// for every frame it takes; frames with rows, counts or a file it leaves.
func FuzzAppendFrame(f *testing.F) {
	for _, seed := range []string{"", "hello", `<b>"quoted" & \back\slash</b>`, "tab\tnew\nline\r\b\f\x00\x1f\x7f",
		"\xff\xfeinvalid", "line\u2028para\u2029", "émoji 🎉 日本語", "\xe2\x80"} {
		f.Add(seed, int64(3), false)
	}
	f.Fuzz(func(t *testing.T, s string, n int64, internal bool) {
		for _, fr := range []serverFrame{
			{Type: liveMessage, Conversation: n, Seq: n + 1, ID: s, From: "visitor", Name: s, Text: s, Internal: internal, At: "2026-12-02T16:42:20Z", Avatar: s},
			{Type: liveTyping, Conversation: n, From: s},
			{Type: liveError, Message: s},
			{Type: livePage, Page: s, Start: s, State: s},
			{Type: s},
		} {
			var want bytes.Buffer
			if err := json.NewEncoder(&want).Encode(fr); err != nil {
				t.Fatal(err)
			}
			got, ok := appendFrame([]byte("prefix"), &fr)
			if !ok || string(got) != "prefix"+want.String() {
				t.Fatalf("appendFrame %+v:\n got %q\nwant %q", fr, got, want.String())
			}
		}
		for _, fr := range []serverFrame{
			{Type: liveRows, Items: []listItem{{ID: 1}}},
			{Type: liveRows, Removed: []string{s}},
			{Type: liveRows, AlertItems: []listItem{{ID: 1}}},
			{Type: liveCounts, Counts: map[string]int{"open": 1}},
			{Type: liveMessage, File: &fileView{Name: s}},
		} {
			if b, ok := appendFrame(nil, &fr); ok || len(b) != 0 {
				t.Fatalf("appendFrame took %+v: %q", fr, b)
			}
		}
	})
}

// BenchmarkMessageFrame: encoding one message frame, by appendFrame and by
// encoding/json.
//
//	go test -run='^$' -bench=MessageFrame ./backend/internal/inbox/
func BenchmarkMessageFrame(b *testing.B) {
	fr := serverFrame{Type: liveMessage, Conversation: 1234, Seq: 56, ID: "u00042-000123", From: "visitor", Name: "Visitor 42",
		Text: "Hello, I have a question about my order #12345 <urgent> & more", At: "2026-12-02T16:42:20Z"}
	b.Run("append", func(b *testing.B) {
		var out bytes.Buffer
		for range b.N {
			out.Reset()
			bb, _ := appendFrame(out.AvailableBuffer(), &fr)
			out.Write(bb)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		for range b.N {
			out.Reset()
			enc.Encode(fr)
		}
	})
}

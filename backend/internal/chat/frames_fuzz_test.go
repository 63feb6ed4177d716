package chat

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parleychat/parley/widget"
)

// FuzzDecodeFrame checks the visitor frame decoder on arbitrary bytes: it
// never panics, and whatever it accepts is safe for the handlers: known
// type, valid text within the limits, a valid email, a positive read seq.
func FuzzDecodeFrame(f *testing.F) {
	for _, seed := range []string{
		`{"type":"hello","v":1,"site":"s","chatflow":"c"}`,
		`{"type":"send","id":"a-1","text":"  hi  "}`,
		`{"type":"send","id":"","text":"x"}`,
		`{"type":"typing"}`,
		`{"type":"read","seq":3}`,
		`{"type":"read","seq":-1}`,
		`{"type":"email","id":"e","email":"ana@example.com"}`,
		`{"type":"email","email":"ana@"}`,
		`{"type":"ping"}`,
		`{"type":"teleport"}`,
		`[1,2]`,
		"{\"type\":\"send\",\"id\":\"u\",\"text\":\"caf\xe9\"}",
		`{"type":"send","id":"n","text":"a\u0000b"}`,
	} {
		f.Add([]byte(seed))
	}
	cfg := Config{}
	cfg.defaults()
	f.Fuzz(func(t *testing.T, raw []byte) {
		// The fast path decodes what it takes as encoding/json does.
		var fast, slow widget.Frame
		if utf8.Valid(raw) && decodeFast(raw, &fast) {
			if err := json.Unmarshal(raw, &slow); err != nil || !reflect.DeepEqual(fast, slow) {
				t.Fatalf("%q: fast %+v, encoding/json %+v (%v)", raw, fast, slow, err)
			}
		}
		fr, ferr := decodeFrame(raw, &cfg)
		if ferr != nil {
			if ferr.code == "" || ferr.message == "" {
				t.Fatalf("refusal without code or message: %+v", ferr)
			}
			return
		}
		switch fr.Type {
		case widget.FrameHello, widget.FramePing, widget.FrameTyping:
		case widget.FrameSend:
			if fr.ID == "" || len(fr.ID) > cfg.MaxIDLen || fr.Text == "" || fr.Text != strings.TrimSpace(fr.Text) ||
				!utf8.ValidString(fr.Text) || strings.ContainsRune(fr.Text, 0) || utf8.RuneCountInString(fr.Text) > cfg.MaxTextRunes {
				t.Fatalf("accepted a bad send %+v", fr)
			}
		case widget.FrameRead:
			if fr.Seq <= 0 {
				t.Fatalf("accepted read seq %d", fr.Seq)
			}
		case widget.FrameEmail:
			if !widget.ValidEmail(fr.Email) || len(fr.ID) > cfg.MaxIDLen {
				t.Fatalf("accepted email %+v", fr)
			}
		default:
			t.Fatalf("accepted unknown type %q", fr.Type)
		}
	})
}

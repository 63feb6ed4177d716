package chat_test

import (
	"strings"
	"testing"

	"github.com/parleychat/parley/widget"
)

// A NUL character or invalid UTF-8 in any field of any visitor frame is
// refused with bad_frame naming the field; the socket stays open and the
// chat goes on (a NUL in hello used to reach the database and close the
// socket as "unavailable", so the widget reconnected forever).
func TestNULAndInvalidUTF8InEveryFrameAreRefusedByField(t *testing.T) {
	w := newWorld(t)
	s := w.link(t).open()
	for _, bad := range []string{`\u0000`, "\xff"} {
		for field, frame := range map[string]string{
			"site":     `{"type":"hello","v":1,"site":"site_a` + bad + `","chatflow":"cf_a"}`,
			"page":     `{"type":"hello","v":1,"site":"site_a","chatflow":"cf_a","page":"https://shop.example/` + bad + `"}`,
			"token":    `{"type":"hello","v":1,"site":"site_a","chatflow":"cf_a","token":"t` + bad + `"}`,
			"id_token": `{"type":"hello","v":1,"site":"site_a","chatflow":"cf_a","email":"a@example.com","id_token":"x` + bad + `"}`,
		} {
			s.raw([]byte(frame))
			if f := s.errorCode(t, widget.ErrBadFrame); !strings.Contains(f.Message, `"`+field+`"`) {
				t.Errorf("hello with a bad %s: %+v", field, f)
			}
		}
	}
	s.send(hello("", "", 0))
	s.next(t, widget.FrameWelcome)
	for _, bad := range []string{`\u0000`, "\xff"} {
		for field, frame := range map[string]string{
			"text":    `{"type":"send","id":"m","text":"hi` + bad + `"}`,
			"id":      `{"type":"send","id":"m` + bad + `","text":"hi"}`,
			"email":   `{"type":"email","id":"e","email":"ana` + bad + `@example.com"}`,
			"comment": `{"type":"survey_answer","id":"s","survey":1,"score":5,"comment":"great` + bad + `"}`,
			"page":    `{"type":"consent","id":"c","kind":"cookie","decision":"granted","version":"v","page":"https://x.example/` + bad + `"}`,
		} {
			s.raw([]byte(frame))
			if f := s.errorCode(t, widget.ErrBadFrame); !strings.Contains(f.Message, `"`+field+`"`) {
				t.Errorf("%s with a bad %s: %+v", strings.SplitN(frame, `"`, 5)[3], field, f)
			}
		}
	}
	s.send(widget.Frame{Type: widget.FrameSend, ID: "ok", Text: "still here"})
	if ack := s.next(t, widget.FrameAck); ack.Seq != 1 {
		t.Fatalf("ack %+v: refused frames were stored", ack)
	}
}

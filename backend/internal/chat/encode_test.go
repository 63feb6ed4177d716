package chat

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/parleychat/parley/widget"
)

// TestEncodeFrameIsEncodingJSON: encodeFrame writes what encoding/json
// writes for a frame with any one field set (a field added to widget.Frame
// that widget.EncodeFrame does not know must make encodeFrame fall back),
// and for the frames the message path sends.
func TestEncodeFrameIsEncodingJSON(t *testing.T) {
	nasty := "q\" b\\ <script>&amp; é 😀 \u2028 bad\xff"
	frames := []widget.Frame{
		{Type: widget.FrameAck, ID: "u1-7", Seq: 12, Conversation: "cv_x"},
		{Type: widget.FrameMessage, Seq: 3, ID: "u1-7", From: widget.FromVisitor, Text: nasty, At: "2026-01-02T03:04:05Z"},
		{Type: widget.FrameMessage, Seq: 4, From: widget.FromAgent, Name: "Ann", Avatar: "/a.png", Text: "hi",
			Attachment: &widget.Attachment{ID: "at_1", Name: nasty, Type: "image/png", Size: 9, URL: "/u"}},
	}
	ft := reflect.TypeOf(widget.Frame{})
	for i := range ft.NumField() {
		f := widget.Frame{Type: "x"}
		v := reflect.ValueOf(&f).Elem().Field(i)
		switch v.Kind() {
		case reflect.String:
			v.SetString(nasty)
		case reflect.Int, reflect.Int64:
			v.SetInt(-42)
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Pointer:
			p := reflect.New(v.Type().Elem())
			switch e := p.Interface().(type) {
			case *widget.Properties:
				*e = widget.Properties{"plan": nasty}
			case *widget.QuickReplies:
				*e = widget.QuickReplies{"yes", nasty}
			case *widget.Attachment:
				e.Name = nasty
			default:
				t.Fatalf("field %s: no test value for %s", ft.Field(i).Name, v.Type())
			}
			v.Set(p)
		default:
			t.Fatalf("field %s: no test value for %s", ft.Field(i).Name, v.Type())
		}
		frames = append(frames, f)
	}
	for _, f := range frames {
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := encodeFrame(&f); string(got) != string(want) {
			t.Errorf("encodeFrame(%+v)\n got %s\nwant %s", f, got, want)
		}
	}
}

// TestDecodeFastIsEncodingJSON: what decodeFast accepts, encoding/json
// decodes to the same frame; what it refuses, encoding/json decodes.
func TestDecodeFastIsEncodingJSON(t *testing.T) {
	for _, raw := range []string{
		widget.EncodeFrame(widget.Frame{Type: widget.FrameSend, ID: "u1-7", Text: "  hello, é 😀  "}),
		widget.EncodeFrame(widget.Frame{Type: widget.FrameRead, Seq: 1234567}),
		widget.EncodeFrame(widget.Frame{Type: widget.FrameTyping}),
		widget.EncodeFrame(widget.Frame{Type: widget.FramePing}),
		widget.EncodeFrame(widget.Frame{Type: widget.FrameSend, ID: "q", Text: "say \"hi\"\n"}),
		`{"type":"read","seq":-3}`,
		`{"type":"read","seq":0}`,
		`{"type":"read","seq":007}`,
		`{"type":"read","seq":1.5}`,
		`{"type":"read","seq":99999999999999999999}`,
		`{"type":"send","id":"a","text":"b","type":"read"}`,
		`{"TYPE":"send","id":"a","text":"b"}`,
		`{"type":"send", "id":"a","text":"b"}`,
		`{"type":"send","id":"a","text":null}`,
		`{"type":"send","id":"a","text":"b","hide":true}`,
		`{"type":"hello","v":1,"site":"s","chatflow":"c"}`,
		`{"type":"send","id":"a","text":"b"}x`,
		`{"type":"send","id":"a","text":"b",}`,
		`{}`,
		"{\"type\":\"send\",\"id\":\"a\",\"text\":\"tab\there\"}",
	} {
		var fast, slow widget.Frame
		ok := decodeFast([]byte(raw), &fast)
		err := json.Unmarshal([]byte(raw), &slow)
		if ok && (err != nil || !reflect.DeepEqual(fast, slow)) {
			t.Errorf("%s: fast %+v, encoding/json %+v (%v)", raw, fast, slow, err)
		}
	}
	// The widget's own frames take the fast path.
	for _, f := range []widget.Frame{{Type: widget.FrameSend, ID: "u-1", Text: "hi"}, {Type: widget.FrameRead, Seq: 9}, {Type: widget.FramePing}} {
		var got widget.Frame
		if !decodeFast([]byte(widget.EncodeFrame(f)), &got) || !reflect.DeepEqual(got, f) {
			t.Errorf("%+v: fast path refused or changed it: %+v", f, got)
		}
	}
}

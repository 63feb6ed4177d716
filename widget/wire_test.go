package widget

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestEncodeFrameMatchesEncodingJSON(t *testing.T) {
	nasty := "quote\" back\\slash\nnew\rret\ttab\b\f\x00\x1f <script>&amp; é 日本 😀 \u2028\u2029 bad\xff\xfe utf8 \x7f"
	frames := []Frame{
		{},
		{Type: FramePing},
		helloFrame(),
		{Type: FrameSend, ID: "abc-1", Text: nasty},
		{Type: FrameMessage, Seq: 42, ID: "x", From: FromAgent, Name: "Ann <b>", Avatar: "https://a/b.png", Text: "hi", At: "2026-01-02T03:04:05Z"},
		{Type: FrameAck, ID: "i", Seq: -3, Conversation: "c1"},
		{Type: FrameError, Code: ErrTooLong, Message: nasty},
		{Type: FrameStatus, State: "reconnecting"},
		{Type: FrameWelcome, Token: "t", Conversation: "c", LastSeq: 9007199254740993, Email: "a@b.example"},
		{Type: FramePresence, State: StateOffline, Text: "Back at 9:00", BackAt: "2026-01-02T09:00:00Z", Hide: true},
		{Type: FrameEmail, ID: "e1", Email: nasty},
		{Type: FrameHello, V: 1, Site: "s", Chatflow: "c", Email: "ann@example.com", IDToken: "tok<&>"},
		{Type: FrameSurveyAnswer, Survey: 12, Score: 5, Comment: nasty},
		{Type: FrameConsent, ID: "c-1", Kind: ConsentDataProcessing, Decision: DecisionGranted, Version: "v1.abc", Page: "https://x/?a=1&b"},
	}
	for _, f := range frames {
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := EncodeFrame(f); got != string(want) {
			t.Errorf("EncodeFrame(%+v)\n got %s\nwant %s", f, got, want)
		}
	}
}

// helloFrame is a fully populated hello frame.
func helloFrame() Frame {
	return Frame{Type: FrameHello, V: ProtocolVersion, Site: "demo", Chatflow: "cf", Token: "tok",
		Conversation: "conv", LastSeq: 7, Page: "https://example.com/a?b=c&d", Referrer: "https://r/"}
}

func TestEncodeFrameRoundTrips(t *testing.T) {
	f := Frame{Type: FrameSend, ID: "p-1", Text: strings.Repeat("é\"<", 100)}
	var back Frame
	if err := json.Unmarshal([]byte(EncodeFrame(f)), &back); err != nil {
		t.Fatal(err)
	}
	if back != f {
		t.Fatalf("round trip: got %+v, want %+v", back, f)
	}
}

package widget

import (
	"strings"
	"testing"
)

// A reopen link's token comes off the page address and goes in hello,
// until a welcome has used it.
func TestResumeFromEmailLink(t *testing.T) {
	tok, rest := TakeResume("https://shop.example/pricing?x=1#parley-resume=abc123")
	if tok != "abc123" || rest != "https://shop.example/pricing?x=1" {
		t.Fatalf("TakeResume = %q, %q", tok, rest)
	}
	if tok, rest := TakeResume("https://shop.example/#top"); tok != "" || rest != "https://shop.example/#top" {
		t.Fatalf("a page without a token: %q, %q", tok, rest)
	}
	s := NewSession("site", "cf", "p")
	s.Resume = tok
	if h := EncodeFrame(s.Hello()); !strings.Contains(h, `"resume":"abc123"`) {
		t.Fatalf("hello without the token: %s", h)
	}
	s.Receive(Frame{Type: FrameWelcome, Token: "t", Conversation: "conv_1"})
	if s.Resume != "" || strings.Contains(EncodeFrame(s.Hello()), "resume") {
		t.Fatal("the token is sent again after the welcome")
	}
	s.Email = "ana@example.net"
	f, ok := s.EmailTranscript()
	if !ok || f.Type != FrameTranscript || f.ID == "" {
		t.Fatalf("EmailTranscript = %+v, %v", f, ok)
	}
	s.Receive(Frame{Type: FrameTranscript, ID: f.ID})
	if !strings.Contains(s.notice, "emailed you") {
		t.Fatalf("notice after transcript: %q", s.notice)
	}
}

package widget

import (
	"strings"
	"testing"
	"time"
)

func TestValidEmail(t *testing.T) {
	good := []string{"ana@example.com", "a.b+tag@sub.example.co.uk", "x@xn--bcher-kva.example", "jürgen@bücher.de", "o'neil@example.ie"}
	bad := []string{"", "ana", "ana@", "@example.com", "ana@example", "ana@@example.com", "an a@example.com",
		"ana@exa mple.com", "ana@-example.com", "ana@example-.com", "ana@example..com", ".ana@example.com",
		"an..a@example.com", "ana@1.2.3.4", "<ana@example.com>", "ana@example.com\n", "ana@ex_ample.com",
		"\"a\"@example.com", strings.Repeat("a", 65) + "@example.com", "a@" + strings.Repeat("b", 250) + ".com", "a@b.c\xff"}
	for _, s := range good {
		if !ValidEmail(s) {
			t.Errorf("ValidEmail(%q) = false, want true", s)
		}
	}
	for _, s := range bad {
		if ValidEmail(s) {
			t.Errorf("ValidEmail(%q) = true, want false", s)
		}
	}
}

func TestEmailPromptUsesTheChatflowsTextElseTheLanguagesDefault(t *testing.T) {
	ec := EmailCapture{When: EmailAlways, Prompt: map[string]string{"nl": "Je e-mail graag?"}}
	if got := EmailPrompt(ec, "nl"); got != "Je e-mail graag?" {
		t.Errorf("nl prompt %q", got)
	}
	useLanguage(t, "fr")
	if got := EmailPrompt(ec, "fr"); got != langFile(t, "fr")["email_prompt"] {
		t.Errorf("fr default prompt %q", got)
	}
}

// connected returns a session welcomed into conversation conv.
func connected(conv string) (*Session, *time.Time) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := NewSession("site", "cf", "p")
	s.Now = func() time.Time { return now }
	s.Dial()
	s.Receive(Frame{Type: FrameWelcome, Token: "t", Conversation: conv})
	return s, &now
}

func TestTypingIsThrottledAndTheIndicatorExpires(t *testing.T) {
	s, now := connected("")
	if _, ok := s.Typing(); ok {
		t.Fatal("typing sent before there is a conversation for anyone to see")
	}
	s.Receive(Frame{Type: FrameAck, ID: "x", Conversation: "c1"})
	if f, ok := s.Typing(); !ok || f.Type != FrameTyping {
		t.Fatalf("first keystroke: %+v %v", f, ok)
	}
	*now = now.Add(time.Second)
	if _, ok := s.Typing(); ok {
		t.Fatal("a second typing frame within TypingEvery")
	}
	*now = now.Add(TypingEvery)
	if _, ok := s.Typing(); !ok {
		t.Fatal("no typing frame after TypingEvery")
	}

	s.Receive(Frame{Type: FrameTyping, From: FromAgent, Name: "Ann"})
	if got := s.TypingLine(); got != "Ann is typing…" {
		t.Fatalf("typing line %q", got)
	}
	*now = now.Add(TypingShowFor)
	if got := s.TypingLine(); got != "" {
		t.Fatalf("typing line %q after it expired", got)
	}
	s.Receive(Frame{Type: FrameTyping, From: FromAgent, Name: "Ann"})
	s.Receive(Frame{Type: FrameMessage, Seq: 1, From: FromAgent, Name: "Ann", Text: "hi"})
	if got := s.TypingLine(); got != "" {
		t.Fatalf("typing line %q after the agent's message arrived", got)
	}
}

func TestReadReceiptsBothWays(t *testing.T) {
	s, _ := connected("c1")
	if _, ok := s.Read(); ok {
		t.Fatal("read sent with nothing shown")
	}
	s.Receive(Frame{Type: FrameMessage, Seq: 1, From: FromAgent, Text: "hi"})
	f, ok := s.Read()
	if !ok || f.Type != FrameRead || f.Seq != 1 {
		t.Fatalf("read %+v %v", f, ok)
	}
	if _, ok := s.Read(); ok {
		t.Fatal("the same read sent twice")
	}

	u, _ := s.Send("my question")
	s.Receive(Frame{Type: FrameAck, ID: u.Send[0].ID, Seq: 2, Conversation: "c1"})
	s.Receive(Frame{Type: FrameMessage, Seq: 3, ID: "other", From: FromVisitor, Text: "from another tab"})
	if k := s.SeenKey(); k != "" {
		t.Fatalf("seen %q before the team read anything", k)
	}
	s.Receive(Frame{Type: FrameRead, From: FromAgent, Seq: 2})
	if k := s.SeenKey(); k != "c:"+u.Send[0].ID {
		t.Fatalf("seen key %q, want the first visitor message", k)
	}
	s.Receive(Frame{Type: FrameRead, From: FromAgent, Seq: 1}) // stale: never goes back
	s.Receive(Frame{Type: FrameRead, From: FromAgent, Seq: 3})
	if k := s.SeenKey(); k != "s:0:3" || s.AgentRead() != 3 {
		t.Fatalf("seen key %q (read %d), want the newest visitor message", k, s.AgentRead())
	}
	// A new conversation starts unread.
	s.Receive(Frame{Type: FrameError, Code: ErrConvClosed})
	if s.SeenKey() != "" || s.AgentRead() != 0 {
		t.Fatal("read state survived the conversation")
	}
}

func TestEmailCaptureAskingAndValidation(t *testing.T) {
	s, _ := connected("")
	s.EmailCapture = EmailCapture{When: EmailAlways}
	if s.AskEmail() {
		t.Fatal("always: asked before the first message")
	}
	s.Send("hello")
	if !s.AskEmail() {
		t.Fatal("always: not asked after the first message")
	}
	if _, err := s.SubmitEmail("not an address"); err == nil || s.StatusLine() != ErrorText(ErrBadEmail) {
		t.Fatalf("invalid address: err %v, status %q", err, s.StatusLine())
	}
	u, err := s.SubmitEmail("  ana@example.com ")
	if err != nil || len(u.Send) != 1 || u.Send[0].Type != FrameEmail || u.Send[0].Email != "ana@example.com" || u.Send[0].ID == "" {
		t.Fatalf("submit: %+v %v", u, err)
	}
	if s.AskEmail() {
		t.Fatal("asked again while the address is on its way")
	}
	// The server refuses it: ask again.
	s.Receive(Frame{Type: FrameError, Code: ErrBadEmail, ID: u.Send[0].ID})
	if !s.AskEmail() {
		t.Fatal("not asked again after bad_email")
	}
	u, _ = s.SubmitEmail("ana@example.com")
	// Lost on a reconnect: it goes again after the welcome.
	s.Closed(1006)
	w := s.Receive(Frame{Type: FrameWelcome})
	if len(w.Send) == 0 || w.Send[len(w.Send)-1] != u.Send[0] {
		t.Fatalf("email not resent after welcome: %+v", w.Send)
	}
	s.Receive(Frame{Type: FrameEmail, Email: "ana@example.com"})
	if s.AskEmail() || s.Email != "ana@example.com" {
		t.Fatal("asked after the address was stored")
	}
	if !strings.Contains(s.Note(), "ana@example.com") {
		t.Fatalf("note %q does not say the address will be used", s.Note())
	}
}

func TestWhenOfflineAsksOnlyWhileNobodyCanAnswer(t *testing.T) {
	useLanguage(t, "nl")
	s, _ := connected("")
	s.Lang = "nl"
	s.EmailCapture = EmailCapture{When: EmailWhenOffline}
	s.Receive(Frame{Type: FramePresence, State: StateAvailable, Text: "Usually replies in minutes"})
	if s.AskEmail() || s.Note() != "" {
		t.Fatalf("available: ask %v, note %q", s.AskEmail(), s.Note())
	}
	s.Receive(Frame{Type: FramePresence, State: StateAway, Text: "Back soon"})
	if !s.AskEmail() {
		t.Fatal("away: not asked")
	}
	if n := s.Note(); !strings.Contains(n, "niemand") {
		t.Fatalf("away note %q, want the Dutch offline note", n)
	}
	s.Send("Hallo")
	if n := s.Note(); !strings.Contains(n, "later") {
		t.Fatalf("note after the message %q", n)
	}
	if s.Presence.Text != "Back soon" {
		t.Fatalf("presence %+v", s.Presence)
	}
}

func TestHideHidesTheLauncherOnlyOutsideAConversation(t *testing.T) {
	s, _ := connected("")
	s.Receive(Frame{Type: FramePresence, State: StateAtCapacity, Hide: true})
	if !s.LauncherHidden() {
		t.Fatal("launcher shown despite hide")
	}
	s.Send("hi")
	if s.LauncherHidden() {
		t.Fatal("launcher hidden while the visitor is chatting")
	}
}

// FuzzReceive feeds the session arbitrary server frames (as the shell
// decodes them) and checks it never panics and keeps its invariants:
// confirmed entries in (epoch, seq) order, no seq shown twice.
func FuzzReceive(f *testing.F) {
	f.Add("message", int64(3), "agent", "hi", "x", "", int64(0))
	f.Add("ack", int64(1), "", "", "p-1", "conv", int64(0))
	f.Add("read", int64(5), "agent", "", "", "", int64(0))
	f.Add("typing", int64(0), "agent", "", "", "", int64(0))
	f.Add("presence", int64(0), "", "Back at 9", "", "", int64(0))
	f.Add("error", int64(0), "", "", "p-1", "closed", int64(0))
	f.Add("welcome", int64(0), "", "", "", "c2", int64(7))
	f.Add("email", int64(0), "", "a@b.co", "", "", int64(0))
	f.Fuzz(func(t *testing.T, typ string, seq int64, from, text, id, conv string, last int64) {
		s, _ := connected("c1")
		s.EmailCapture.When = EmailWhenOffline
		s.Send("first")
		frames := []Frame{
			{Type: typ, Seq: seq, From: from, Text: text, ID: id, Conversation: conv, LastSeq: last, Code: conv, State: text, Email: text, Name: text},
			{Type: FrameMessage, Seq: seq + 1, From: from, Text: text, ID: id},
			{Type: typ, Seq: seq - 1, From: FromVisitor, ID: "p-1", Conversation: conv},
		}
		for _, fr := range frames {
			u := s.Receive(fr)
			for _, i := range u.Changed {
				if i < 0 || i >= len(s.Entries()) {
					t.Fatalf("changed index %d out of %d", i, len(s.Entries()))
				}
			}
		}
		es := s.Entries()
		seen := map[[2]int64]bool{}
		for i := 0; i < s.confirmed; i++ {
			k := [2]int64{int64(es[i].epoch), es[i].Seq}
			if seen[k] {
				t.Fatalf("seq %v shown twice", k)
			}
			seen[k] = true
			if i > 0 && (es[i-1].epoch > es[i].epoch || es[i-1].epoch == es[i].epoch && es[i-1].Seq > es[i].Seq) {
				t.Fatalf("entries out of order at %d", i)
			}
		}
		_, _, _, _ = s.SeenKey(), s.TypingLine(), s.Note(), s.AskEmail()
	})
}

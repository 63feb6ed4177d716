package widget

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// view renders the entries compactly: from:text#seq, with "?" for pending
// and "!" for failed messages.
func view(s *Session) string {
	var parts []string
	for _, e := range s.Entries() {
		p := e.From + ":" + e.Text
		switch {
		case e.End:
			p = "--end--"
		case e.Pending:
			p += "?"
		case e.Failed != "":
			p += "!"
		default:
			p += "#" + strconv.FormatInt(e.Seq, 10)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " ")
}

func ids(fs []Frame) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Type+":"+f.ID)
	}
	return out
}

func newTestSession() *Session {
	s := NewSession("demo", "cf1", "p")
	s.Backoff.Rand = func() float64 { return 0.999999999 }
	s.Page = "https://example.com/"
	return s
}

func mustSend(t *testing.T, s *Session, text string) Update {
	t.Helper()
	u, err := s.Send(text)
	if err != nil {
		t.Fatalf("Send(%q): %v", text, err)
	}
	return u
}

func TestFirstConversation(t *testing.T) {
	s := newTestSession()
	if s.State() != ConnIdle || s.StatusLine() != "" {
		t.Fatalf("new session: %v %q", s.State(), s.StatusLine())
	}
	// Typed before the socket is up: shown as pending, not sent yet.
	u := mustSend(t, s, "  hello  ")
	if len(u.Send) != 0 || !reflect.DeepEqual(u.Changed, []int{0}) {
		t.Fatalf("send while idle: %+v", u)
	}
	s.Dial()
	if s.State() != ConnConnecting || s.StatusLine() != "Connecting…" {
		t.Fatalf("dialing: %v %q", s.State(), s.StatusLine())
	}
	h := s.Hello()
	want := Frame{Type: FrameHello, V: ProtocolVersion, Site: "demo", Chatflow: "cf1", Page: "https://example.com/"}
	if h != want {
		t.Fatalf("hello %+v, want %+v", h, want)
	}
	u = s.Receive(Frame{Type: FrameWelcome, Token: "tok1"})
	if s.State() != ConnConnected || s.StatusLine() != "" || s.Token != "tok1" {
		t.Fatalf("after welcome: %v %q token %q", s.State(), s.StatusLine(), s.Token)
	}
	if len(u.Send) != 1 || u.Send[0].Text != "hello" || u.Send[0].ID == "" {
		t.Fatalf("welcome must send the queued message, got %+v", u.Send)
	}
	id := u.Send[0].ID

	// Connected: the next message goes at once.
	u = mustSend(t, s, "second")
	if len(u.Send) != 1 || u.Send[0].ID == id {
		t.Fatalf("send while connected: %+v", u.Send)
	}
	id2 := u.Send[0].ID

	s.Receive(Frame{Type: FrameAck, ID: id, Seq: 1, Conversation: "conv1"})
	if s.Conversation != "conv1" || s.Unsent() != 1 {
		t.Fatalf("after ack: conversation %q unsent %d", s.Conversation, s.Unsent())
	}
	// The pushed copy of an acknowledged message is not shown twice.
	if u := s.Receive(Frame{Type: FrameMessage, Seq: 1, ID: id, From: FromVisitor, Text: "hello"}); len(u.Changed) != 0 {
		t.Fatalf("duplicate message changed the view: %+v", u)
	}
	// The push can beat the ack, too.
	s.Receive(Frame{Type: FrameMessage, Seq: 2, ID: id2, From: FromVisitor, Text: "second", At: "2026-01-01T00:00:00Z"})
	s.Receive(Frame{Type: FrameAck, ID: id2, Seq: 2, Conversation: "conv1"})
	s.Receive(Frame{Type: FrameMessage, Seq: 4, ID: "srv-9", From: FromAgent, Name: "Ann", Text: "hi there"})
	if got, want := view(s), "visitor:hello#1 visitor:second#2 agent:hi there#4"; got != want {
		t.Fatalf("view %q, want %q", got, want)
	}
	if s.Unsent() != 0 || s.LastSeq != 4 {
		t.Fatalf("unsent %d last seq %d", s.Unsent(), s.LastSeq)
	}
	if e := s.Entries()[2]; e.Name != "Ann" || e.Key == "" {
		t.Fatalf("agent entry %+v", e)
	}
}

func TestAckDoesNotSkipMissedMessages(t *testing.T) {
	s := newTestSession()
	s.Dial()
	s.Receive(Frame{Type: FrameWelcome, Token: "t"})
	u := mustSend(t, s, "q")
	s.Receive(Frame{Type: FrameMessage, Seq: 3, From: FromAgent, Text: "a"})
	// Seq 4 (an agent message) is still in flight when the ack for 5 arrives.
	s.Receive(Frame{Type: FrameAck, ID: u.Send[0].ID, Seq: 5, Conversation: "c"})
	if s.LastSeq != 3 {
		t.Fatalf("last seq %d after ack: a reconnect would skip seq 4", s.LastSeq)
	}
	s.Closed(CloseTryAgain)
	if h := s.Hello(); h.LastSeq != 3 || h.Conversation != "c" || h.Token != "t" {
		t.Fatalf("hello after drop: %+v", h)
	}
	s.Receive(Frame{Type: FrameWelcome, Token: "t", Conversation: "c", LastSeq: 5})
	// Replay: 4 is new and slots in before the visitor's 5; 5 is a duplicate.
	u4 := s.Receive(Frame{Type: FrameMessage, Seq: 4, From: FromAgent, Text: "b"})
	s.Receive(Frame{Type: FrameMessage, Seq: 5, ID: u.Send[0].ID, From: FromVisitor, Text: "q"})
	if got, want := view(s), "agent:a#3 agent:b#4 visitor:q#5"; got != want {
		t.Fatalf("view %q, want %q", got, want)
	}
	if !reflect.DeepEqual(u4.Changed, []int{1}) {
		t.Fatalf("seq 4 inserted at %v, want [1]", u4.Changed)
	}
	if s.LastSeq != 5 {
		t.Fatalf("last seq %d, want 5", s.LastSeq)
	}
}

func TestReconnectResendsUnacknowledgedInOrder(t *testing.T) {
	s := newTestSession()
	s.Dial()
	s.Receive(Frame{Type: FrameWelcome, Token: "t"})
	a := mustSend(t, s, "one").Send[0]
	s.Receive(Frame{Type: FrameAck, ID: a.ID, Seq: 1, Conversation: "c"})
	b := mustSend(t, s, "two").Send[0]

	d, retry := s.Closed(CloseTryAgain)
	if !retry || d <= 0 || d > BackoffMin {
		t.Fatalf("first retry after %v (retry %v)", d, retry)
	}
	if s.State() != ConnReconnecting || s.StatusLine() != "Reconnecting…" {
		t.Fatalf("after drop: %v %q", s.State(), s.StatusLine())
	}
	// Typed while reconnecting: queued, not sent into a dead socket.
	u := mustSend(t, s, "three")
	c := s.Entries()[len(s.Entries())-1]
	if len(u.Send) != 0 {
		t.Fatalf("sent while reconnecting: %+v", u.Send)
	}
	// A failed attempt backs off further.
	s.Dial()
	if d2, _ := s.Closed(1006); d2 <= d {
		t.Fatalf("second delay %v not longer than first %v", d2, d)
	}
	if s.State() != ConnReconnecting {
		t.Fatalf("state %v", s.State())
	}
	s.Dial()
	u = s.Receive(Frame{Type: FrameWelcome, Token: "t", Conversation: "c", LastSeq: 1})
	if got, want := ids(u.Send), []string{"send:" + b.ID, "send:" + c.ID}; !reflect.DeepEqual(got, want) {
		t.Fatalf("resent %v, want %v", got, want)
	}
	// The schedule starts over after a welcome.
	if d3, _ := s.Closed(CloseTryAgain); d3 > BackoffMin {
		t.Fatalf("delay %v after welcome; backoff not reset", d3)
	}
	// And again after the next welcome: same ids, nothing lost.
	u2 := s.Receive(Frame{Type: FrameWelcome, Token: "t", Conversation: "c", LastSeq: 1})
	if !reflect.DeepEqual(ids(u2.Send), ids(u.Send)) {
		t.Fatalf("second resend %v, first %v", ids(u2.Send), ids(u.Send))
	}
	for i, f := range u2.Send {
		s.Receive(Frame{Type: FrameAck, ID: f.ID, Seq: int64(2 + i), Conversation: "c"})
	}
	if s.Unsent() != 0 {
		t.Fatalf("unsent %d after acks", s.Unsent())
	}
	if got, want := view(s), "visitor:one#1 visitor:two#2 visitor:three#3"; got != want {
		t.Fatalf("view %q, want %q", got, want)
	}
}

func TestSendRefusesBadInput(t *testing.T) {
	tests := []struct {
		name string
		text string
		err  error
	}{
		{"empty", "", ErrEmptyMessage},
		{"blank", " \n\t ", ErrEmptyMessage},
		{"too many characters", strings.Repeat("é", MaxTextRunes+1), ErrLongMessage},
		{"too many bytes once escaped", strings.Repeat("\x01", MaxTextRunes), ErrLongMessage},
		{"at the limit", strings.Repeat("a", MaxTextRunes), nil},
		{"4-byte runes at the limit", strings.Repeat("😀", MaxTextRunes), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSession()
			s.Dial()
			s.Receive(Frame{Type: FrameWelcome, Token: "t"})
			u, err := s.Send(tt.text)
			if err != tt.err {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if err != nil {
				if s.Unsent() != 0 || len(s.Entries()) != 0 || len(u.Send) != 0 {
					t.Fatalf("refused message was queued")
				}
				if s.StatusLine() != err.Error() {
					t.Fatalf("status %q, want %q", s.StatusLine(), err.Error())
				}
				return
			}
			if n := len(EncodeFrame(u.Send[0])); n > MaxFrameBytes {
				t.Fatalf("accepted a %d-byte frame", n)
			}
		})
	}
}

func TestRefusedMessageIsNotResent(t *testing.T) {
	s := newTestSession()
	s.Dial()
	s.Receive(Frame{Type: FrameWelcome, Token: "t"})
	f := mustSend(t, s, "x").Send[0]
	u := s.Receive(Frame{Type: FrameError, Code: ErrTooLong, ID: f.ID, Message: "too long"})
	if !reflect.DeepEqual(u.Changed, []int{0}) || view(s) != "visitor:x!" {
		t.Fatalf("refused message: changed %v view %q", u.Changed, view(s))
	}
	if s.StatusLine() != ErrorText(ErrTooLong) {
		t.Fatalf("status %q", s.StatusLine())
	}
	s.Closed(CloseTryAgain)
	if u := s.Receive(Frame{Type: FrameWelcome, Token: "t"}); len(u.Send) != 0 {
		t.Fatalf("refused message resent: %+v", u.Send)
	}
}

func TestRateLimitedMessageIsSentAgain(t *testing.T) {
	s := newTestSession()
	s.Dial()
	s.Receive(Frame{Type: FrameWelcome, Token: "t"})
	a := mustSend(t, s, "a").Send[0]
	b := mustSend(t, s, "b").Send[0]
	if u := s.Receive(Frame{Type: FrameError, Code: ErrRateLimited, Message: "slow down"}); u.ResendIn != 0 {
		t.Fatalf("a refusal naming no message schedules a resend: %+v", u)
	}
	u := s.Receive(Frame{Type: FrameError, Code: ErrRateLimited, ID: b.ID, Message: "slow down"})
	if u.ResendIn != ResendDelay || len(u.Send) != 0 {
		t.Fatalf("refused message: %+v, want a resend in %v and nothing now", u, ResendDelay)
	}
	if view(s) != "visitor:a? visitor:b?" || s.StatusLine() != ErrorText(ErrRateLimited) {
		t.Fatalf("view %q status %q: the message must stay pending", view(s), s.StatusLine())
	}
	s.Receive(Frame{Type: FrameAck, ID: a.ID, Seq: 1, Conversation: "c"})
	u = s.Resend()
	if len(u.Send) != 1 || u.Send[0].ID != b.ID || u.Send[0].Text != "b" {
		t.Fatalf("resend %+v, want only the unacknowledged b", u.Send)
	}
	s.Closed(CloseTryAgain)
	if u := s.Resend(); len(u.Send) != 0 {
		t.Fatalf("resent on a closed socket: %+v", u.Send)
	}
	if u := s.Receive(Frame{Type: FrameWelcome, Token: "t", Conversation: "c"}); len(u.Send) != 1 || u.Send[0].ID != b.ID {
		t.Fatalf("welcome after reconnect sent %+v, want b", u.Send)
	}
}

func TestCloseCodes(t *testing.T) {
	tests := []struct {
		code     int
		retry    bool
		minDelay time.Duration
		state    ConnState
		conv     string
	}{
		{CloseTryAgain, true, BackoffMin / 2, ConnReconnecting, "c"},
		{1006, true, BackoffMin / 2, ConnReconnecting, "c"},
		{CloseTooBig, true, BackoffMin / 2, ConnReconnecting, "c"},
		{CloseRateLimited, true, RateLimitedDelay, ConnReconnecting, "c"},
		{CloseForbidden, true, BackoffMin / 2, ConnReconnecting, ""},
		{CloseNotFound, false, 0, ConnUnavailable, "c"},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.code), func(t *testing.T) {
			s := newTestSession()
			s.Dial()
			s.Receive(Frame{Type: FrameWelcome, Token: "t", Conversation: "c"})
			s.Receive(Frame{Type: FrameMessage, Seq: 3, From: FromAgent, Text: "a"})
			d, retry := s.Closed(tt.code)
			if retry != tt.retry || d < tt.minDelay || s.State() != tt.state {
				t.Fatalf("Closed(%d) = %v, %v, state %v", tt.code, d, retry, s.State())
			}
			h := s.Hello()
			if h.Conversation != tt.conv || (tt.conv == "" && h.LastSeq != 0) {
				t.Fatalf("next hello %+v", h)
			}
			if s.StatusLine() == "" {
				t.Fatalf("no status shown while %v", s.State())
			}
		})
	}
}

func TestNewConversationKeepsOldMessagesAndSeqs(t *testing.T) {
	s := newTestSession()
	s.Dial()
	s.Receive(Frame{Type: FrameWelcome, Token: "t", Conversation: "c1"})
	s.Receive(Frame{Type: FrameMessage, Seq: 1, From: FromAgent, Text: "old"})
	f := mustSend(t, s, "again").Send[0]
	// The agent closed c1; the server refuses the send and the widget tries
	// once more, which starts c2.
	u := s.Receive(Frame{Type: FrameError, Code: ErrConvClosed, ID: f.ID})
	if len(u.Send) != 1 || u.Send[0].ID != f.ID {
		t.Fatalf("closed: resend %+v", u.Send)
	}
	if u := s.Receive(Frame{Type: FrameError, Code: ErrConvClosed, ID: f.ID}); len(u.Send) != 0 {
		t.Fatalf("resent twice: %+v", u.Send)
	}
	s.Receive(Frame{Type: FrameAck, ID: f.ID, Seq: 1, Conversation: "c2"})
	s.Receive(Frame{Type: FrameMessage, Seq: 1, ID: f.ID, From: FromVisitor, Text: "again"})
	s.Receive(Frame{Type: FrameMessage, Seq: 2, From: FromAgent, Text: "new"})
	if got, want := view(s), "agent:old#1 --end-- visitor:again#1 agent:new#2"; got != want {
		t.Fatalf("view %q, want %q", got, want)
	}
	keys := map[string]bool{}
	for _, e := range s.Entries() {
		if keys[e.Key] {
			t.Fatalf("duplicate key %q", e.Key)
		}
		keys[e.Key] = true
	}
	if h := s.Hello(); h.Conversation != "c2" || h.LastSeq != 2 {
		t.Fatalf("hello %+v", h)
	}
}

func TestStatusFrames(t *testing.T) {
	s := newTestSession()
	s.Dial()
	s.Receive(Frame{Type: FrameWelcome, Token: "t"})
	s.Receive(Frame{Type: FrameStatus, State: "reconnecting"})
	if s.StatusLine() != "Reconnecting…" {
		t.Fatalf("status %q", s.StatusLine())
	}
	s.Receive(Frame{Type: FrameStatus, State: "connected"})
	if s.State() != ConnConnected || s.StatusLine() != "" {
		t.Fatalf("state %v status %q", s.State(), s.StatusLine())
	}
}

func TestIgnoresJunkFrames(t *testing.T) {
	s := newTestSession()
	s.Dial()
	s.Receive(Frame{Type: FrameWelcome, Token: "t"})
	for _, f := range []Frame{
		{Type: FrameMessage, Seq: 0, Text: "no seq"},
		{Type: FrameMessage, Seq: -1, Text: "negative"},
		{Type: FrameAck, ID: "unknown", Seq: 3},
		{Type: FramePong},
		{Type: "surprise"},
	} {
		if u := s.Receive(f); len(u.Changed)+len(u.Send) != 0 {
			t.Fatalf("%+v changed things: %+v", f, u)
		}
	}
	if len(s.Entries()) != 0 {
		t.Fatalf("entries %q", view(s))
	}
}

func TestConnStateString(t *testing.T) {
	if ConnReconnecting.String() != "reconnecting" || ConnState(99).String() != "ConnState(99)" {
		t.Fatal(ConnReconnecting.String(), ConnState(99).String())
	}
}

// TestServiceRestartReconnectsAtOnce: an edge closing for a deploy (1012)
// gets an immediate reconnect that resends what was not acknowledged; a
// second 1012 before a welcome backs off like any other failure.
func TestServiceRestartReconnectsAtOnce(t *testing.T) {
	s := newTestSession()
	s.Dial()
	s.Receive(Frame{Type: FrameWelcome, Token: "t"})
	a := mustSend(t, s, "in flight").Send[0]
	for range 3 {
		s.Closed(CloseTryAgain) // earlier trouble: the schedule has grown
	}
	s.Dial()
	s.Receive(Frame{Type: FrameWelcome, Token: "t"})

	d, retry := s.Closed(CloseServiceRestart)
	if !retry || d != 0 || s.State() != ConnReconnecting {
		t.Fatalf("Closed(1012) = %v, %v, state %v; want an immediate retry", d, retry, s.State())
	}
	s.Dial()
	if d2, _ := s.Closed(CloseServiceRestart); d2 < BackoffMin/2 {
		t.Fatalf("a second 1012 without a welcome retried after %v, want backoff", d2)
	}
	s.Dial()
	u := s.Receive(Frame{Type: FrameWelcome, Token: "t"})
	if got := ids(u.Send); !reflect.DeepEqual(got, []string{"send:" + a.ID}) {
		t.Fatalf("after the restart resent %v, want the unacknowledged message once", got)
	}
	if d3, _ := s.Closed(CloseServiceRestart); d3 != 0 {
		t.Fatalf("1012 after a welcome: delay %v, want 0", d3)
	}
}

// TestClosedFrameShowsTheEnd: a closed frame shows the end at once, after
// the conversation's last message even when it comes before the replay;
// a second closed (a resume) adds nothing; the visitor's next message,
// refused and resent once, starts a new conversation below the marker.
func TestClosedFrameShowsTheEnd(t *testing.T) {
	s := newTestSession()
	s.Dial()
	s.Receive(Frame{Type: FrameWelcome, Token: "t", Conversation: "c1"})
	s.Receive(Frame{Type: FrameMessage, Seq: 1, From: FromVisitor, Text: "hi"})
	u := s.Receive(Frame{Type: FrameClosed, Conversation: "c1", LastSeq: 2})
	if len(u.Changed) != 1 || s.Ended() != "c1" {
		t.Fatalf("closed: changed %v, ended %q", u.Changed, s.Ended())
	}
	s.Receive(Frame{Type: FrameMessage, Seq: 2, From: FromAgent, Text: "bye"}) // replayed after it
	if u := s.Receive(Frame{Type: FrameClosed, Conversation: "c1", LastSeq: 2}); len(u.Changed) != 0 {
		t.Fatalf("a second closed changed %v", u.Changed)
	}
	if u := s.Receive(Frame{Type: FrameClosed, Conversation: "other", LastSeq: 9}); len(u.Changed) != 0 {
		t.Fatalf("another conversation's closed changed %v", u.Changed)
	}
	if got, want := view(s), "visitor:hi#1 agent:bye#2 --end--"; got != want {
		t.Fatalf("view %q, want %q", got, want)
	}
	f := mustSend(t, s, "new question").Send[0]
	u = s.Receive(Frame{Type: FrameError, Code: ErrConvClosed, ID: f.ID})
	if len(u.Send) != 1 || u.Send[0].ID != f.ID {
		t.Fatalf("closed error: resend %+v", u.Send)
	}
	s.Receive(Frame{Type: FrameAck, ID: f.ID, Seq: 1, Conversation: "c2"})
	s.Receive(Frame{Type: FrameMessage, Seq: 1, ID: f.ID, From: FromVisitor, Text: "new question"})
	if got, want := view(s), "visitor:hi#1 agent:bye#2 --end-- visitor:new question#1"; got != want {
		t.Fatalf("view %q, want %q", got, want)
	}
	if s.Ended() != "c1" || s.Conversation != "c2" {
		t.Fatalf("ended %q, conversation %q", s.Ended(), s.Conversation)
	}
}

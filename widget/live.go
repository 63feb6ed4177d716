package widget

import (
	"strconv"
	"strings"
	"time"
)

// Typing indicator timing, the same on both sides of a conversation.
const (
	// TypingEvery is the least time between two typing frames of one side:
	// a typist sends one now and then, not one per key.
	TypingEvery = 2500 * time.Millisecond
	// TypingShowFor is how long an indicator stays after the last typing
	// frame; a typist who stopped stops showing.
	TypingShowFor = 5 * time.Second
)

func (s *Session) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// receiveLive applies the frames about the conversation's live state.
func (s *Session) receiveLive(f Frame) {
	switch f.Type {
	case FrameTyping:
		if f.From == FromVisitor {
			return // the visitor's own typing (another tab) is not news to them
		}
		name := strings.TrimSpace(f.Name)
		if name == "" {
			name = T("someone")
		}
		s.typingName, s.typingAt = name, s.now()
	case FrameRead:
		if f.From != FromVisitor && f.Seq > s.agentRead {
			s.agentRead = f.Seq
		}
	case FramePresence:
		s.Presence = Presence{State: f.State, Text: f.Text, BackAt: f.BackAt, Hide: f.Hide}
	case FrameEmail:
		if f.Email != "" {
			s.Email, s.emailPending = f.Email, ""
			if s.notice == ErrorText(ErrBadEmail) {
				s.notice = ""
			}
		}
	}
}

// TypingLine returns "<name> is typing…" while someone of the team typed
// within TypingShowFor, else "".
func (s *Session) TypingLine() string {
	if s.typingName == "" || s.now().Sub(s.typingAt) >= TypingShowFor {
		return ""
	}
	return T("typing", "name", s.typingName)
}

// Typing records that the visitor typed and returns the typing frame to
// send, at most one every TypingEvery, and only into a conversation the
// team can see (there is none before the first message).
func (s *Session) Typing() (Frame, bool) {
	now := s.now()
	if s.state != ConnConnected || s.Conversation == "" || now.Sub(s.typingSent) < TypingEvery {
		return Frame{}, false
	}
	s.typingSent = now
	return Frame{Type: FrameTyping}, true
}

// Read returns the read frame to send when the visitor has the chat open
// and visible: the highest seq shown, if it is news to the server.
func (s *Session) Read() (Frame, bool) {
	if s.state != ConnConnected || s.Conversation == "" || s.LastSeq <= s.readSent {
		return Frame{}, false
	}
	s.readSent = s.LastSeq
	return Frame{Type: FrameRead, Seq: s.LastSeq}, true
}

// AgentRead returns the highest seq of the current conversation the team
// has read.
func (s *Session) AgentRead() int64 { return s.agentRead }

// SeenKey returns the key of the visitor's newest message the team has
// read (the one to mark "Seen"), or "".
func (s *Session) SeenKey() string {
	if s.agentRead <= 0 {
		return ""
	}
	for i := s.confirmed - 1; i >= 0; i-- {
		e := s.entries[i]
		if e.epoch != s.epoch {
			break
		}
		if e.From == FromVisitor && e.Seq > 0 && e.Seq <= s.agentRead {
			return e.Key
		}
	}
	return ""
}

// AskEmail reports whether the widget should ask for an email address now:
// the chatflow asks (always: once the visitor has written; when_offline:
// while nobody can answer) and no address is stored or on its way.
func (s *Session) AskEmail() bool {
	if s.Email != "" || s.emailPending != "" {
		return false
	}
	switch s.EmailCapture.When {
	case EmailAlways:
		return s.sent
	case EmailWhenOffline:
		return Offline(s.Presence)
	}
	return false
}

// EmailPrompt returns the text of the ask in the chatflow's language.
func (s *Session) EmailPrompt() string { return EmailPrompt(s.EmailCapture, s.Lang) }

// Note returns the line about when an answer comes (see NoteText).
func (s *Session) Note() string { return NoteText(s.Presence, s.sent, s.Email) }

// ErrBadEmailAddress is SubmitEmail's refusal, shown to the visitor as is.
var ErrBadEmailAddress error = textError("err_bad_email")

// SubmitEmail takes the address the visitor typed. An invalid one is
// refused with an error to show and nothing is sent; a valid one goes now
// when connected, else after the next welcome.
func (s *Session) SubmitEmail(addr string) (Update, error) {
	addr = strings.TrimSpace(addr)
	if !ValidEmail(addr) {
		s.notice = ErrBadEmailAddress.Error()
		return Update{}, ErrBadEmailAddress
	}
	if s.notice == ErrBadEmailAddress.Error() {
		s.notice = ""
	}
	s.nextID++
	s.emailPending = addr
	s.emailFrame = Frame{Type: FrameEmail, ID: s.idPrefix + "-" + strconv.Itoa(s.nextID), Email: addr}
	var u Update
	if s.state == ConnConnected {
		u.Send = append(u.Send, s.emailFrame)
	}
	return u, nil
}

// LauncherHidden reports whether presence asks to hide the launcher. A
// visitor already in a conversation keeps theirs.
func (s *Session) LauncherHidden() bool { return s.Presence.Hide && s.Conversation == "" && !s.sent }

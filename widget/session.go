package widget

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ConnState is the state of a visitor's connection as the widget shows it.
type ConnState int

// Connection states.
const (
	ConnIdle         ConnState = iota // no socket yet: the chat was never opened
	ConnConnecting                    // the first socket is opening
	ConnConnected                     // welcomed by the server
	ConnReconnecting                  // the socket dropped (or the backend link did); retrying
	ConnUnavailable                   // the site or chatflow is unknown: no retry
)

var connStateNames = [...]string{"idle", "connecting", "connected", "reconnecting", "unavailable"}

// String returns the state's lower-case name.
func (s ConnState) String() string {
	if s < 0 || int(s) >= len(connStateNames) {
		return "ConnState(" + strconv.Itoa(int(s)) + ")"
	}
	return connStateNames[s]
}

// RateLimitedDelay is the least the widget waits before reconnecting after
// the server closed the socket for sending too fast.
const RateLimitedDelay = 5 * time.Second

// ResendDelay is how long a message the server refused as rate_limited
// (without closing the socket) waits before it is sent again.
const ResendDelay = 2 * time.Second

// Errors Send returns; their text is shown to the visitor as is.
var (
	ErrEmptyMessage error = textError("empty")
	ErrLongMessage  error = longMessage{}
)

// longMessage is ErrLongMessage: its text carries the limit.
type longMessage struct{}

func (longMessage) Error() string { return ErrorText(ErrTooLong) }

// Entry is one message of the chat window.
type Entry struct {
	// Key identifies the entry's element in the view for its whole life,
	// also when an acknowledgement gives it a seq and moves it.
	Key    string
	ID     string // client message id (the visitor's own messages)
	Seq    int64  // 0 until the server has stored it
	From   string // visitor | agent | bot | system
	Name   string
	Avatar string
	Text   string
	At     string // RFC 3339

	Pending bool   // the visitor's message, not yet acknowledged
	Failed  string // why the server refused it; it will not be resent

	Attachment   *Attachment // the file the message carries, if any
	QuickReplies []string    // a bot's answers to offer as buttons
	Link         string      // a bot answer's help article (a path on the edge)
	LinkTitle    string      // that article's title

	// End marks where a conversation ended (Text says so): a separator,
	// not a message. What the visitor writes next is a new conversation.
	End bool

	epoch int // conversation generation: entries of a new conversation sort after the old one's
}

// Update is what the shell must do after a session changed.
type Update struct {
	Send    []Frame // frames to send now, in order
	Changed []int   // indexes into Entries() of added or changed entries, ascending
	// ResendIn, when not zero: call Resend after this long (a message
	// was refused for coming too fast and waits in the outbox).
	ResendIn time.Duration
}

// Session is the widget's side of one visitor's chat: its identity, the
// outbox of unacknowledged messages, the messages shown (deduplicated by
// seq, in seq order, the visitor's unacknowledged ones last) and the
// reconnect schedule. It does no I/O: the browser shell feeds it frames and
// socket events and carries out the Updates it returns. Not safe for
// concurrent use.
type Session struct {
	Site     string
	Chatflow string
	Page     string
	Referrer string

	Token        string // the visitor token; memory only
	Resume       string // a reopen link's token, sent in hello until welcomed
	Conversation string // the conversation's public id; empty before the first send
	LastSeq      int64  // highest seq received in a message frame

	Backoff Backoff
	// restarted: the last close was a service restart, answered with an
	// immediate reconnect that has not been welcomed yet.
	restarted bool

	// Live state (live.go): the chatflow's settings the session acts on,
	// what the server told about presence, typing and reading.
	Lang         string       // the language the widget speaks (the chatflow's or a translation's)
	EmailCapture EmailCapture // when to ask for an email address
	Presence     Presence     // the chatflow's availability, as last told
	Email        string       // the address the server stored; "" until then
	Now          func() time.Time

	typingName   string    // who is typing on the team's side
	typingAt     time.Time // when that was last said
	typingSent   time.Time // when the visitor's last typing frame went out
	agentRead    int64     // highest seq of this conversation the team has read
	readSent     int64     // highest seq reported read
	sent         bool      // the visitor has written in this conversation
	emailPending string    // address sent, not yet confirmed
	emailFrame   Frame     // its frame, resent after a reconnect

	// Privacy (privacy.go): the chatflow's consent notices, the visitor's
	// decisions and the identification the page asked for.
	Consents     Consents
	CookieChoice string // the cookie banner's answer: DecisionGranted, DecisionRefused or ""
	Subscribed   bool   // the communication checkbox
	IDEmail      string // identification: the email the page passed
	IDToken      string // and the token the site's server got for it
	Identified   bool   // the server identified the visitor
	Properties   Properties
	Warning      string // why identification failed, for the console

	dataGranted string  // version of the data-processing text granted
	idRefused   bool    // the server did not identify the visitor
	consentOut  []Frame // consent frames not yet answered
	stale       bool    // a consent was refused as stale

	// Survey (survey.go).
	Survey      *SurveyAsk
	surveyState SurveyState
	surveyOut   *Frame // the answer, until stored

	state    ConnState
	notice   string
	idPrefix string
	nextID   int

	outbox    []Frame // sends not yet acknowledged, in order
	entries   []Entry // [0, confirmed) by (epoch, seq); then unconfirmed in send order
	confirmed int
	seen      map[int64]bool // seqs of the current conversation already shown
	epoch     int
	retried   map[string]bool // ids resent once after a "closed" error
	ended     string          // the conversation whose end is shown
}

// NewSession starts the session of one page view. idPrefix must be random
// and unguessable enough to make message ids unique per conversation.
func NewSession(site, chatflow, idPrefix string) *Session {
	return &Session{
		Site:     site,
		Chatflow: chatflow,
		idPrefix: idPrefix,
		seen:     map[int64]bool{},
		retried:  map[string]bool{},
	}
}

// State returns the connection state.
func (s *Session) State() ConnState { return s.state }

// StatusLine returns the sentence for the widget's status line: the
// connection state if it has one to say, else the latest notice.
func (s *Session) StatusLine() string {
	if t := StatusText(s.state); t != "" {
		return t
	}
	return s.notice
}

// Entries returns the messages to show, in order. The caller must not
// modify them.
func (s *Session) Entries() []Entry { return s.entries }

// Unsent returns the number of messages waiting for an acknowledgement.
func (s *Session) Unsent() int { return len(s.outbox) }

// Dial records that the shell is opening a socket.
func (s *Session) Dial() {
	if s.state == ConnIdle {
		s.state = ConnConnecting
	}
}

// Hello returns the first frame for a new socket.
func (s *Session) Hello() Frame {
	return Frame{
		Type:         FrameHello,
		V:            ProtocolVersion,
		Site:         s.Site,
		Chatflow:     s.Chatflow,
		Token:        s.Token,
		Conversation: s.Conversation,
		LastSeq:      s.LastSeq,
		Page:         s.Page,
		Referrer:     s.Referrer,
		Email:        s.IDEmail,
		IDToken:      s.IDToken,
		Resume:       s.Resume,
		Language:     s.Lang,
	}
}

// Send queues a message the visitor typed and shows it as pending. The
// frame is in the Update when the session is connected; otherwise it goes
// out after the next welcome. Empty and oversized texts are refused with an
// error to show, and nothing is queued.
func (s *Session) Send(text string) (Update, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		s.notice = ErrEmptyMessage.Error()
		return Update{}, ErrEmptyMessage
	}
	s.nextID++
	f := Frame{Type: FrameSend, ID: s.idPrefix + "-" + strconv.Itoa(s.nextID), Text: text}
	if utf8.RuneCountInString(text) > MaxTextRunes || len(EncodeFrame(f)) > MaxFrameBytes {
		s.nextID--
		s.notice = ErrLongMessage.Error()
		return Update{}, ErrLongMessage
	}
	s.notice = ""
	s.sent = true
	s.outbox = append(s.outbox, f)
	s.entries = append(s.entries, Entry{Key: "c:" + f.ID, ID: f.ID, From: FromVisitor, Text: text, Pending: true})
	u := Update{Changed: []int{len(s.entries) - 1}}
	if s.state == ConnConnected {
		// append, never []Frame{f}: that literal's [1]Frame type brings
		// its own equality function into the wasm (5 KB brotli).
		u.Send = append(u.Send, f)
	}
	return u, nil
}

// Receive applies one frame from the server.
func (s *Session) Receive(f Frame) Update {
	var u Update
	switch f.Type {
	case FrameWelcome:
		s.state = ConnConnected
		s.notice = ""
		s.Backoff.Reset()
		s.restarted = false
		if f.Token != "" {
			s.Token = f.Token
		}
		s.Resume = "" // used: the conversation is this visitor's now
		s.switchConversation(f.Conversation)
		if f.Conversation != "" {
			s.sent = true // a resumed conversation: the visitor wrote before
		}
		if f.Email != "" {
			s.Email = f.Email
		}
		s.Identified, s.Warning = f.Identified, f.Warning
		if f.Version != "" {
			s.dataGranted = f.Version // agreed on an earlier page: not asked again
		}
		s.idRefused = s.IDToken != "" && !f.Identified
		s.Properties = nil
		if f.Properties != nil {
			s.Properties = *f.Properties
		}
		// Decisions first (a data-processing grant must precede the
		// messages it allows), then everything not acknowledged, same ids:
		// the server stores each id once, so nothing is duplicated.
		u.Send = append([]Frame(nil), s.consentOut...)
		u.Send = append(u.Send, s.outbox...)
		if s.emailPending != "" {
			u.Send = append(u.Send, s.emailFrame)
		}
		if s.surveyOut != nil {
			u.Send = append(u.Send, *s.surveyOut)
		}

	case FrameAck:
		if f.Conversation != "" {
			s.switchConversation(f.Conversation)
		}
		s.dropOutbox(f.ID)
		if s.notice != "" && s.state == ConnConnected {
			s.notice = ""
		}
		if f.Seq > 0 {
			if i := s.unconfirmed(f.ID); i >= 0 {
				// Mark the seq seen so its message frame is not shown twice,
				// but leave LastSeq alone: an agent message with a lower seq
				// may still be on its way, and a reconnect must fetch it.
				s.seen[f.Seq] = true
				u.Changed = append(u.Changed, s.confirm(i, f.Seq, ""))
			}
		}

	case FrameMessage:
		if f.Seq <= 0 {
			break
		}
		// Message frames arrive in seq order (pushes and replays alike), so
		// even a duplicate proves everything up to its seq has been seen.
		s.LastSeq = max(s.LastSeq, f.Seq)
		if s.seen[f.Seq] {
			break
		}
		s.seen[f.Seq] = true
		if f.From != FromVisitor {
			s.typingName = "" // whoever was typing has sent it
		}
		if f.From == FromVisitor && f.ID != "" {
			if i := s.unconfirmed(f.ID); i >= 0 {
				s.dropOutbox(f.ID)
				u.Changed = append(u.Changed, s.confirm(i, f.Seq, f.At))
				break
			}
		}
		e := Entry{
			Key:    "s:" + strconv.Itoa(s.epoch) + ":" + strconv.FormatInt(f.Seq, 10),
			ID:     f.ID,
			Seq:    f.Seq,
			From:   f.From,
			Name:   f.Name,
			Avatar: f.Avatar,
			Text:   f.Text,
			At:     f.At,
			epoch:  s.epoch,

			Attachment: f.Attachment,
			Link:       f.Link,
			LinkTitle:  f.LinkTitle,
		}
		if f.QuickReplies != nil {
			e.QuickReplies = *f.QuickReplies
		}
		u.Changed = append(u.Changed, s.insertConfirmed(e))

	case FrameTranscript:
		s.notice = T("transcript_sent")
	case FrameError:
		s.notice = ErrorText(f.Code)
		i := s.unconfirmed(f.ID)
		switch f.Code {
		case ErrBadEmail:
			s.emailPending = ""
		case ErrTooLong, ErrBadFrame:
			// The server will refuse this message however often it is
			// sent; keep it on screen, marked, but stop resending it.
			if i >= 0 {
				s.dropOutbox(f.ID)
				s.entries[i].Pending = false
				s.entries[i].Failed = s.notice
				u.Changed = append(u.Changed, i)
			}
		case ErrConvClosed:
			// The next send starts a new conversation: send the refused
			// message again, once, so it is not lost. Show the end first,
			// if the closed frame did not (an older server, a lost socket).
			if j := s.endConversation(s.LastSeq); j >= 0 {
				u.Changed = append(u.Changed, j)
				if i >= j {
					i++ // the marker went in before it
				}
			}
			s.switchConversation("")
			if i >= 0 && !s.retried[f.ID] && s.state == ConnConnected {
				s.retried[f.ID] = true
				for _, o := range s.outbox {
					if o.ID == f.ID {
						u.Send = append(u.Send, o)
					}
				}
			}
		case ErrRateLimited:
			// The socket stays open: without a resend the message would
			// wait for the next reconnect.
			if i >= 0 {
				u.ResendIn = ResendDelay
			}
		case ErrForbidden:
			s.switchConversation("")
		case ErrConsentRequired:
			// Nothing was stored: the message stays in the outbox until the
			// visitor agrees, then goes (receiveConsent).
			s.dataGranted = ""
		case ErrStaleConsent:
			s.staleConsent(f.ID)
		case ErrNoSurvey:
			s.Survey, s.surveyState, s.surveyOut = nil, SurveyNone, nil
			s.notice = ""
		case ErrBadAnswer:
			if s.surveyState == SurveySending {
				s.surveyState, s.surveyOut = SurveyAsking, nil
			}
		}

	case FrameTyping, FrameRead, FramePresence, FrameEmail:
		s.receiveLive(f)

	case FrameConsent:
		s.receiveConsent(f, &u)

	case FrameClosed:
		if f.Conversation == "" || f.Conversation == s.Conversation {
			if i := s.endConversation(f.LastSeq); i >= 0 {
				u.Changed = append(u.Changed, i)
			}
		}

	case FrameSurvey, FrameSurveyAnswer:
		s.receiveSurvey(f)

	case FrameStatus:
		// The edge lost (or regained) its link to the backend while keeping
		// this socket.
		switch f.State {
		case "reconnecting":
			if s.state == ConnConnected {
				s.state = ConnReconnecting
			}
		case "connected":
			if s.state == ConnReconnecting {
				s.state = ConnConnected
			}
		}
	}
	return u
}

// Resend sends the outbox again (due ResendIn after a refusal). The
// server stores a message once however often it comes, so the ones
// already on their way are harmless.
func (s *Session) Resend() Update {
	if s.state != ConnConnected {
		return Update{} // the welcome after the reconnect resends them
	}
	return Update{Send: append([]Frame(nil), s.outbox...)}
}

// Closed records that the socket closed with code and returns how long to
// wait before reconnecting; retry is false when reconnecting cannot help.
func (s *Session) Closed(code int) (delay time.Duration, retry bool) {
	switch code {
	case CloseNotFound, CloseOriginNotAllowed:
		s.state = ConnUnavailable
		return 0, false
	case CloseForbidden:
		// The conversation is not this visitor's (any more): start afresh
		// rather than asking for it again forever.
		s.switchConversation("")
	}
	s.state = ConnReconnecting
	if code == CloseServiceRestart && !s.restarted {
		// A deploy, not a fault: come back at once, without counting an
		// attempt. Twice without a welcome between falls back to backoff.
		s.restarted = true
		return 0, true
	}
	d := s.Backoff.Next()
	if code == CloseRateLimited {
		d = max(d, RateLimitedDelay)
	}
	return d, true
}

// Ended returns the conversation whose end the session has shown ("" for
// none): the one a closed frame or error named, until another begins.
func (s *Session) Ended() string { return s.ended }

// endConversation shows, once, that the current conversation has ended:
// a marker after its message seq (its last when it closed), so messages
// replayed later sort above it, and any after a reopening below. It
// returns the marker's index, or -1 when there is nothing (more) to show.
func (s *Session) endConversation(seq int64) int {
	if s.Conversation == "" || s.ended == s.Conversation {
		return -1
	}
	s.ended = s.Conversation
	s.typingName = ""
	return s.insertConfirmed(Entry{Key: "end:" + s.Conversation, From: FromSystem, Text: T("chat_ended"),
		End: true, Seq: max(seq, 0), epoch: s.epoch})
}

// switchConversation makes id the current conversation. Seqs are per
// conversation, so a different one starts a new epoch: its messages sort
// after the old ones and dedupe against their own seqs.
func (s *Session) switchConversation(id string) {
	if id == s.Conversation {
		return
	}
	if s.Conversation != "" {
		s.epoch++
		s.seen = map[int64]bool{}
		s.LastSeq = 0
		s.agentRead, s.readSent, s.typingName = 0, 0, ""
		s.sent = len(s.outbox) > 0
	}
	s.Conversation = id
}

// unconfirmed returns the index of the visitor's not-yet-stored message id,
// or -1.
func (s *Session) unconfirmed(id string) int {
	if id == "" {
		return -1
	}
	for i := s.confirmed; i < len(s.entries); i++ {
		if s.entries[i].ID == id {
			return i
		}
	}
	return -1
}

func (s *Session) dropOutbox(id string) {
	for i, o := range s.outbox {
		if o.ID == id {
			s.outbox = append(s.outbox[:i], s.outbox[i+1:]...)
			return
		}
	}
}

// confirm gives the unconfirmed entry at i its seq, moves it among the
// confirmed ones and returns its new index.
func (s *Session) confirm(i int, seq int64, at string) int {
	e := s.entries[i]
	s.entries = append(s.entries[:i], s.entries[i+1:]...)
	e.Seq, e.Pending, e.Failed, e.epoch = seq, false, "", s.epoch
	if at != "" {
		e.At = at
	}
	return s.insertConfirmed(e)
}

func (s *Session) insertConfirmed(e Entry) int {
	// Nearly always the new entry goes last: search from the end.
	j := s.confirmed
	for j > 0 {
		a := s.entries[j-1]
		// An end marker follows the message of its seq.
		if a.epoch < e.epoch || a.epoch == e.epoch && (a.Seq < e.Seq || a.Seq == e.Seq && (e.End || !a.End)) {
			break
		}
		j--
	}
	s.entries = append(s.entries, Entry{})
	copy(s.entries[j+1:], s.entries[j:])
	s.entries[j] = e
	s.confirmed++
	return j
}

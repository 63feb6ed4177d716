package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/widget"
)

// Connection states Listener.OnState reports (besides the widget's idle,
// connecting, connected, reconnecting and unavailable).
const (
	// StateClosed: Close was called; the client does nothing more.
	StateClosed = "closed"
)

// Timing of one connection.
const (
	dialTimeout  = 15 * time.Second
	writeTimeout = 10 * time.Second
	// pingEvery keeps NAT and proxies from dropping an idle socket; a
	// socket that hears nothing (not even the pong) for readTimeout is dead.
	pingEvery   = 25 * time.Second
	readTimeout = 2*pingEvery + 10*time.Second
	// outQueue frames may wait for the writer; beyond that the socket is
	// dropped and the reconnect resends what is unacknowledged.
	outQueue = 256
)

// Message is one message of the conversation.
type Message struct {
	Seq    int64  // position in the conversation, from 1; never repeats
	ID     string // the client id of a visitor's message; may be empty otherwise
	From   string // widget.FromVisitor, FromAgent, FromBot or FromSystem
	Name   string // the author's display name
	Avatar string // the author's image URL; may be empty
	Text   string // plain text: escape it wherever it is shown as markup
	At     string // RFC 3339, UTC

	// Attachment is the file the message carries (Text is then its
	// caption or name); nil for none. Fetch it with Chat.Download.
	Attachment *Attachment
	// Link is a bot answer's help article as an absolute URL of the edge
	// ("" for none); ArticleID is that article, for Help.Article, and
	// LinkTitle its title (untrusted text).
	Link      string
	LinkTitle string
	ArticleID int64

	quickReplies []string
}

// QuickReplyCount is how many answers a bot's question offers as buttons.
// Show them under the newest message only: hide them once any later
// message arrives. A tap sends the label with Chat.Send.
func (m *Message) QuickReplyCount() int { return len(m.quickReplies) }

// QuickReply returns the label of quick reply i (0 ≤ i < QuickReplyCount).
func (m *Message) QuickReply(i int) string {
	if i < 0 || i >= len(m.quickReplies) {
		return ""
	}
	return m.quickReplies[i]
}

// Presence is the team's availability, live.
type Presence struct {
	State  string // available | away | offline | at_capacity
	Text   string // the line to show; may be empty
	BackAt string // offline: RFC 3339 time the team is back; may be empty
	Hide   bool   // the chatflow asks to hide the chat entry point
}

// Survey is the satisfaction survey of a closed conversation.
type Survey struct {
	ID           int64
	Question     string // untrusted text
	Scale        string // numeric (1-5) | emoji (five faces, 1-5)
	AllowComment bool   // offer a comment box
}

// ScoreLabel is what the button for score n (1-5) shows: the number or its face.
func (s *Survey) ScoreLabel(n int) string { return widget.ScoreLabel(s.Scale, n) }

// Listener hears what happens on a Chat. Its methods are called one at a
// time from the client's own goroutine, in the order things happened; they
// may call the Chat's methods.
type Listener interface {
	// OnState reports the connection state: connecting, connected,
	// reconnecting, unavailable (the site or chatflow does not exist: the
	// client has stopped) or closed.
	OnState(state string)
	// OnMessage delivers a message the first time it is seen, in seq order:
	// the team's, and the visitor's own from an earlier run or device.
	OnMessage(m *Message)
	// OnSent says the server has stored the visitor's message id as seq.
	OnSent(id string, seq int64)
	// OnError reports a refusal: code is one of the protocol's error codes,
	// id the message it concerns (if any), text a sentence for the visitor.
	// A message refused with too_long or bad_frame is not retried.
	OnError(code, id, text string)
	// OnPresence reports the team's availability, after the welcome and
	// whenever it changes.
	OnPresence(p *Presence)
	// OnTyping says someone of the team (name) is typing: show it for
	// about five seconds after the last call.
	OnTyping(name string)
	// OnRead says the team has read the visitor's messages up to seq
	// (mark them "Seen").
	OnRead(seq int64)
	// OnSurvey asks the visitor to rate the closed conversation; answer
	// with Chat.AnswerSurvey.
	OnSurvey(s *Survey)
	// OnSurveyAnswered says the answer is stored: thank the visitor.
	OnSurveyAnswered(score int, comment string)
	// OnConversationEnd says the team closed the conversation: show that
	// the chat has ended. It comes at once (the server's closed frame),
	// once per conversation; the next message starts a new one.
	OnConversationEnd(conversation string)
	// OnEmail says the visitor's address is stored.
	OnEmail(email string)
	// OnConsent says a consent decision is recorded.
	OnConsent(kind, decision string)
	// OnPush says the device's push token is registered (true) or removed.
	OnPush(registered bool)
}

// Chat is one visitor's chat with a chatflow. It holds the visitor token,
// the conversation, the last seq seen and every message not yet stored;
// it reconnects with backoff, resumes with hello(token, conversation,
// last_seq), resends unacknowledged messages under their ids (the server
// stores each id once) and delivers each message once. Safe for concurrent
// use.
type Chat struct {
	wsURL string
	base  string                 // the edge, http(s)://host
	cf    *widget.ChatflowConfig // the chatflow as resolved; nil when made by id
	l     Listener
	tx    widget.Texts // the SDK's sentences, in the chatflow's language

	st          Storage       // where the chat is kept across runs; nil keeps nothing
	saved       string        // what was last written to st
	dataRefused bool          // the visitor refused explicit data-processing consent
	typingName  string        // who of the team typed last
	push        *widget.Frame // the push registration to (re)send after each welcome
	pushN       int

	mu        sync.Mutex
	s         *widget.Session
	pending   map[string]bool // ids this client sent, not yet reported as stored
	out       chan string     // the live socket's write queue; nil while there is none
	conn      *websocket.Conn
	started   bool
	closed    bool
	lastState string

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// NewChat returns a chat with chatflow (a Chatflow's ID) of site at the
// edge edgeURL (http[s]://host[:port]). It does not connect until Connect.
// l may be nil.
func NewChat(edgeURL, site, chatflow string, l Listener) (*Chat, error) {
	base, err := httpBase(edgeURL)
	if err != nil {
		return nil, err
	}
	if site == "" || chatflow == "" {
		return nil, errors.New("parley: a client needs a site key and a chatflow id")
	}
	var b [9]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	if l == nil {
		l = nopListener{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Chat{
		wsURL: "ws" + strings.TrimPrefix(base, "http") + "/ws",
		base:  base,
		tx:    texts("en"),
		l:     l,
		// Message ids must be unique per conversation across runs and
		// devices: a random prefix per client makes them so.
		s:       widget.NewSession(site, chatflow, "m"+hex.EncodeToString(b[:])),
		pending: map[string]bool{},
		ctx:     ctx,
		cancel:  cancel,
		done:    make(chan struct{}),
	}, nil
}

// Resume continues an earlier run: the visitor token, the conversation and
// the last seq it saw (as Token, Conversation and LastSeq returned). The
// server then sends only what came after lastSeq. Call it before Connect.
func (c *Chat) Resume(token, conversation string, lastSeq int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.s.Token, c.s.Conversation, c.s.LastSeq = token, conversation, max(lastSeq, 0)
}

// Identify makes the chat that of a known contact (PROTOCOL.md
// "Identification"): email and the token the app's server got for it
// from POST /api/v1/visitor-identification go into every hello. A token
// the server does not accept leaves the chat anonymous; Identified and
// IdentificationWarning say which. Call it before Connect.
func (c *Chat) Identify(email, idToken string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.s.IDEmail, c.s.IDToken = email, idToken
}

// Identified reports whether the last welcome identified the visitor.
func (c *Chat) Identified() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.s.Identified
}

// IdentificationWarning is why the last welcome did not identify the
// visitor ("" when it did, or when no identification was asked).
func (c *Chat) IdentificationWarning() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.s.Warning
}

// Connect starts connecting in the background; the client then stays
// connected, reconnecting as needed, until Close. Calling it again does nothing.
func (c *Chat) Connect() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started || c.closed {
		return
	}
	c.started = true
	go c.run()
}

// Send queues a message and returns its id. It goes out now if connected,
// else after the next welcome, and is resent until stored (OnSent). An
// empty or oversized text is refused with an error to show, and nothing
// is queued.
func (c *Chat) Send(text string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return "", errors.New("parley: the chat is closed")
	}
	if n := c.s.Consents.DataProcessing; c.dataRefused && n != nil && n.Mode == widget.ConsentExplicit {
		return "", c.errf("err_consent_refused")
	}
	u, err := c.s.Send(text)
	switch {
	case errors.Is(err, widget.ErrEmptyMessage):
		return "", c.errf("empty")
	case errors.Is(err, widget.ErrLongMessage):
		return "", &textError{errorText(c.tx, widget.ErrTooLong)}
	case err != nil:
		return "", err
	}
	id := c.s.Entries()[u.Changed[0]].ID
	c.pending[id] = true
	c.queueLocked(u.Send)
	return id, nil
}

// SendBlocked reports whether the chatflow asks explicit data-processing
// consent that the visitor has not given: show the notice
// (Chatflow.Consent("data_processing")) with its buttons. A message sent
// meanwhile waits and goes out once the visitor agrees; after a refusal
// Send refuses with a sentence to show.
func (c *Chat) SendBlocked() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.s.SendBlocked()
}

// Typing tells the team the visitor is typing; call it on every keystroke,
// it sends at most one frame every few seconds.
func (c *Chat) Typing() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.s.Typing(); ok {
		c.queueLocked([]widget.Frame{f})
	}
}

// MarkRead tells the team the visitor has read everything received; call
// it while the chat is on screen.
func (c *Chat) MarkRead() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.s.Read(); ok {
		c.queueLocked([]widget.Frame{f})
	}
}

// SubmitEmail leaves the visitor's email address with the team. An
// invalid address is refused with an error to show.
func (c *Chat) SubmitEmail(addr string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, err := c.s.SubmitEmail(addr)
	if err != nil {
		return c.errf("err_bad_email")
	}
	c.queueLocked(u.Send)
	return nil
}

// Email is the address the team has for the visitor ("" when none).
func (c *Chat) Email() string { c.mu.Lock(); defer c.mu.Unlock(); return c.s.Email }

// AskEmail reports whether to ask for the visitor's email address now, by
// the chatflow's rule: always (once the visitor has written) or
// when_offline (while nobody can answer), and only while none is stored.
func (c *Chat) AskEmail() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.s.AskEmail() }

// EmailPrompt is the sentence asking for the address, in the chatflow's language.
func (c *Chat) EmailPrompt() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := strings.TrimSpace(c.s.EmailCapture.Prompt[c.s.Lang]); t != "" {
		return t
	}
	return say(c.tx, "email_prompt")
}

// Note is the line to show under the messages about when an answer comes
// (the team is away and answers later, by email at …), in the chatflow's
// language; "" when there is nothing to say.
func (c *Chat) Note() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, email := c.s.Presence, c.s.Email
	sent := c.s.Conversation != "" || c.s.Unsent() > 0
	switch {
	case widget.Offline(p) && !sent:
		return say(c.tx, "offline_before")
	case widget.Offline(p) && email == "":
		return say(c.tx, "offline_after")
	case widget.Offline(p):
		return say(c.tx, "offline_after_email", "email", email)
	case email != "":
		return say(c.tx, "email_saved", "email", email)
	}
	return ""
}

// Presence returns the team's availability as last told.
func (c *Chat) Presence() *Presence {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.s.Presence
	return &Presence{State: p.State, Text: p.Text, BackAt: p.BackAt, Hide: p.Hide}
}

// EntryHidden reports whether the app should hide its chat entry point
// (the presence asks to hide it and the visitor has no conversation).
func (c *Chat) EntryHidden() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.s.LauncherHidden() }

// AgentRead returns the highest seq of the visitor's messages the team has read.
func (c *Chat) AgentRead() int64 { c.mu.Lock(); defer c.mu.Unlock(); return c.s.AgentRead() }

// TypingLine is "<name> is typing…" in the chatflow's language while
// someone of the team typed within the last seconds, else "".
func (c *Chat) TypingLine() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.s.TypingLine() == "" {
		return ""
	}
	return say(c.tx, "typing", "name", c.typingName)
}

// Survey returns the survey waiting for an answer, or nil.
func (c *Chat) Survey() *Survey {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.s.Survey == nil || c.s.SurveyState() != widget.SurveyAsking {
		return nil
	}
	a := c.s.Survey
	return &Survey{ID: a.ID, Question: a.Question, Scale: a.Scale, AllowComment: a.AllowComment}
}

// AnswerSurvey answers the survey of the closed conversation: score 1
// (worst) to 5 (best), comment only when the survey allows one (else it
// is dropped). OnSurveyAnswered follows once it is stored. A score out of
// range or a comment over 1000 characters is refused with a sentence to
// show, and nothing is sent.
func (c *Chat) AnswerSurvey(score int, comment string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.s.Survey == nil || c.s.SurveyState() != widget.SurveyAsking {
		return errors.New("parley: no survey is waiting for an answer")
	}
	if score < 1 || score > 5 {
		return c.errf("survey_pick")
	}
	if c.s.Survey.AllowComment && utf8.RuneCountInString(strings.TrimSpace(comment)) > widget.MaxSurveyComment {
		return &textError{errorText(c.tx, widget.ErrBadAnswer)}
	}
	u, err := c.s.AnswerSurvey(score, comment)
	if err != nil {
		return c.errf("err_other")
	}
	c.queueLocked(u.Send)
	return nil
}

// Token returns the visitor token (a secret: keep it like a password).
func (c *Chat) Token() string { c.mu.Lock(); defer c.mu.Unlock(); return c.s.Token }

// Conversation returns the conversation's public id; empty before the first message.
func (c *Chat) Conversation() string { c.mu.Lock(); defer c.mu.Unlock(); return c.s.Conversation }

// LastSeq returns the highest seq delivered of the current conversation.
func (c *Chat) LastSeq() int64 { c.mu.Lock(); defer c.mu.Unlock(); return c.s.LastSeq }

// Unsent returns how many messages wait to be stored.
func (c *Chat) Unsent() int { c.mu.Lock(); defer c.mu.Unlock(); return c.s.Unsent() }

// State returns the connection state (see Listener.OnState).
func (c *Chat) State() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return StateClosed
	}
	return c.s.State().String()
}

// Close disconnects and stops reconnecting; messages not yet stored are
// dropped (Unsent says how many). It waits for the client's goroutine, so
// a Listener method must not call it.
func (c *Chat) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	started, conn := c.started, c.conn
	c.mu.Unlock()
	if conn != nil {
		// Outside the lock: the reader must be able to take the server's
		// close frame that completes the handshake.
		conn.Close(websocket.StatusNormalClosure, "bye")
	}
	c.cancel()
	if started {
		<-c.done
	} else {
		c.l.OnState(StateClosed)
	}
}

// queueLocked hands frames to the live socket's writer, if there is one;
// without one, the session resends them after the next welcome.
func (c *Chat) queueLocked(fs []widget.Frame) {
	for _, f := range fs {
		if c.out == nil {
			return
		}
		if f.Type == widget.FrameSend && c.s.SendBlocked() {
			// Held until the visitor agrees: the grant's answer resends
			// the outbox (the server would refuse them anyway).
			continue
		}
		enc := widget.EncodeFrame(f)
		if f.Type == widget.FramePush {
			b, _ := json.Marshal(f) // EncodeFrame leaves out the apps' push fields
			enc = string(b)
		}
		select {
		case c.out <- enc:
		default:
			// The writer is stuck: drop the socket, the reconnect resends.
			c.conn.CloseNow()
			c.out = nil
		}
	}
}

// run connects, reads until the socket ends, waits out the backoff and
// connects again, until Close or an unknown site or chatflow.
func (c *Chat) run() {
	defer close(c.done)
	for {
		c.mu.Lock()
		c.s.Dial()
		c.mu.Unlock()
		c.report(nil)
		code := c.connect()
		c.mu.Lock()
		if c.closed {
			// Closing ended the socket: that is no reason to reconnect.
			c.mu.Unlock()
			c.l.OnState(StateClosed)
			return
		}
		delay, retry := c.s.Closed(code)
		c.mu.Unlock()
		c.report(nil)
		if !retry {
			return
		}
		select {
		case <-time.After(delay):
		case <-c.ctx.Done():
			c.l.OnState(StateClosed)
			return
		}
	}
}

// connect runs one socket and returns its close code (-1 when it ended
// without one: refused, timed out, cut).
func (c *Chat) connect() int {
	dctx, cancel := context.WithTimeout(c.ctx, dialTimeout)
	conn, _, err := websocket.Dial(dctx, c.wsURL, nil)
	cancel()
	if err != nil {
		return -1
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 20)

	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return -1
	}
	hello := widget.EncodeFrame(c.s.Hello())
	out := make(chan string, outQueue)
	out <- hello // first, before anything Send queues
	c.conn, c.out = conn, out
	c.mu.Unlock()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); c.write(conn, out, stop) }()
	defer func() {
		c.mu.Lock()
		if c.conn == conn {
			c.conn, c.out = nil, nil
		}
		c.mu.Unlock()
		close(stop)
		conn.CloseNow()
		wg.Wait()
	}()

	for {
		rctx, cancel := context.WithTimeout(c.ctx, readTimeout)
		_, data, err := conn.Read(rctx)
		cancel()
		if err != nil {
			return int(websocket.CloseStatus(err))
		}
		var f widget.Frame
		if json.Unmarshal(data, &f) != nil {
			continue // not a frame: nothing to act on
		}
		c.receive(f)
	}
}

// write sends queued frames in order and a ping now and then.
func (c *Chat) write(conn *websocket.Conn, out <-chan string, stop <-chan struct{}) {
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	send := func(s string) bool {
		ctx, cancel := context.WithTimeout(c.ctx, writeTimeout)
		defer cancel()
		if err := conn.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
			conn.CloseNow() // the reader sees it and reconnects
			return false
		}
		return true
	}
	for {
		select {
		case <-stop:
			return
		case s := <-out:
			if !send(s) {
				return
			}
		case <-ping.C:
			if !send(widget.EncodeFrame(widget.Frame{Type: widget.FramePing})) {
				return
			}
		}
	}
}

// event is a Listener call, made after the lock is released.
type event func(Listener)

// receive applies one server frame and tells the listener what changed.
func (c *Chat) receive(f widget.Frame) {
	var evs []event
	c.mu.Lock()
	read, survey, ended := c.s.AgentRead(), c.s.SurveyState(), c.s.Ended()
	u := c.s.Receive(f)
	if e := c.s.Ended(); e != ended && e != "" {
		// A closed frame, or the closed error of a send when the frame was missed.
		evs = append(evs, func(l Listener) { l.OnConversationEnd(e) })
	}
	c.queueLocked(u.Send)
	switch f.Type {
	case widget.FrameWelcome:
		if c.push != nil {
			c.queueLocked([]widget.Frame{*c.push})
		}
	case widget.FrameAck:
		if len(u.Changed) > 0 && c.pending[f.ID] {
			delete(c.pending, f.ID)
			id, seq := f.ID, f.Seq
			evs = append(evs, func(l Listener) { l.OnSent(id, seq) })
		}
	case widget.FrameMessage:
		if len(u.Changed) == 0 {
			break // seen before: a replay or the echo of an acknowledged send
		}
		if f.From == widget.FromVisitor && c.pending[f.ID] {
			// Stored, but its ack was lost with a socket.
			delete(c.pending, f.ID)
			id, seq := f.ID, f.Seq
			evs = append(evs, func(l Listener) { l.OnSent(id, seq) })
			break
		}
		if f.From != widget.FromVisitor {
			c.typingName = ""
		}
		m := c.message(f)
		evs = append(evs, func(l Listener) { l.OnMessage(m) })
	case widget.FrameError:
		if f.Code == widget.ErrTooLong || f.Code == widget.ErrBadFrame {
			delete(c.pending, f.ID)
		}
		code, id, text := f.Code, f.ID, errorText(c.tx, f.Code)
		evs = append(evs, func(l Listener) { l.OnError(code, id, text) })
	case widget.FramePresence:
		p := &Presence{State: f.State, Text: f.Text, BackAt: f.BackAt, Hide: f.Hide}
		evs = append(evs, func(l Listener) { l.OnPresence(p) })
	case widget.FrameTyping:
		if f.From != widget.FromVisitor {
			name := strings.TrimSpace(f.Name)
			if name == "" {
				name = say(c.tx, "someone")
			}
			c.typingName = name
			evs = append(evs, func(l Listener) { l.OnTyping(name) })
		}
	case widget.FrameRead:
		if seq := c.s.AgentRead(); seq > read {
			evs = append(evs, func(l Listener) { l.OnRead(seq) })
		}
	case widget.FrameSurvey:
		if a := c.s.Survey; a != nil && c.s.SurveyState() == widget.SurveyAsking && survey != widget.SurveyAsking {
			sv := &Survey{ID: a.ID, Question: a.Question, Scale: a.Scale, AllowComment: a.AllowComment}
			if conv := c.s.Conversation; c.s.Ended() != conv {
				// A server that sends no closed frame: the survey says it.
				evs = append(evs, func(l Listener) { l.OnConversationEnd(conv) })
			}
			evs = append(evs, func(l Listener) { l.OnSurvey(sv) })
		}
	case widget.FrameSurveyAnswer:
		if c.s.SurveyState() == widget.SurveyThanked {
			score, comment := f.Score, f.Comment
			evs = append(evs, func(l Listener) { l.OnSurveyAnswered(score, comment) })
		}
	case widget.FrameEmail:
		if f.Email != "" {
			email := f.Email
			evs = append(evs, func(l Listener) { l.OnEmail(email) })
		}
	case widget.FrameConsent:
		kind, decision := f.Kind, f.Decision
		evs = append(evs, func(l Listener) { l.OnConsent(kind, decision) })
	case widget.FramePush:
		registered := f.PushToken != ""
		evs = append(evs, func(l Listener) { l.OnPush(registered) })
	}
	c.mu.Unlock()
	c.persist()
	c.report(evs)
}

// message turns a message frame into what the app shows.
func (c *Chat) message(f widget.Frame) *Message {
	m := &Message{Seq: f.Seq, ID: f.ID, From: f.From, Name: f.Name, Avatar: f.Avatar, Text: f.Text, At: f.At}
	if a := f.Attachment; a != nil {
		m.Attachment = &Attachment{ID: a.ID, Name: a.Name, Type: a.Type, Size: a.Size, URL: c.base + a.URL, path: a.URL}
	}
	if f.QuickReplies != nil {
		m.quickReplies = append([]string(nil), (*f.QuickReplies)...)
	}
	if f.Link != "" && widget.ArticlePath(f.Link, c.s.Site) {
		m.Link, m.LinkTitle = c.base+f.Link, f.LinkTitle
		_, id, _ := strings.Cut(f.Link, "/articles/")
		m.ArticleID, _ = strconv.ParseInt(id, 10, 64)
	}
	return m
}

// report tells the state if it changed since last told, then evs. Only
// the run goroutine calls it, so listener calls never overlap.
func (c *Chat) report(evs []event) {
	c.mu.Lock()
	state := c.s.State().String()
	changed := state != c.lastState
	c.lastState = state
	c.mu.Unlock()
	if changed {
		c.l.OnState(state)
	}
	for _, e := range evs {
		e(c.l)
	}
}

type nopListener struct{}

func (nopListener) OnState(string)                 {}
func (nopListener) OnMessage(*Message)             {}
func (nopListener) OnSent(string, int64)           {}
func (nopListener) OnError(string, string, string) {}
func (nopListener) OnPresence(*Presence)           {}
func (nopListener) OnTyping(string)                {}
func (nopListener) OnRead(int64)                   {}
func (nopListener) OnSurvey(*Survey)               {}
func (nopListener) OnSurveyAnswered(int, string)   {}
func (nopListener) OnConversationEnd(string)       {}
func (nopListener) OnEmail(string)                 {}
func (nopListener) OnConsent(string, string)       {}
func (nopListener) OnPush(bool)                    {}

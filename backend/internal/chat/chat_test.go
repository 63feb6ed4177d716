package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jmoiron/sqlx"

	"github.com/parleychat/parley/backend/internal/chat"
	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/internal/link"
	"github.com/parleychat/parley/widget"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const secret = "test-link-secret"

// world is a backend on a fresh database with one account ("site_a"), an
// inbox, an enabled chatflow ("cf_a") and an agent named Ann.
type world struct {
	dsn     string
	db      *sqlx.DB
	st      *store.Store
	srv     *httptest.Server
	account *store.Account
	inbox   *store.Inbox
	cfID    int64
	agent   *store.User
	engine  *chat.Engine
}

func newWorld(t *testing.T, opts ...func(*chat.Config)) *world {
	t.Helper()
	w := &world{dsn: dbtest.URL(t)}
	db, err := sqlx.Open("postgres", w.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w.db, w.st = db, store.New(db)
	bus, err := events.Listen(w.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })

	ctx := context.Background()
	w.account = &store.Account{PublicID: "site_a", Name: "Acme"}
	must(t, w.st.CreateAccount(ctx, w.account))
	w.inbox = &store.Inbox{AccountID: w.account.ID, Name: "Support", HasChatChannel: true}
	must(t, w.st.CreateInbox(ctx, w.inbox))
	w.cfID = w.chatflow(t, w.account.ID, w.inbox.ID, "cf_a", true)
	w.agent = &store.User{AccountID: w.account.ID, Email: "ann@example.com", Name: "Ann Agent"}
	must(t, w.st.CreateUser(ctx, w.agent))

	cfg := chat.Config{LinkSecret: secret, RetryAfter: 100 * time.Millisecond}
	for _, o := range opts {
		o(&cfg)
	}
	w.engine = chat.New(w.st, bus, cfg)
	mux := http.NewServeMux()
	mux.Handle(link.Path, w.engine.LinkHandler())
	w.srv = httptest.NewServer(mux)
	t.Cleanup(w.srv.Close)
	return w
}

func (w *world) chatflow(t *testing.T, account, inbox int64, publicID string, enabled bool) int64 {
	t.Helper()
	var id int64
	must(t, w.db.Get(&id, `INSERT INTO chatflows (account_id, public_id, name, channel, inbox_id, type, enabled, settings)
		VALUES ($1, $2, 'Website', 'website', $3, 'live_agent', $4, '{}') RETURNING id`, account, publicID, inbox, enabled))
	return id
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// testLink is a minimal edge: one link carrying numbered sessions.
type testLink struct {
	t    *testing.T
	conn *websocket.Conn
	mu   sync.Mutex
	next uint64
	sess map[uint64]*testSession
	gone chan struct{} // closed when the link drops
}

type testSession struct {
	l      *testLink
	id     uint64
	events chan event // in arrival order
}

// event is a frame or, with closed set, the backend's request to close the socket.
type event struct {
	frame  widget.Frame
	closed *link.Envelope
}

func (w *world) link(t *testing.T) *testLink {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(w.srv.URL, "http")+link.Path, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + secret}},
	})
	if err != nil {
		t.Fatal(err)
	}
	l := &testLink{t: t, conn: conn, sess: map[uint64]*testSession{}, gone: make(chan struct{})}
	t.Cleanup(func() { conn.Close(websocket.StatusNormalClosure, "") })
	go l.read()
	return l
}

func (l *testLink) read() {
	defer close(l.gone)
	for {
		_, b, err := l.conn.Read(context.Background())
		if err != nil {
			return
		}
		if err := link.Decode(b, l.receive); err != nil {
			l.t.Errorf("backend sent a bad link message %s: %v", b, err)
			return
		}
	}
}

func (l *testLink) receive(env link.Envelope) {
	l.mu.Lock()
	s := l.sess[env.Session]
	l.mu.Unlock()
	if s == nil {
		l.t.Errorf("envelope for unknown session: %+v", env)
		return
	}
	switch env.Kind {
	case link.Data:
		var f widget.Frame
		if err := json.Unmarshal(env.Frame, &f); err != nil {
			l.t.Errorf("backend sent a bad frame %s: %v", env.Frame, err)
		}
		s.events <- event{frame: f}
	case link.Close:
		s.events <- event{closed: &env}
	}
}

func (l *testLink) write(b []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.conn.Write(ctx, websocket.MessageText, b); err != nil {
		l.t.Fatal(err)
	}
}

func (l *testLink) open() *testSession {
	l.mu.Lock()
	l.next++
	s := &testSession{l: l, id: l.next, events: make(chan event, 1000)}
	l.sess[s.id] = s
	l.mu.Unlock()
	b, _ := json.Marshal(link.Envelope{Session: s.id, Kind: link.Open, Meta: &link.Meta{RemoteIP: "127.0.0.1", UserAgent: "TestBrowser/1.0"}})
	l.write(b)
	return s
}

// send writes a visitor frame.
func (s *testSession) send(f widget.Frame) {
	b, _ := json.Marshal(f)
	s.raw(b)
}

// raw writes frame bytes as they are, as the edge relays them.
func (s *testSession) raw(frame []byte) {
	s.l.write([]byte(fmt.Sprintf(`{"s":%d,"k":"data","f":%s}`, s.id, frame)))
}

// next returns the next frame, failing unless it has type typ. Presence
// frames (sent after every welcome) are skipped unless typ asks for one.
func (s *testSession) next(t *testing.T, typ string) widget.Frame {
	t.Helper()
	select {
	case ev := <-s.events:
		if ev.closed == nil && ev.frame.Type == widget.FramePresence && typ != widget.FramePresence {
			return s.next(t, typ)
		}
		if ev.closed != nil {
			t.Fatalf("session closed (%d %s), want a %s frame", ev.closed.Code, ev.closed.Reason, typ)
		}
		if ev.frame.Type != typ {
			t.Fatalf("got %+v, want a %s frame", ev.frame, typ)
		}
		return ev.frame
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s frame within 5s", typ)
	}
	return widget.Frame{}
}

// nextOf returns the next frame, failing unless it has one of types
// (presence skipped as next does).
func (s *testSession) nextOf(t *testing.T, types ...string) widget.Frame {
	t.Helper()
	select {
	case ev := <-s.events:
		if ev.closed == nil && ev.frame.Type == widget.FramePresence {
			return s.nextOf(t, types...)
		}
		if ev.closed != nil || !slices.Contains(types, ev.frame.Type) {
			t.Fatalf("got %+v (closed %+v), want one of %v", ev.frame, ev.closed, types)
		}
		return ev.frame
	case <-time.After(5 * time.Second):
		t.Fatalf("no %v frame within 5s", types)
	}
	return widget.Frame{}
}

func (s *testSession) errorCode(t *testing.T, code string) widget.Frame {
	t.Helper()
	f := s.next(t, widget.FrameError)
	if f.Code != code {
		t.Fatalf("error %q (%s), want %q", f.Code, f.Message, code)
	}
	return f
}

func (s *testSession) expectClose(t *testing.T, code int) {
	t.Helper()
	select {
	case ev := <-s.events:
		if ev.closed == nil {
			t.Fatalf("got %+v, want a close %d", ev.frame, code)
		}
		if ev.closed.Code != code {
			t.Fatalf("closed with %d, want %d", ev.closed.Code, code)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no close within 5s")
	}
}

// quiet fails if any frame but presence arrives within d.
func (s *testSession) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev := <-s.events:
			if ev.closed == nil && ev.frame.Type == widget.FramePresence {
				continue
			}
			t.Fatalf("unexpected %+v", ev)
		case <-deadline:
			return
		}
	}
}

func hello(token, conv string, lastSeq int64) widget.Frame {
	return widget.Frame{Type: widget.FrameHello, V: widget.ProtocolVersion, Site: "site_a", Chatflow: "cf_a",
		Token: token, Conversation: conv, LastSeq: lastSeq, Page: "https://shop.example/pricing", Referrer: "https://search.example/"}
}

// chat opens a session, says hello and sends one message; it returns the
// session, the visitor token and the conversation id.
func (w *world) chat(t *testing.T, l *testLink, text string) (*testSession, string, string) {
	t.Helper()
	s := l.open()
	s.send(hello("", "", 0))
	wel := s.next(t, widget.FrameWelcome)
	s.send(widget.Frame{Type: widget.FrameSend, ID: "m1", Text: text})
	ack := s.next(t, widget.FrameAck)
	if m := s.next(t, widget.FrameMessage); m.Text != text || m.Seq != ack.Seq {
		t.Fatalf("echo %+v, want %q at seq %d", m, text, ack.Seq)
	}
	return s, wel.Token, ack.Conversation
}

func (w *world) conversation(t *testing.T, publicID string) *store.Conversation {
	t.Helper()
	c, err := w.st.ConversationByPublicID(context.Background(), publicID)
	must(t, err)
	return c
}

func TestHelloWelcomesANewVisitorWithAFreshToken(t *testing.T) {
	w := newWorld(t)
	s := w.link(t).open()
	s.send(hello("", "", 0))
	wel := s.next(t, widget.FrameWelcome)
	if len(wel.Token) < 40 || wel.Conversation != "" || wel.LastSeq != 0 {
		t.Fatalf("welcome %+v: want a long token and no conversation", wel)
	}
	var stored int
	must(t, w.db.Get(&stored, `SELECT count(*) FROM visitors WHERE token_hash = $1 AND account_id = $2`, store.HashToken(wel.Token), w.account.ID))
	if stored != 1 {
		t.Fatalf("%d visitors with the token's hash, want 1", stored)
	}

	// A bogus token gets a new visitor, never someone else's.
	s2 := w.link(t).open()
	s2.send(hello("made-up-token", "", 0))
	if wel2 := s2.next(t, widget.FrameWelcome); wel2.Token == "made-up-token" || wel2.Token == wel.Token || wel2.Token == "" {
		t.Fatalf("bogus token welcomed with %q", wel2.Token)
	}

	// The same token on a new socket is the same visitor.
	s3 := w.link(t).open()
	s3.send(hello(wel.Token, "", 0))
	if wel3 := s3.next(t, widget.FrameWelcome); wel3.Token != wel.Token {
		t.Fatalf("known token answered with %q", wel3.Token)
	}
}

func TestSendIsAckedAfterStoringAndADuplicateIsStoredOnce(t *testing.T) {
	w := newWorld(t)
	s := w.link(t).open()
	s.send(hello("", "", 0))
	s.next(t, widget.FrameWelcome)

	s.send(widget.Frame{Type: widget.FrameSend, ID: "c-1", Text: "  Hello, is anyone there?  "})
	ack := s.next(t, widget.FrameAck)
	if ack.ID != "c-1" || ack.Seq != 1 || !strings.HasPrefix(ack.Conversation, "conv_") {
		t.Fatalf("ack %+v", ack)
	}
	echo := s.next(t, widget.FrameMessage)
	if echo.Seq != 1 || echo.ID != "c-1" || echo.From != widget.FromVisitor || echo.Text != "Hello, is anyone there?" {
		t.Fatalf("echo %+v", echo)
	}
	if _, err := time.Parse(time.RFC3339, echo.At); err != nil {
		t.Fatalf("at %q: %v", echo.At, err)
	}

	// The widget resends after a lost ack: same seq, one row, no second echo.
	s.send(widget.Frame{Type: widget.FrameSend, ID: "c-1", Text: "Hello, is anyone there?"})
	if again := s.next(t, widget.FrameAck); again.Seq != 1 || again.Conversation != ack.Conversation {
		t.Fatalf("duplicate ack %+v, want seq 1 in %s", again, ack.Conversation)
	}
	s.send(widget.Frame{Type: widget.FrameSend, ID: "c-2", Text: "Second"})
	if a2 := s.next(t, widget.FrameAck); a2.Seq != 2 {
		t.Fatalf("second ack %+v", a2)
	}
	if m := s.next(t, widget.FrameMessage); m.Seq != 2 || m.Text != "Second" {
		t.Fatalf("second echo %+v", m)
	}

	c := w.conversation(t, ack.Conversation)
	var rows int
	must(t, w.db.Get(&rows, `SELECT count(*) FROM messages WHERE conversation_id = $1 AND client_id = 'c-1'`, c.ID))
	if rows != 1 {
		t.Fatalf("%d rows for c-1, want 1", rows)
	}
	if c.PageURL != "https://shop.example/pricing" || c.Referrer != "https://search.example/" || c.UserAgent != "TestBrowser/1.0" ||
		c.InboxID != w.inbox.ID || c.ChatflowID == nil || *c.ChatflowID != w.cfID || c.Status != store.StatusOpen {
		t.Fatalf("conversation %+v", c)
	}
	ticket, err := w.st.TicketOfConversation(context.Background(), w.account.ID, c.ID)
	must(t, err)
	if ticket.Status != store.TicketStatusNew || ticket.Pipeline != store.TicketPipelineSupport {
		t.Fatalf("ticket %+v", ticket)
	}
}

func TestAgentReplyReachesTheVisitorLiveButNotesNever(t *testing.T) {
	w := newWorld(t)
	l := w.link(t)
	s, token, convID := w.chat(t, l, "Do you ship to Belgium?")
	// A second tab of the same visitor follows the same conversation.
	tab2 := l.open()
	tab2.send(hello(token, convID, 1))
	tab2.next(t, widget.FrameWelcome)
	// Another visitor chatting at the same time must see none of it.
	other, _, _ := w.chat(t, w.link(t), "Unrelated question")

	c := w.conversation(t, convID)
	ctx := context.Background()
	_, _, err := w.st.AppendMessage(ctx, store.NewMessage{ConversationID: c.ID, AuthorType: store.AuthorAgent, AuthorID: w.agent.ID,
		Internal: true, Body: "note: check the carrier list"})
	must(t, err)
	_, _, err = w.st.AppendMessage(ctx, store.NewMessage{ConversationID: c.ID, AuthorType: store.AuthorAgent, AuthorID: w.agent.ID,
		Body: "Yes, we do! <b>Free</b> over €50."})
	must(t, err)

	for _, sess := range []*testSession{s, tab2} {
		m := sess.next(t, widget.FrameMessage)
		if m.Seq != 3 || m.From != widget.FromAgent || m.Name != "Ann Agent" || m.Text != "Yes, we do! <b>Free</b> over €50." {
			t.Fatalf("agent message %+v", m)
		}
		sess.quiet(t, 200*time.Millisecond)
	}
	other.quiet(t, 100*time.Millisecond)
}

func TestResumeReplaysExactlyTheMissedEventsInOrder(t *testing.T) {
	w := newWorld(t)
	l := w.link(t)
	s, token, convID := w.chat(t, l, "first") // seq 1
	c := w.conversation(t, convID)
	ctx := context.Background()
	agent := func(body string, internal bool) {
		_, _, err := w.st.AppendMessage(ctx, store.NewMessage{ConversationID: c.ID, AuthorType: store.AuthorAgent, AuthorID: w.agent.ID, Internal: internal, Body: body})
		must(t, err)
	}
	// The visitor's socket drops; meanwhile the agent answers.
	l.write([]byte(fmt.Sprintf(`{"s":%d,"k":"close"}`, s.id)))
	agent("reply one", false)   // 2
	agent("secret note", true)  // 3
	agent("reply two", false)   // 4
	agent("another note", true) // 5

	r := l.open()
	r.send(hello(token, convID, 1))
	wel := r.next(t, widget.FrameWelcome)
	if wel.Token != token || wel.Conversation != convID || wel.LastSeq != 5 {
		t.Fatalf("welcome %+v", wel)
	}
	for _, want := range []struct {
		seq  int64
		text string
	}{{2, "reply one"}, {4, "reply two"}} {
		if m := r.next(t, widget.FrameMessage); m.Seq != want.seq || m.Text != want.text {
			t.Fatalf("replayed %+v, want seq %d %q", m, want.seq, want.text)
		}
	}
	r.quiet(t, 200*time.Millisecond)

	// Live after replay, with no gaps and no repeats.
	r.send(widget.Frame{Type: widget.FrameSend, ID: "m2", Text: "thanks"})
	if a := r.next(t, widget.FrameAck); a.Seq != 6 {
		t.Fatalf("ack %+v", a)
	}
	if m := r.next(t, widget.FrameMessage); m.Seq != 6 {
		t.Fatalf("echo %+v", m)
	}
	agent("you're welcome", false)
	if m := r.next(t, widget.FrameMessage); m.Seq != 7 {
		t.Fatalf("live %+v", m)
	}
	r.quiet(t, 200*time.Millisecond)

	// Without a conversation in the hello, the visitor's open one on this chatflow is resumed from the start.
	r2 := l.open()
	r2.send(hello(token, "", 0))
	if wel := r2.next(t, widget.FrameWelcome); wel.Conversation != convID {
		t.Fatalf("welcome %+v, want the open conversation", wel)
	}
	var seqs []int64
	for range 5 {
		seqs = append(seqs, r2.next(t, widget.FrameMessage).Seq)
	}
	if fmt.Sprint(seqs) != "[1 2 4 6 7]" {
		t.Fatalf("replayed seqs %v", seqs)
	}

	// A last_seq beyond the end replays nothing but does not blind the session to what comes next.
	r3 := l.open()
	r3.send(hello(token, convID, 999))
	r3.next(t, widget.FrameWelcome)
	r3.quiet(t, 100*time.Millisecond)
	agent("still there?", false)
	if m := r3.next(t, widget.FrameMessage); m.Seq != 8 {
		t.Fatalf("after a too-high last_seq: %+v", m)
	}
}

func TestAnotherVisitorsConversationIsForbidden(t *testing.T) {
	w := newWorld(t)
	l := w.link(t)
	_, _, convID := w.chat(t, l, "my private question")

	thief := l.open()
	thief.send(hello("", convID, 0))
	thief.errorCode(t, widget.ErrForbidden)
	thief.expectClose(t, widget.CloseForbidden)
}

func TestBadFramesGetTheRightErrorAndTheSocketStaysOpen(t *testing.T) {
	w := newWorld(t)
	s := w.link(t).open()

	s.send(widget.Frame{Type: widget.FrameSend, ID: "early", Text: "hi"})
	if f := s.errorCode(t, widget.ErrNeedHello); f.ID != "early" {
		t.Fatalf("need_hello without the id: %+v", f)
	}
	s.send(hello("", "", 0))
	s.next(t, widget.FrameWelcome)

	cases := []struct {
		name, frame, code string
	}{
		{"not an object", `"just a string"`, widget.ErrBadFrame},
		{"array", `[1,2,3]`, widget.ErrBadFrame},
		{"wrong field type", `{"type":"send","id":7,"text":"x"}`, widget.ErrBadFrame},
		{"invalid UTF-8", "{\"type\":\"send\",\"id\":\"u\",\"text\":\"caf\xe9\"}", widget.ErrBadFrame},
		{"unknown type", `{"type":"teleport"}`, widget.ErrBadFrame},
		{"no id", `{"type":"send","text":"hi"}`, widget.ErrBadFrame},
		{"long id", `{"type":"send","id":"` + strings.Repeat("x", 65) + `","text":"hi"}`, widget.ErrBadFrame},
		{"blank text", `{"type":"send","id":"b","text":" \n\t "}`, widget.ErrBadFrame},
		{"NUL", `{"type":"send","id":"n","text":"a\u0000b"}`, widget.ErrBadFrame},
		{"too long", `{"type":"send","id":"l","text":"` + strings.Repeat("é", widget.MaxTextRunes+1) + `"}`, widget.ErrTooLong},
		{"second hello", `{"type":"hello","v":1,"site":"site_a","chatflow":"cf_a"}`, widget.ErrBadFrame},
	}
	for _, c := range cases {
		s.raw([]byte(c.frame))
		f := s.next(t, widget.FrameError)
		if f.Code != c.code {
			t.Errorf("%s: code %q, want %q", c.name, f.Code, c.code)
		}
	}
	// Exactly at the limit is fine, and nothing refused was stored.
	s.send(widget.Frame{Type: widget.FrameSend, ID: "ok", Text: strings.Repeat("é", widget.MaxTextRunes)})
	ack := s.next(t, widget.FrameAck)
	if ack.Seq != 1 {
		t.Fatalf("ack %+v: refused frames took sequence numbers", ack)
	}
	s.next(t, widget.FrameMessage)
	s.send(widget.Frame{Type: widget.FramePing})
	s.next(t, widget.FramePong)
}

func TestWrongProtocolVersionIsRefused(t *testing.T) {
	w := newWorld(t)
	s := w.link(t).open()
	h := hello("", "", 0)
	h.V = 99
	s.send(h)
	s.errorCode(t, widget.ErrVersion)
	s.expectClose(t, widget.CloseBadFrame)
}

func TestLinkNeedsTheSecret(t *testing.T) {
	w := newWorld(t)
	for _, auth := range []string{"", "Bearer wrong", "Bearer " + secret + "x", secret} {
		req, _ := http.NewRequest("GET", w.srv.URL+link.Path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		must(t, err)
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: status %d, want 401", auth, res.StatusCode)
		}
	}
}

func TestUnknownSiteOrChatflowIsNotFound(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	other := &store.Account{PublicID: "site_b", Name: "Other"}
	must(t, w.st.CreateAccount(ctx, other))
	otherInbox := &store.Inbox{AccountID: other.ID, Name: "B", HasChatChannel: true}
	must(t, w.st.CreateInbox(ctx, otherInbox))
	w.chatflow(t, other.ID, otherInbox.ID, "cf_b", true)
	w.chatflow(t, w.account.ID, w.inbox.ID, "cf_off", false)

	l := w.link(t)
	for _, c := range []struct{ site, chatflow string }{
		{"nope", "cf_a"},     // unknown site
		{"site_a", "nope"},   // unknown chatflow
		{"site_a", "cf_b"},   // another account's chatflow
		{"site_a", "cf_off"}, // not published
	} {
		s := l.open()
		s.send(widget.Frame{Type: widget.FrameHello, V: 1, Site: c.site, Chatflow: c.chatflow})
		s.errorCode(t, widget.ErrNotFound)
		s.expectClose(t, widget.CloseNotFound)
	}
	var visitors int
	must(t, w.db.Get(&visitors, `SELECT count(*) FROM visitors`))
	if visitors != 0 {
		t.Fatalf("%d visitors created by refused hellos", visitors)
	}
}

func TestClosedConversationRefusesAndTheNextSendStartsANewOne(t *testing.T) {
	w := newWorld(t)
	s, _, convID := w.chat(t, w.link(t), "hello")
	_, err := w.db.Exec(`UPDATE conversations SET status = 'closed', closed_at = now() WHERE public_id = $1`, convID)
	must(t, err)

	s.send(widget.Frame{Type: widget.FrameSend, ID: "m2", Text: "one more thing"})
	// A notice about the first message (its routing) may make the session
	// read the conversation and tell the closing first: both are right.
	f := s.nextOf(t, widget.FrameError, widget.FrameClosed)
	if f.Type == widget.FrameClosed {
		f = s.next(t, widget.FrameError)
	}
	if f.Code != widget.ErrConvClosed || f.ID != "m2" {
		t.Fatalf("closed error %+v, want %s with the id m2", f, widget.ErrConvClosed)
	}
	s.send(widget.Frame{Type: widget.FrameSend, ID: "m2", Text: "one more thing"})
	ack := s.next(t, widget.FrameAck)
	if ack.Conversation == convID || ack.Seq != 1 {
		t.Fatalf("ack %+v, want seq 1 in a new conversation", ack)
	}
	if m := s.next(t, widget.FrameMessage); m.Text != "one more thing" {
		t.Fatalf("echo %+v", m)
	}
}

// TestDeadDatabaseAnswersUnavailableAndNeverAcks cuts the database off while
// a visitor is chatting: the send is refused as unavailable (so the widget
// keeps it) and the socket closes with 1013 (a later send must not overtake
// it); after reconnecting the same send succeeds once the database is back.
func TestDeadDatabaseAnswersUnavailableAndNeverAcks(t *testing.T) {
	w := newWorld(t)
	l := w.link(t)
	s, token, convID := w.chat(t, l, "before the outage")

	name := w.dsn[strings.LastIndex(w.dsn, "/")+1:]
	name = name[:strings.Index(name, "?")]
	admin, err := sqlx.Open("postgres", dbtest.Cluster(t).URL("postgres"))
	must(t, err)
	defer admin.Close()
	setAllowed := func(ok bool) {
		_, err := admin.Exec(fmt.Sprintf(`ALTER DATABASE %s ALLOW_CONNECTIONS %t`, name, ok))
		must(t, err)
	}
	setAllowed(false)
	_, err = admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name)
	must(t, err)

	s.send(widget.Frame{Type: widget.FrameSend, ID: "m2", Text: "during the outage"})
	if f := s.errorCode(t, widget.ErrUnavailable); f.ID != "m2" {
		t.Fatalf("unavailable without the id: %+v", f)
	}
	s.expectClose(t, widget.CloseTryAgain)
	// A new visitor cannot start either: told to come back, not left hanging.
	fresh := w.link(t).open()
	fresh.send(hello("", "", 0))
	fresh.errorCode(t, widget.ErrUnavailable)
	fresh.expectClose(t, widget.CloseTryAgain)

	setAllowed(true)
	s = l.open()
	s.send(hello(token, convID, 1))
	s.next(t, widget.FrameWelcome)
	s.send(widget.Frame{Type: widget.FrameSend, ID: "m2", Text: "during the outage"})
	ack := s.next(t, widget.FrameAck)
	if ack.Seq != 2 || ack.Conversation != convID {
		t.Fatalf("ack after recovery %+v", ack)
	}
	if m := s.next(t, widget.FrameMessage); m.Seq != 2 {
		t.Fatalf("echo after recovery %+v", m)
	}
}

func TestCloseDropsTheLinks(t *testing.T) {
	w := newWorld(t)
	l := w.link(t)
	w.chat(t, l, "hi")
	w.engine.Close()
	select {
	case <-l.gone:
	case <-time.After(5 * time.Second):
		t.Fatal("link still up after Close")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(w.srv.URL, "http")+link.Path, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + secret}},
	})
	if err == nil || res == nil || res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("new link after Close: %v", err)
	}
}

// A page load resumes the conversation: the page it came from becomes the
// conversation's current page, the start page stays, and a page that is not
// an http(s) URL of bounded length is not stored.
func TestHelloFromAnotherPageRecordsTheCurrentPage(t *testing.T) {
	w := newWorld(t)
	l := w.link(t)
	_, token, convID := w.chat(t, l, "Which plan fits me?") // on hello's page A
	const pageA = "https://shop.example/pricing"
	const pageB = "https://shop.example/plans/team?ref=chat"
	// resume says hello from page, as the widget does on a page load; the
	// ping's answer means the hello has been handled through.
	resume := func(page string) *store.Conversation {
		t.Helper()
		s := l.open()
		f := hello(token, convID, 1)
		f.Page = page
		s.send(f)
		if wel := s.next(t, widget.FrameWelcome); wel.Conversation != convID {
			t.Fatalf("welcome %+v, want the conversation resumed", wel)
		}
		s.send(widget.Frame{Type: widget.FramePing})
		s.next(t, widget.FramePong)
		return w.conversation(t, convID)
	}

	if c := resume(pageA); c.CurrentPage != "" || c.PageURL != pageA {
		t.Fatalf("same page: current %q, start %q", c.CurrentPage, c.PageURL)
	}
	c := resume(pageB)
	if c.CurrentPage != pageB || c.PageURL != pageA || c.VisitorPage() != pageB {
		t.Fatalf("page B: current %q, start %q", c.CurrentPage, c.PageURL)
	}
	for _, bad := range []string{"javascript:alert(document.cookie)", "data:text/html,<b>x</b>", "/cart",
		"https://shop.example/" + strings.Repeat("x", store.MaxContextChars)} {
		if got := resume(bad); got.CurrentPage != pageB || got.PageURL != pageA || !got.UpdatedAt.Equal(c.UpdatedAt) {
			t.Fatalf("%.40q: current %.60q, start %q", bad, got.CurrentPage, got.PageURL)
		}
	}
	// The same page again writes nothing.
	if got := resume(pageB); !got.UpdatedAt.Equal(c.UpdatedAt) {
		t.Fatalf("page B again rewrote the row (%v, was %v)", got.UpdatedAt, c.UpdatedAt)
	}
	// An app (no page) leaves it as it is.
	if got := resume(""); got.CurrentPage != pageB {
		t.Fatalf("no page: current %q", got.CurrentPage)
	}
	// A closed conversation keeps the page it was closed on.
	_, err := w.st.CloseConversation(context.Background(), w.account.ID, c.ID, "")
	must(t, err)
	s := l.open()
	f := hello(token, convID, 1)
	f.Page = "https://shop.example/after"
	s.send(f)
	s.next(t, widget.FrameWelcome)
	s.next(t, widget.FrameClosed)
	s.send(widget.Frame{Type: widget.FramePing})
	s.next(t, widget.FramePong)
	if got := w.conversation(t, convID); got.CurrentPage != pageB {
		t.Fatalf("closed: current %q", got.CurrentPage)
	}
}

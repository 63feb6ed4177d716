package inbox_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/backend/internal/inbox"
	"github.com/parleychat/parley/backend/internal/store"
)

func TestLiveTypingAndReadReceipts(t *testing.T) {
	e := setup(t, inbox.Config{})
	conv, _ := e.conversation(e.inboxA, "Vera")
	e.say(conv, "hello")
	ctx := context.Background()
	agentMsg, _, err := e.st.AppendMessage(ctx, store.NewMessage{ConversationID: conv, AuthorType: store.AuthorAgent, AuthorID: e.alice.ID, Body: "Hi Vera"})
	if err != nil {
		t.Fatal(err)
	}
	b := e.signedIn(e.alice)

	// Opening the thread, the page reports it read for the team.
	if p := b.get("/inbox/conversations/" + strconv.FormatInt(conv, 10)); p.status != 200 || strings.Contains(p.body, `id="seen"`) {
		t.Fatalf("thread: %d, seen before the visitor read anything", p.status)
	}
	if p := b.post("/inbox/conversations/"+strconv.FormatInt(conv, 10)+"/read", url.Values{"seq": {strconv.FormatInt(agentMsg.Seq, 10)}}); p.status != http.StatusSeeOther {
		t.Fatalf("read: %d", p.status)
	}
	if _, agent, err := e.st.ReadPositions(ctx, conv); err != nil || agent != agentMsg.Seq {
		t.Fatalf("agent read %d (%v), want %d", agent, err, agentMsg.Seq)
	}

	c, _, err := b.dial(t, e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	// Following from just before the agent's message: that message comes
	// first, so the subscription is in place before anything else happens.
	wsjson.Write(ctx, c, map[string]any{"type": "subscribe", "conversation": conv, "last_seq": agentMsg.Seq - 1})
	if f := read(t, c, 2*time.Second); f.Type != "message" || f.Seq != agentMsg.Seq || f.Name != "Alice Agent" {
		t.Fatalf("catch-up on subscribe: %+v", f)
	}

	// The visitor types: the page is told within a second.
	if err := events.Notify(ctx, e.db, events.Notice{Account: e.account, Conversation: conv, Kind: events.KindTyping, Author: "visitor"}); err != nil {
		t.Fatal(err)
	}
	if f := read(t, c, 2*time.Second); f.Type != "typing" || f.From != "visitor" || f.Conversation != conv {
		t.Fatalf("typing: %+v", f)
	}
	// The visitor reads the agent's message: "Seen" moves there, live and on the page.
	if _, _, err := e.st.MarkRead(ctx, conv, store.ReadVisitor, agentMsg.Seq); err != nil {
		t.Fatal(err)
	}
	if f := read(t, c, 2*time.Second); f.Type != "read" || f.From != "visitor" || f.Seq != agentMsg.Seq {
		t.Fatalf("read: %+v", f)
	}
	p := b.get("/inbox/conversations/" + strconv.FormatInt(conv, 10))
	i := strings.Index(p.body, `id="m`+strconv.FormatInt(agentMsg.Seq, 10)+`"`)
	if i < 0 || !strings.Contains(p.body[i:], `id="seen">Seen<`) {
		t.Fatalf("no Seen under the agent's message:\n%s", p.body)
	}

	// The agent types: one notice per burst, naming the agent.
	got := make(chan events.Notice, 10)
	listener, err := events.Listen(e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	sub := listener.Subscribe(e.account)
	defer sub.Close()
	go func() {
		for n := range sub.C {
			if n.Kind == events.KindTyping {
				got <- n
			}
		}
	}()
	// No wait: events.Listen returns once LISTEN is in place.
	for range 3 {
		wsjson.Write(ctx, c, map[string]any{"type": "typing", "conversation": conv})
	}
	select {
	case n := <-got:
		if n.Author != "agent:"+strconv.FormatInt(e.alice.ID, 10) || n.Conversation != conv {
			t.Fatalf("typing notice %+v", n)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no typing notice")
	}
	select {
	case n := <-got:
		t.Fatalf("second typing notice within the throttle: %+v", n)
	case <-time.After(500 * time.Millisecond):
	}

	// A read for a conversation the socket does not follow is refused.
	other, _ := e.conversation(e.inboxB, "Otto")
	wsjson.Write(ctx, c, map[string]any{"type": "read", "conversation": other, "seq": 1})
	if f := read(t, c, time.Second); f.Type != "error" {
		t.Fatalf("read of another conversation: %+v", f)
	}
	if _, agent, _ := e.st.ReadPositions(ctx, other); agent != 0 {
		t.Fatalf("another inbox's conversation marked read up to %d", agent)
	}
	// Bad frames get an error and the socket stays.
	c.Write(ctx, 1, []byte(`{"type":"read","conversation":1}`))
	if f := read(t, c, time.Second); f.Type != "error" {
		t.Fatalf("bad read: %+v", f)
	}
	wsjson.Write(ctx, c, map[string]any{"type": "read", "conversation": conv, "seq": 99})
	e.say(conv, "still there")
	if f := read(t, c, 2*time.Second); f.Type != "message" || f.Text != "still there" {
		t.Fatalf("after bad frames: %+v", f)
	}
}

// A thread page gets every message once and in order, however they are
// written: visitor messages this process stores (sent as stored), an
// agent's (read back for the name) and a file (read back for its link).
func TestLiveThreadOrderAcrossWriters(t *testing.T) {
	e := setup(t, inbox.Config{})
	conv, _ := e.conversation(e.inboxA, "Vera")
	ctx := context.Background()
	b := e.signedIn(e.alice)
	c, _, err := b.dial(t, e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	first := e.say(conv, "first")
	wsjson.Write(ctx, c, map[string]any{"type": "subscribe", "conversation": conv, "last_seq": 0})
	if f := read(t, c, 2*time.Second); f.Seq != first.Seq || f.Text != "first" {
		t.Fatalf("catch-up: %+v", f)
	}
	type want struct{ text, name string }
	var wants []want
	for i := range 30 {
		switch i % 10 {
		case 4:
			if _, _, err := e.st.AppendMessage(ctx, store.NewMessage{ConversationID: conv, AuthorType: store.AuthorAgent, AuthorID: e.alice.ID, Body: "agent " + strconv.Itoa(i)}); err != nil {
				t.Fatal(err)
			}
			wants = append(wants, want{"agent " + strconv.Itoa(i), "Alice Agent"})
		case 7:
			if _, _, err := e.st.AddAttachment(ctx, store.NewAttachment{Message: store.NewMessage{ConversationID: conv, ClientID: "f" + strconv.Itoa(i),
				AuthorType: store.AuthorVisitor}, Filename: "note.txt", ContentType: "text/plain", Data: []byte("hi")}); err != nil {
				t.Fatal(err)
			}
			wants = append(wants, want{"note.txt", "Vera"})
		default:
			e.say(conv, "visitor "+strconv.Itoa(i))
			wants = append(wants, want{"visitor " + strconv.Itoa(i), "Vera"})
		}
	}
	seq := first.Seq
	for i, w := range wants {
		f := read(t, c, 2*time.Second)
		if f.Type != "message" || f.Seq != seq+1 || f.Text != w.text || f.Name != w.name {
			t.Fatalf("frame %d: %+v, want seq %d %q by %q", i, f, seq+1, w.text, w.name)
		}
		if (w.text == "note.txt") != (f.File != nil) {
			t.Fatalf("frame %d: file %+v", i, f.File)
		}
		seq = f.Seq
	}
}

// The visitor moves to another page: an agent with the thread open gets the
// page on the live socket, a page rendered before the move gets it on
// subscribe, and the thread page shows it (escaped) with the start page.
func TestLiveThreadFollowsTheVisitorsPage(t *testing.T) {
	e := setup(t, inbox.Config{})
	conv, _ := e.conversation(e.inboxA, "Vera") // started on pageA
	const pageA = "https://shop.example/pricing"
	const pageB = "https://shop.example/plans/team?ref=chat"
	first := e.say(conv, "hello")
	ctx := context.Background()
	b := e.signedIn(e.alice)
	path := "/inbox/conversations/" + strconv.FormatInt(conv, 10)
	if p := b.get(path); p.status != 200 || !strings.Contains(p.body, `id="panel-page"><a href="`+pageA+`"`) ||
		!strings.Contains(p.body, `id="panel-start-page" hidden>`) {
		t.Fatalf("thread before the move: %d\n%s", p.status, p.body)
	}

	type pageFrame struct {
		Type         string `json:"type"`
		Conversation int64  `json:"conversation"`
		Seq          int64  `json:"seq"`
		Page         string `json:"page"`
		Start        string `json:"start"`
	}
	next := func(c *websocket.Conn) pageFrame {
		t.Helper()
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second) // a guard against hanging only
		defer cancel()
		var f pageFrame
		if err := wsjson.Read(rctx, c, &f); err != nil {
			t.Fatalf("no frame: %v", err)
		}
		return f
	}
	c, _, err := b.dial(t, e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	wsjson.Write(ctx, c, map[string]any{"type": "subscribe", "conversation": conv, "last_seq": first.Seq})
	// A visitor who never moved sends nothing on subscribe; the next message
	// says the subscription is in place.
	second := e.say(conv, "still here")
	if f := next(c); f.Type != "message" || f.Seq != second.Seq {
		t.Fatalf("after subscribe: %+v", f)
	}

	// A page load resumes the conversation from page B (as backend/internal/chat does).
	if changed, err := e.st.SetConversationPage(ctx, e.account, conv, pageB); err != nil || !changed {
		t.Fatalf("set page: %v %v", changed, err)
	}
	if f := next(c); f.Type != "page" || f.Conversation != conv || f.Page != pageB || f.Start != pageA {
		t.Fatalf("page frame: %+v", f)
	}
	// A thread rendered before the move learns it on subscribe.
	c2, _, err := b.dial(t, e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.CloseNow()
	wsjson.Write(ctx, c2, map[string]any{"type": "subscribe", "conversation": conv, "last_seq": second.Seq})
	if f := next(c2); f.Type != "page" || f.Page != pageB || f.Start != pageA {
		t.Fatalf("page on subscribe: %+v", f)
	}
	p := b.get(path)
	if p.status != 200 || !strings.Contains(p.body, `id="panel-page"><a href="`+pageB+`" target="_blank" rel="noopener noreferrer">`+pageB+`</a>`) ||
		!strings.Contains(p.body, `id="panel-start-page">`+pageA+`</dd>`) {
		t.Fatalf("thread after the move: %d\n%s", p.status, p.body)
	}

	// What the visitor's browser sent is escaped on the page.
	hostile := `https://shop.example/?q="><script>alert(1)</script>`
	if changed, err := e.st.SetConversationPage(ctx, e.account, conv, hostile); err != nil || !changed {
		t.Fatalf("set page: %v %v", changed, err)
	}
	if f := next(c); f.Type != "page" || f.Page != hostile {
		t.Fatalf("page frame: %+v", f)
	}
	if p := b.get(path); strings.Contains(p.body, "<script>alert") || !strings.Contains(p.body, "&lt;script&gt;alert(1)") {
		t.Fatalf("page not escaped:\n%s", p.body)
	}
	// A start page that is no http(s) URL (stored before any check) is never a live link.
	other, _ := e.conversation(e.inboxA, "Otto")
	if _, err := e.db.Exec(`UPDATE conversations SET page_url = 'javascript:alert(1)' WHERE id = $1`, other); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/inbox/conversations/" + strconv.FormatInt(other, 10)); p.status != 200 || strings.Contains(p.body, `href="javascript:`) {
		t.Fatalf("javascript: start page linked: %d\n%s", p.status, p.body)
	}
}

// A page that asks for batches gets the frames ready at one moment in one
// message, a JSON array in order; a frame alone still comes alone, as an
// object. A page that does not ask (loaded before batches) gets objects.
func TestLiveBatches(t *testing.T) {
	e := setup(t, inbox.Config{})
	conv, _ := e.conversation(e.inboxA, "Vera")
	for i := range 5 {
		e.say(conv, "message "+strconv.Itoa(i+1))
	}
	b := e.signedIn(e.alice)
	ctx := context.Background()
	// raw reads the next message: its frames, and whether it was an array.
	raw := func(c *websocket.Conn) ([]frame, bool) {
		t.Helper()
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, data, err := c.Read(rctx)
		if err != nil {
			t.Fatalf("no message: %v", err)
		}
		var fs []frame
		if strings.HasPrefix(string(data), "[") {
			if err := json.Unmarshal(data, &fs); err != nil {
				t.Fatalf("batch %s: %v", data, err)
			}
			return fs, true
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatalf("frame %s: %v", data, err)
		}
		return []frame{f}, false
	}

	c, _, err := b.dialPath(e.srv.URL, "/inbox/ws?batch=1", e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	// The list and its counts: one message.
	wsjson.Write(ctx, c, map[string]any{"type": "list"})
	if fs, batch := raw(c); !batch || len(fs) != 2 || fs[0].Type != "list" || len(fs[0].Items) != 1 || fs[1].Type != "counts" || fs[1].Counts["open"] != 1 {
		t.Fatalf("list: batch %v %+v", batch, fs)
	}
	// A catch-up of five: one message, in seq order.
	wsjson.Write(ctx, c, map[string]any{"type": "subscribe", "conversation": conv, "last_seq": 0})
	fs, batch := raw(c)
	if !batch || len(fs) != 5 {
		t.Fatalf("catch-up: batch %v %+v", batch, fs)
	}
	for i, f := range fs {
		if f.Type != "message" || f.Seq != int64(i+1) || f.Text != "message "+strconv.Itoa(i+1) {
			t.Fatalf("catch-up frame %d: %+v", i, f)
		}
	}
	// The next message alone comes as it always did: an object.
	e.say(conv, "<b>six</b>")
	for {
		fs, batch := raw(c)
		if fs[0].Type == "rows" || fs[0].Type == "counts" {
			continue // the list's row of the same message
		}
		if batch || len(fs) != 1 || fs[0].Seq != 6 || fs[0].Text != "<b>six</b>" {
			t.Fatalf("one message: batch %v %+v", batch, fs)
		}
		break
	}

	// A page from before batches: five objects.
	old, _, err := b.dial(t, e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer old.CloseNow()
	wsjson.Write(ctx, old, map[string]any{"type": "subscribe", "conversation": conv, "last_seq": 1})
	for seq := int64(2); seq <= 6; seq++ {
		if fs, batch := raw(old); batch || len(fs) != 1 || fs[0].Seq != seq {
			t.Fatalf("old page, seq %d: batch %v %+v", seq, batch, fs)
		}
	}
}

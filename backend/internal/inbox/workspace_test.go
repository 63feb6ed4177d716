package inbox_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/backend/internal/inbox"
	"github.com/parleychat/parley/backend/internal/store"
)

// TestWorkspacePageAndThreadPartial: a thread's URL renders the list, the
// thread and the panel; with X-Parley-Partial it answers the thread alone,
// the markup the full page has, and refuses what the agent may not see.
func TestWorkspacePageAndThreadPartial(t *testing.T) {
	e := setup(t, inbox.Config{})
	conv, _ := e.conversation(e.inboxA, "Vera")
	e.say(conv, "see https://shop.example/a?b=1&c=2. and <b>this</b> javascript:alert(1)")
	e.say(conv, "second")
	other, _ := e.conversation(e.inboxA, "Otto")
	e.say(other, "other chat")
	foreign, _ := e.conversation(e.inboxB, "Bea")
	a := e.signedIn(e.alice)
	path := fmt.Sprintf("/inbox/conversations/%d", conv)

	full := a.get(path + "?view=open")
	for _, want := range []string{`id="conversations"`, `data-id="` + fmt.Sprint(other) + `"`, `id="thread"`, `<aside class="panel"`, `id="panel-presence"`,
		`<span class="badge" data-badge>2</span>`} {
		if full.status != 200 || !strings.Contains(full.body, want) {
			t.Fatalf("full page: %d, no %s:\n%s", full.status, want, full.body)
		}
	}
	part := a.do("GET", path, nil, map[string]string{inbox.PartialHeader: "thread"})
	if part.status != 200 || !strings.HasPrefix(strings.TrimSpace(part.body), `<div class="thread-layout"`) ||
		strings.Contains(part.body, "<html") || strings.Contains(part.body, `id="conversations"`) {
		t.Fatalf("partial: %d\n%s", part.status, part.body)
	}
	if !strings.Contains(part.resp.Header.Get("Vary"), inbox.PartialHeader) {
		t.Fatalf("partial without Vary: %v", part.resp.Header)
	}
	// The same thread markup as the full page's (but for the reply's fresh client id).
	i := strings.Index(full.body, `<div class="thread-layout"`)
	j := strings.Index(full.body[i:], `</aside>`)
	noID := func(s string) string { return clientID.ReplaceAllString(s, "") }
	if i < 0 || j < 0 || !strings.Contains(noID(part.body), noID(full.body[i:i+j])) {
		t.Fatal("the partial is not the full page's thread")
	}
	// Links: escaped first, http(s) only, opened apart from the inbox.
	const link = `see <a href="https://shop.example/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer nofollow">https://shop.example/a?b=1&amp;c=2</a>. and &lt;b&gt;this&lt;/b&gt; javascript:alert(1)`
	if !strings.Contains(part.body, link) {
		t.Fatalf("linkified text missing:\n%s", part.body)
	}
	if p := a.do("GET", fmt.Sprintf("/inbox/conversations/%d", foreign), nil, map[string]string{inbox.PartialHeader: "thread"}); p.status != http.StatusForbidden {
		t.Fatalf("partial of another inbox: %d", p.status)
	}
	if p := e.browser().do("GET", path, nil, map[string]string{inbox.PartialHeader: "thread"}); p.status != http.StatusSeeOther {
		t.Fatalf("partial without a session: %d", p.status)
	}
}

// liveRow is a row of a list, alerts or rows frame.
type liveRow struct {
	ID          int64  `json:"id"`
	PublicID    string `json:"public_id"`
	Label       string `json:"label"`
	UnreadCount int    `json:"unread_count"`
	Alert       bool   `json:"alert"`
	Preview     string `json:"preview"`
}

// row is conversation id's row in a rows frame (items, else alert_items),
// or nil.
func (f frame) row(id int64) *liveRow {
	if f.Type != "rows" {
		return nil
	}
	for _, rs := range [][]liveRow{f.Items, f.AlertItems} {
		for i := range rs {
			if rs[i].ID == id {
				return &rs[i]
			}
		}
	}
	return nil
}

// next reads frames until keep says yes (counts and other noise skipped).
func next(t *testing.T, c *websocket.Conn, keep func(frame) bool) frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for {
		var f frame
		if err := wsjson.Read(ctx, c, &f); err != nil {
			t.Fatalf("no such frame: %v", err)
		}
		if f.Type != "counts" && keep(f) {
			return f
		}
	}
}

// TestOneSocketCarriesTheWholePage: one socket follows the list, the open
// thread and the alerts: a message in the open thread comes whole, one in
// another chat as its row with the unread count, the visitor's typing in
// another chat as a row's typing; other inboxes' chats never come.
func TestOneSocketCarriesTheWholePage(t *testing.T) {
	e := setup(t, inbox.Config{})
	open, _ := e.conversation(e.inboxA, "Vera")
	e.say(open, "hello")
	waiting, _ := e.conversation(e.inboxA, "Walt")
	e.say(waiting, "anyone?")
	foreign, _ := e.conversation(e.inboxB, "Bea")
	a := e.signedIn(e.alice)
	c, _, err := a.dial(t, e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	ctx := context.Background()

	wsjson.Write(ctx, c, map[string]any{"type": "alerts"})
	f := next(t, c, func(f frame) bool { return f.Type == "alerts" })
	if len(f.Items) != 2 || f.Items[0].UnreadCount != 1 {
		t.Fatalf("alerts: %+v", f)
	}
	wsjson.Write(ctx, c, map[string]any{"type": "list"})
	if f := next(t, c, func(f frame) bool { return f.Type == "list" }); len(f.Items) != 2 {
		t.Fatalf("list: %+v", f)
	}
	wsjson.Write(ctx, c, map[string]any{"type": "subscribe", "conversation": open, "last_seq": 1})

	// The other chat: its row, two unread now; not its message.
	e.say(waiting, "hello??")
	f = next(t, c, func(f frame) bool { return f.Type != "read" })
	if r := f.row(waiting); r == nil || len(f.Items) != 1 || r.UnreadCount != 2 || !r.Alert || r.Preview != "hello??" {
		t.Fatalf("row of the other chat: %+v", f)
	}
	// The open thread: the message itself, and its row.
	e.say(open, "still there")
	if f := next(t, c, func(f frame) bool { return f.Type == "message" }); f.Conversation != open || f.Text != "still there" {
		t.Fatalf("thread message: %+v", f)
	}
	// Read by the page: the row's count falls to 0.
	wsjson.Write(ctx, c, map[string]any{"type": "read", "conversation": open, "seq": 2})
	if f := next(t, c, func(f frame) bool {
		r := f.row(open)
		return r != nil && r.UnreadCount == 0
	}); !f.row(open).Alert {
		t.Fatalf("read row: %+v", f)
	}

	// Typing: the other inbox's visitor first, then this list's: only the latter comes.
	for _, id := range []int64{foreign, waiting} {
		if err := events.Notify(ctx, e.db, events.Notice{Account: e.account, Conversation: id, Kind: events.KindTyping, Author: store.ReadVisitor}); err != nil {
			t.Fatal(err)
		}
	}
	if f := next(t, c, func(f frame) bool { return f.Type == "typing" }); f.Conversation != waiting || f.From != "visitor" {
		t.Fatalf("typing in a row: %+v", f)
	}
	// A message in the other inbox never reaches this socket: the next row is this inbox's.
	e.say(foreign, "for bob")
	e.say(waiting, "third")
	if f := next(t, c, func(f frame) bool { return f.Type == "rows" }); len(f.Items)+len(f.AlertItems) != 1 || f.row(waiting) == nil || f.row(waiting).UnreadCount != 3 {
		t.Fatalf("after a message in another inbox: %+v", f)
	}
}

// TestAlertsOnlyPage: a page without the list (settings, saved replies)
// hears its agent's chats as alert rows, and nothing of the others'.
func TestAlertsOnlyPage(t *testing.T) {
	e := setup(t, inbox.Config{})
	a := e.signedIn(e.alice)
	c, _, err := a.dial(t, e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	wsjson.Write(context.Background(), c, map[string]any{"type": "alerts"})
	if f := next(t, c, func(f frame) bool { return f.Type == "alerts" }); len(f.Items) != 0 {
		t.Fatalf("alerts: %+v", f)
	}
	foreign, _ := e.conversation(e.inboxB, "Bea")
	e.say(foreign, "not alice's")
	conv, _ := e.conversation(e.inboxA, "Vera")
	e.say(conv, "new chat")
	f := next(t, c, func(f frame) bool { return true })
	if r := f.row(conv); r == nil || len(f.Items) != 0 || len(f.AlertItems) != 1 || r.UnreadCount != 1 || !r.Alert {
		t.Fatalf("alert: %+v", f)
	}
	// Assigned to someone else: still sent, no longer alerting.
	if _, err := e.db.Exec(`UPDATE conversations SET assignee_id = $1 WHERE id = $2`, e.bob.ID, conv); err != nil {
		t.Fatal(err)
	}
	e.st.Announce(context.Background(), events.Notice{Account: e.account, Conversation: conv, Kind: events.KindConversation})
	if f := next(t, c, func(f frame) bool { return f.row(conv) != nil }); f.row(conv).Alert {
		t.Fatalf("someone else's chat still alerts: %+v", f)
	}
}

// TestPagesShareRowsAndCounts: three pages of an agent hear every changed
// row once each and the same view counts the store computes for them.
func TestPagesShareRowsAndCounts(t *testing.T) {
	e := setup(t, inbox.Config{})
	a := e.signedIn(e.alice)
	ctx := context.Background()
	var socks []*websocket.Conn
	for range 3 {
		c, _, err := a.dial(t, e.srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		wsjson.Write(ctx, c, map[string]any{"type": "list"})
		next(t, c, func(f frame) bool { return f.Type == "list" })
		socks = append(socks, c)
	}
	var convs []int64
	for i := range 5 {
		id, _ := e.conversation(e.inboxA, fmt.Sprintf("V%d", i))
		e.say(id, "hi")
		convs = append(convs, id)
	}
	e.db.Exec(`UPDATE conversations SET assignee_id = $1 WHERE id = $2`, e.alice.ID, convs[0])
	e.st.Announce(ctx, events.Notice{Account: e.account, Conversation: convs[0], Kind: events.KindConversation})
	vc, err := e.st.ViewCounts(ctx, e.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range socks {
		seen := map[int64]bool{}
		deadline, cancel := context.WithTimeout(ctx, 5*time.Second)
		for len(seen) < len(convs) {
			var f frame
			if err := wsjson.Read(deadline, c, &f); err != nil {
				t.Fatalf("rows seen %v: %v", seen, err)
			}
			for _, it := range f.Items {
				if f.Type == "rows" {
					seen[it.ID] = true
				}
			}
		}
		// The counts once everything settled: the store's own figures.
		for {
			var f struct {
				Type   string         `json:"type"`
				Counts map[string]int `json:"counts"`
			}
			if err := wsjson.Read(deadline, c, &f); err != nil {
				t.Fatalf("no settled counts: %v", err)
			}
			if f.Type == "counts" && f.Counts["open"] == vc.Open && f.Counts["mine"] == vc.Mine && f.Counts["unassigned"] == vc.Unassigned &&
				f.Counts[fmt.Sprintf("inbox-%d", e.inboxA)] == vc.ByInbox[e.inboxA] && f.Counts["closed"] == vc.Closed {
				break
			}
		}
		cancel()
	}
	if vc.Open != 5 || vc.Mine != 1 || vc.Unassigned != 4 {
		t.Fatalf("store counts %+v", vc)
	}
}

// A chat nobody reads shows "99+" once it holds more than 99 unread
// messages (the live rows' inbox.js does the same).
func TestUnreadBadgeCaps(t *testing.T) {
	e := setup(t, inbox.Config{})
	conv, _ := e.conversation(e.inboxA, "Vera")
	for i := range 101 {
		e.say(conv, fmt.Sprint("message ", i))
	}
	a := e.signedIn(e.alice)
	if p := a.get("/inbox?view=open"); p.status != 200 || !strings.Contains(p.body, `<span class="badge" data-badge>99&#43;</span>`) { // html/template writes + as &#43;
		t.Fatalf("list of a chat with 101 unread messages: %d\n%s", p.status, p.body)
	}
}

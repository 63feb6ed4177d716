package e2e

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// rowOrder is the list's conversation ids, top first, as a string "3,1,2".
const rowOrder = `[...document.querySelectorAll('#conversations li[data-id]')].map(li => li.dataset.id).join(',')`

// badgeOf is the unread badge text of conversation id's row ("" when hidden).
func badgeOf(id int64) string {
	return fmt.Sprintf(`(b => !b || b.hidden ? '' : b.textContent)(document.querySelector('#conversations li[data-id="%d"] [data-badge]'))`, id)
}

// chatFromHostPage opens the demo host page in a new tab, opens the widget and
// says text; it returns the tab and the conversation's id.
func chatFromHostPage(t *testing.T, s *System, text string) (context.Context, int64) {
	t.Helper()
	tab := Tab(t)
	runT(t, tab, chromedp.Navigate(s.Host()+"/demo/"))
	waitJS(t, tab, "the widget", `window.Parley && Parley.status() === 'ready'`, 30*time.Second)
	runT(t, tab, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=launcher]')`)))
	waitJS(t, tab, "the chat window", shadow+`.querySelector('[data-parley=window]').hidden === false`, 10*time.Second)
	visitorSays(t, tab, text)
	var id int64
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if err := s.DB.Get(&id, `SELECT conversation_id FROM messages WHERE body = $1`, text); err == nil {
			return tab, id
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%q was not stored", text)
	return nil, 0
}

// TestWorkspaceFiveChatsFromOnePage: one agent answers five visitors at
// once from one page, never loading another: the list keeps per-chat
// unread counts and re-sorts live, the visitor's typing shows in their row,
// the address follows the open chat and back goes to the previous one.
func TestWorkspaceFiveChatsFromOnePage(t *testing.T) {
	s := StartSystem(t)
	agent := Tab(t)
	signIn(t, agent, s)
	runT(t, agent, js(`window.__onePage = true`))
	waitJS(t, agent, "the live socket", `document.getElementById('live-status').dataset.state === 'live'`, 10*time.Second)

	visitors := make([]context.Context, 5)
	ids := make([]int64, 5)
	for i := range visitors {
		visitors[i], ids[i] = chatFromHostPage(t, s, fmt.Sprintf("Hello from visitor %d", i+1))
	}
	// Newest first, one unread message each.
	want := fmt.Sprintf("%d,%d,%d,%d,%d", ids[4], ids[3], ids[2], ids[1], ids[0])
	waitJS(t, agent, "five chats newest first", rowOrder+` === '`+want+`'`, 15*time.Second)
	for _, id := range ids {
		waitJS(t, agent, "one unread in each row", badgeOf(id)+` === '1'`, 5*time.Second)
	}
	waitJS(t, agent, "five chats in the title", `document.title.startsWith('(5) ')`, 5*time.Second)

	// The agent answers each from the same page, oldest first.
	for i, id := range ids {
		runT(t, agent, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#conversations li[data-id="%d"] a`, id))))
		waitJS(t, agent, "the thread", threadHas(fmt.Sprintf("Hello from visitor %d", i+1)), 10*time.Second)
		waitJS(t, agent, "the address of the chat", fmt.Sprintf(`location.pathname === '/inbox/conversations/%d'`, id), 5*time.Second)
		waitJS(t, agent, "read: no badge", badgeOf(id)+` === ''`, 10*time.Second)
		reply := fmt.Sprintf("Answer for visitor %d", i+1)
		runT(t, agent,
			chromedp.SendKeys(chromedp.CSS(`#reply textarea[name=text]`), reply),
			chromedp.Click(chromedp.CSS(`#reply [data-action=send]`)),
		)
		waitJS(t, visitors[i], "the answer in the widget", widgetHas("agent", reply), 10*time.Second)
		waitJS(t, agent, "the answered chat on top", fmt.Sprintf(`%s.startsWith('%d')`, rowOrder, id), 10*time.Second)
		for _, other := range ids[i+1:] {
			if b := evalString(t, agent, badgeOf(other)); b != "1" {
				t.Fatalf("chat %d shows badge %q while another is answered", other, b)
			}
		}
	}
	waitJS(t, agent, "nothing unread in the title", `!document.title.startsWith('(')`, 5*time.Second)

	// Visitor 2 types while the agent is in chat 5: their row says so; what
	// they send moves them to the top with one unread.
	runT(t, visitors[1], chromedp.SendKeys(chromedp.JSPath(shadow+`.querySelector('[data-parley=input]')`), "One more"))
	waitJS(t, agent, "typing in visitor 2's row", fmt.Sprintf(`!document.querySelector('#conversations li[data-id="%d"] .row-typing').hidden`, ids[1]), 10*time.Second)
	runT(t, visitors[1], chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=send]')`)))
	waitJS(t, agent, "visitor 2 on top", fmt.Sprintf(`%s.startsWith('%d,')`, rowOrder, ids[1]), 10*time.Second)
	waitJS(t, agent, "one unread for visitor 2", badgeOf(ids[1])+` === '1'`, 10*time.Second)
	if b := evalString(t, agent, badgeOf(ids[4])); b != "" {
		t.Fatalf("the open chat shows badge %q", b)
	}

	// Back goes to the previous chat, forward again; still the same page.
	runT(t, agent, js(`history.back()`))
	waitJS(t, agent, "back to chat 4", fmt.Sprintf(`location.pathname === '/inbox/conversations/%d' && document.getElementById('thread').dataset.conversationId === '%d'`, ids[3], ids[3]), 10*time.Second)
	runT(t, agent, js(`history.forward()`))
	waitJS(t, agent, "forward to chat 5", fmt.Sprintf(`document.getElementById('thread').dataset.conversationId === '%d'`, ids[4]), 10*time.Second)
	if v := evalString(t, agent, `String(window.__onePage)`); v != "true" {
		t.Fatal("the agent's page was loaded again")
	}

	// A colleague's deep link renders list, thread and panel on the server.
	var inboxID int64
	if err := s.DB.Get(&inboxID, `SELECT inbox_id FROM chatflows WHERE public_id = $1`, s.Demo.ChatflowID); err != nil {
		t.Fatal(err)
	}
	code, body := liveREST(t, s, "POST", "/api/v1/users", map[string]any{"email": "ana@demo.example", "name": "Ana Colleague",
		"password": "ana-password-1", "has_seat": true, "status": "away"})
	if code != 201 {
		t.Fatalf("create colleague: %d %s", code, body)
	}
	if _, err := s.DB.Exec(`INSERT INTO inbox_members (inbox_id, user_id) SELECT $1, id FROM users WHERE email = 'ana@demo.example'`, inboxID); err != nil {
		t.Fatal(err)
	}
	deep := Tab(t)
	runT(t, deep,
		chromedp.Navigate(fmt.Sprintf("%s/inbox/login?next=%%2Finbox%%2Fconversations%%2F%d", s.Edge, ids[2])),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "ana@demo.example"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "ana-password-1"),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
	)
	waitJS(t, deep, "list, thread and panel", fmt.Sprintf(`document.querySelectorAll('#conversations li').length === 5 && document.getElementById('thread').dataset.conversationId === '%d' && !!document.querySelector('aside.panel #panel-page')`, ids[2]), 10*time.Second)
	// "Ana is viewing": the first agent's page sees the second one in chat 3.
	runT(t, agent, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#conversations li[data-id="%d"] a`, ids[2]))))
	waitJS(t, agent, "the colleague viewing", `(v => !v.hidden && v.textContent.includes('Ana Colleague is viewing'))(document.getElementById('viewers'))`, 30*time.Second)

	// Each visitor got exactly their answer.
	var n int
	if err := s.DB.Get(&n, `SELECT count(*) FROM messages WHERE author_type = 'agent' AND body LIKE 'Answer for visitor %'`); err != nil || n != 5 {
		t.Fatalf("%d answers stored (%v)", n, err)
	}
}

// hideTab makes the page report itself hidden, as a tab in the background does.
const hideTab = `Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
document.dispatchEvent(new Event('visibilitychange'))`

// catchNotifications records the desktop notifications the page raises.
const catchNotifications = `window.__notes = [];
(N => {
  const F = function (title, opts) { window.__notes.push({title, body: (opts || {}).body || ''}); this.close = () => {}; };
  Object.defineProperty(F, 'permission', {get: () => N.permission});
  F.requestPermission = (...a) => N.requestPermission(...a);
  window.Notification = F;
})(window.Notification)`

// TestWorkspaceAlertsWhileHidden: with the agent's tab hidden, a message in
// another chat raises a desktop notification and counts in the title, on
// the workspace and on any other inbox page; sound can be muted and stays so.
func TestWorkspaceAlertsWhileHidden(t *testing.T) {
	s := StartSystem(t)
	agent := Tab(t)
	origin, _ := url.Parse(s.Edge)
	runT(t, agent, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: "notifications"}, Setting: cdpbrowser.PermissionSettingGranted,
			Origin: origin.Scheme + "://" + origin.Host, BrowserContextID: chromedp.FromContext(ctx).BrowserContextID})
		return err
	}))
	signIn(t, agent, s)
	waitJS(t, agent, "notifications granted", `Notification.permission === 'granted'`, 5*time.Second)
	waitJS(t, agent, "the live socket", `document.getElementById('live-status').dataset.state === 'live'`, 10*time.Second)

	a, convA := chatFromHostPage(t, s, "First chat here")
	runT(t, agent, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#conversations li[data-id="%d"] a`, convA))))
	waitJS(t, agent, "chat A open", threadHas("First chat here"), 10*time.Second)
	waitJS(t, agent, "chat A read", `!document.title.startsWith('(')`, 10*time.Second)

	// Hidden: a new chat rings, notifies and counts.
	runT(t, agent, js(catchNotifications), js(hideTab))
	_, convB := chatFromHostPage(t, s, "Second chat, anyone?")
	waitJS(t, agent, "a notification for chat B", `window.__notes.some(n => n.body.includes('Second chat, anyone?'))`, 10*time.Second)
	waitJS(t, agent, "(1) in the title", `document.title.startsWith('(1) ')`, 5*time.Second)
	if c := evalString(t, agent, `String(window.parleyChimes || 0)`); c == "0" {
		t.Fatal("no sound for the new chat")
	}
	// The open chat, hidden, counts too.
	visitorSays(t, a, "Hello again from A")
	waitJS(t, agent, "a notification for chat A", `window.__notes.some(n => n.body.includes('Hello again from A'))`, 10*time.Second)
	waitJS(t, agent, "(2) in the title", `document.title.startsWith('(2) ')`, 5*time.Second)

	// Muted, remembered across pages: no sound, still the notification.
	runT(t, agent, chromedp.Click(chromedp.CSS(`#sound`)))
	waitJS(t, agent, "sound off", `localStorage.getItem('parley-sound') === 'off' && document.getElementById('sound').getAttribute('aria-pressed') === 'false'`, 5*time.Second)

	// Another inbox page (saved replies) alerts the same way.
	runT(t, agent, chromedp.Navigate(s.Edge+"/inbox/replies"))
	waitJS(t, agent, "the replies page live", `document.getElementById('live-status').dataset.state === 'live'`, 10*time.Second)
	waitJS(t, agent, "(2) in the replies page's title", `document.title.startsWith('(2) ')`, 5*time.Second)
	runT(t, agent, js(catchNotifications), js(hideTab), js(`window.parleyChimes = 0`))
	waitJS(t, agent, "still muted", `document.getElementById('sound').getAttribute('aria-pressed') === 'false'`, 5*time.Second)
	_, convC := chatFromHostPage(t, s, "Third chat from the settings side")
	waitJS(t, agent, "a notification on the replies page", `window.__notes.some(n => n.body.includes('Third chat from the settings side'))`, 10*time.Second)
	waitJS(t, agent, "(3) in the title", `document.title.startsWith('(3) ')`, 5*time.Second)
	if c := evalString(t, agent, `String(window.parleyChimes || 0)`); c != "0" {
		t.Fatalf("muted, the page still played %s sounds", c)
	}
	if !strings.Contains(evalString(t, agent, `window.__notes.map(n => n.title).join('|')`), "New chat") {
		t.Fatal("the notification does not say it is a new chat")
	}
	_ = convB
	_ = convC
}

// TestWorkspaceVisitorPresence: the side panel says whether the visitor is
// on the site now, typing, or gone (the page they are on follows them as
// TestLiveThreadFollowsTheVisitorsPage checks in the inbox package).
func TestWorkspaceVisitorPresence(t *testing.T) {
	s := StartSystem(t)
	agent := Tab(t)
	signIn(t, agent, s)
	visitor, conv := chatFromHostPage(t, s, "Where is my parcel?")
	runT(t, agent, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#conversations li[data-id="%d"] a`, conv))))
	waitJS(t, agent, "the thread", threadHas("Where is my parcel?"), 10*time.Second)
	presence := `document.getElementById('panel-presence')`
	waitJS(t, agent, "on the site now", presence+`.dataset.state === 'online' && `+presence+`.textContent === 'On the site now'`, 10*time.Second)
	waitJS(t, agent, "the live socket", `document.getElementById('live-status').dataset.state === 'live'`, 10*time.Second)

	runT(t, visitor, chromedp.SendKeys(chromedp.JSPath(shadow+`.querySelector('[data-parley=input]')`), "It was"))
	waitJS(t, agent, "typing in the panel", presence+`.dataset.state === 'typing'`, 10*time.Second)

	// The visitor leaves the site: gone.
	runT(t, visitor, chromedp.Navigate("about:blank"))
	waitJS(t, agent, "gone", presence+`.dataset.state === 'gone' && `+presence+`.textContent === 'Gone'`, 30*time.Second)
}

// Views, search and the label filter switch the list without a page load:
// the list shows the view's conversations, the address follows (with the
// open thread kept), back and forward restore the list, and the list stays
// live in the new view.
func TestWorkspaceViewsWithoutPageLoad(t *testing.T) {
	s := StartSystem(t)
	agent := Tab(t)
	signIn(t, agent, s)
	runT(t, agent, js(`window.__onePage = true`))
	waitJS(t, agent, "the live socket", `document.getElementById('live-status').dataset.state === 'live'`, 10*time.Second)
	_, alpha := chatFromHostPage(t, s, "Alpha question")
	_, beta := chatFromHostPage(t, s, "Beta question")
	waitJS(t, agent, "both chats", rowOrder+fmt.Sprintf(` === '%d,%d'`, beta, alpha), 15*time.Second)

	// Search: only Beta; the address says so; the page is the same.
	runT(t, agent, js(`document.getElementById("q").value = "Beta"`), chromedp.Click(chromedp.CSS(`[data-action=search]`)))
	waitJS(t, agent, "only Beta found", rowOrder+fmt.Sprintf(` === '%d'`, beta), 10*time.Second)
	waitJS(t, agent, "the search in the address", `location.pathname === '/inbox' && location.search === '?q=Beta'`, 5*time.Second)

	// The open thread stays open across list switches; its address keeps the list's.
	runT(t, agent, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#conversations li[data-id="%d"] a`, beta))))
	waitJS(t, agent, "Beta's thread", threadHas("Beta question"), 10*time.Second)
	runT(t, agent, js(`document.getElementById("q").value = ""`), chromedp.Click(chromedp.CSS(`[data-action=search]`)))
	waitJS(t, agent, "the search cleared: both", rowOrder+fmt.Sprintf(` === '%d,%d'`, beta, alpha), 10*time.Second)
	waitJS(t, agent, "the thread's address without the search", fmt.Sprintf(`location.pathname === '/inbox/conversations/%d' && location.search === ''`, beta), 5*time.Second)
	if code, body := liveREST(t, s, "POST", fmt.Sprintf("/api/v1/conversations/%d/close", alpha), nil); code != 200 {
		t.Fatalf("close: %d %s", code, body)
	}
	waitJS(t, agent, "Alpha leaves the open view live", rowOrder+fmt.Sprintf(` === '%d'`, beta), 10*time.Second)
	runT(t, agent, chromedp.Click(chromedp.CSS(`nav.views a[data-view="closed"]`)))
	waitJS(t, agent, "the closed view: Alpha", rowOrder+fmt.Sprintf(` === '%d'`, alpha), 10*time.Second)
	waitJS(t, agent, "the thread kept, the view in its address", fmt.Sprintf(`location.pathname === '/inbox/conversations/%d' && location.search === '?view=closed' && document.getElementById('thread').dataset.conversationId === '%d'`, beta, beta), 5*time.Second)
	waitJS(t, agent, "the tab marked", `document.querySelector('nav.views a[aria-current]')?.dataset.view === 'closed'`, 5*time.Second)

	// Back: the open view, then the search with its box filled; forward: the closed view.
	runT(t, agent, js(`history.back()`))
	waitJS(t, agent, "back to the open view", rowOrder+fmt.Sprintf(` === '%d' && document.querySelector('nav.views a[aria-current]')?.dataset.view === 'open'`, beta), 10*time.Second)
	runT(t, agent, js(`history.back()`))
	waitJS(t, agent, "back to the search", `location.search === '?q=Beta' && document.getElementById('q').value === 'Beta'`, 10*time.Second)
	runT(t, agent, js(`history.forward()`), js(`history.forward()`))
	waitJS(t, agent, "forward to the closed view", rowOrder+fmt.Sprintf(` === '%d' && location.search === '?view=closed'`, alpha), 10*time.Second)

	// Live in the new view: a new chat joins it at once.
	runT(t, agent, chromedp.Click(chromedp.CSS(`nav.views a[data-view="open"]`)))
	waitJS(t, agent, "the open view: Beta", rowOrder+fmt.Sprintf(` === '%d'`, beta), 10*time.Second)
	_, gamma := chatFromHostPage(t, s, "Gamma question")
	waitJS(t, agent, "a new chat arrives live in the switched view", rowOrder+fmt.Sprintf(` === '%d,%d'`, gamma, beta), 15*time.Second)
	if v := evalString(t, agent, `String(window.__onePage)`); v != "true" {
		t.Fatal("the agent's page was loaded again")
	}
}

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Issue 4's browser checks: display behaviours and triggers, the minimise
// cookie, targeting, mobile, the page's JavaScript API and its events,
// robustness (hostile CSS, clicks through a closed widget, a wasm that
// fails) and accessibility (axe-core), on the real edge and backend.

// demoFlow returns the demo chatflow's database id and its inbox.
func demoFlow(t *testing.T, s *System) (id, inbox int64) {
	t.Helper()
	if err := s.DB.QueryRow(`SELECT id, inbox_id FROM chatflows WHERE public_id = $1`, s.Demo.ChatflowID).Scan(&id, &inbox); err != nil {
		t.Fatal(err)
	}
	return id, inbox
}

// patchFlow changes the demo chatflow over REST and waits until the edge
// serves the changed config.
func patchFlow(t *testing.T, s *System, id int64, body map[string]any) {
	t.Helper()
	before := publishedETag(t, s)
	if code, out := liveREST(t, s, "PATCH", fmt.Sprintf("/api/v1/chatflows/%d", id), body); code != 200 {
		t.Fatalf("patch chatflow: %d %s", code, out)
	}
	waitPublished(t, s, before)
}

func display(desktop, mobile string, triggers map[string]any) map[string]any {
	return map[string]any{"display": map[string]any{"desktop": desktop, "mobile": mobile, "triggers": triggers}}
}

// excludePrivacy is the exclusion every chatflow of these tests carries.
var excludePrivacy = []map[string]any{{"kind": "url", "op": "ends_with", "value": "/privacy.html"}}

const (
	winOpen    = shadow + `.querySelector('[data-parley=window]').hidden === false`
	winClosed  = shadow + `.querySelector('[data-parley=window]').hidden === true`
	promptOpen = shadow + `.querySelector('[data-parley=prompt]').hidden === false`
	ready      = `window.Parley && Parley.status() === 'ready'`
	// launcherShown is true when the launcher takes space on the page.
	launcherShown = `(r => r.width === 56 && r.height === 56)(` + shadow + `.querySelector('[data-parley=launcher]').getBoundingClientRect())`
)

// events is the names of the Parley events the long demo page recorded.
func events(t *testing.T, ctx context.Context) string {
	return evalString(t, ctx, `window.__events.map(e => e.name).join(',')`)
}

func TestWidgetDisplayAndTriggers(t *testing.T) {
	s := StartSystem(t)
	id, _ := demoFlow(t, s)

	// Open on trigger, 80 % scrolled: the prompt shows at once, nothing
	// but the loader is fetched before the page's load event, and scrolling
	// past the threshold opens the chat.
	patchFlow(t, s, id, map[string]any{"targeting": map[string]any{"exclusions": excludePrivacy},
		"display": map[string]any{"desktop": "open_on_trigger", "mobile": "prompt", "triggers": map[string]any{"scroll_percent": 80}}})
	tab := Tab(t)
	runT(t, tab, chromedp.Navigate(s.Host()+"/demo/long.html"))
	waitJS(t, tab, "the widget", ready, 20*time.Second)
	early := evalString(t, tab, `(() => { const load = performance.getEntriesByType('navigation')[0].loadEventStart;
		return performance.getEntriesByType('resource').filter(e => e.startTime < load && !e.name.startsWith(location.origin)).map(e => e.name).join(' '); })()`)
	if !strings.HasSuffix(early, "/loader.js") || strings.Contains(early, " ") {
		t.Fatalf("fetched before the page's load event: %q, want only loader.js", early)
	}
	waitJS(t, tab, "the welcome prompt", promptOpen, 5*time.Second)
	waitJS(t, tab, "the window still closed", winClosed, time.Second)
	// The page's own scroll listener runs after the widget's (added later):
	// once it has seen the scroll, the widget has queued it.
	runT(t, tab, js(`window.__scrolled = false; addEventListener('scroll', () => { window.__scrolled = true }, {once: true, passive: true});
		window.scrollTo(0, document.documentElement.scrollHeight * 0.3)`))
	waitJS(t, tab, "the scroll dispatched", `window.__scrolled`, 5*time.Second)
	widgetCaughtUp(t, tab)
	if !evalBool(t, tab, winClosed) {
		t.Fatal("the chat opened below the scroll threshold")
	}
	runT(t, tab, js(`window.scrollTo(0, document.documentElement.scrollHeight)`))
	waitJS(t, tab, "the chat opened by scrolling", winOpen, 5*time.Second)

	// Time on page: two seconds.
	patchFlow(t, s, id, display("open_on_trigger", "prompt", map[string]any{"time_on_page": 2}))
	tab = Tab(t)
	runT(t, tab, chromedp.Navigate(s.Host()+"/demo/long.html"))
	waitJS(t, tab, "the widget", ready, 20*time.Second)
	start := time.Now()
	waitJS(t, tab, "the chat opened by time on page", winOpen, 6*time.Second)
	t.Logf("opened %v after the widget was ready (trigger: 2 s on the page)", time.Since(start).Round(10*time.Millisecond))

	// Exit intent: the pointer leaves through the top of the window.
	patchFlow(t, s, id, display("open_on_trigger", "prompt", map[string]any{"exit_intent": true}))
	tab = Tab(t)
	runT(t, tab, chromedp.Navigate(s.Host()+"/demo/long.html"))
	waitJS(t, tab, "the widget", ready, 20*time.Second)
	runT(t, tab, js(`document.dispatchEvent(new MouseEvent('mouseout', {clientX: 300, clientY: 200, bubbles: true}))`))
	widgetCaughtUp(t, tab)
	if !evalBool(t, tab, winClosed) {
		t.Fatal("the chat opened when the pointer left sideways")
	}
	runT(t, tab, js(`document.dispatchEvent(new MouseEvent('mouseout', {clientX: 300, clientY: -2, bubbles: true}))`))
	waitJS(t, tab, "the chat opened by exit intent", winOpen, 5*time.Second)

	// The visitor minimises: on another page within 24 hours no prompt
	// shows and no trigger opens the chat; the launcher still works.
	runT(t, tab, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=close]')`)))
	waitJS(t, tab, "the window minimised", winClosed, 5*time.Second)
	if c := evalString(t, tab, `document.cookie`); !strings.Contains(c, "hide-welcome-message=1") {
		t.Fatalf("cookies after minimising: %q", c)
	}
	runT(t, tab, chromedp.Navigate(s.Host()+"/demo/"))
	waitJS(t, tab, "the widget on another page", ready, 20*time.Second)
	runT(t, tab, js(`document.dispatchEvent(new MouseEvent('mouseout', {clientX: 300, clientY: -2, bubbles: true}))`))
	widgetCaughtUp(t, tab)
	if !evalBool(t, tab, `!(`+promptOpen+`) && `+winClosed+` && `+launcherShown) {
		t.Fatal("a prompt or the chat showed after minimising, or the launcher is gone")
	}

	// Prompt on desktop, launcher only on mobile: a phone-sized touch
	// viewport gets the mobile behaviour, and the chat fills the screen.
	patchFlow(t, s, id, map[string]any{"look": map[string]any{"show_close_button": false},
		"display": map[string]any{"desktop": "prompt", "mobile": "launcher_only", "triggers": map[string]any{}}})
	desk := Tab(t)
	runT(t, desk, chromedp.Navigate(s.Host()+"/demo/long.html"))
	waitJS(t, desk, "the desktop prompt", ready+` && `+promptOpen+` && `+launcherShown, 20*time.Second)
	phone := Tab(t)
	runT(t, phone, chromedp.EmulateViewport(390, 800, chromedp.EmulateMobile, chromedp.EmulateTouch), chromedp.Navigate(s.Host()+"/demo/long.html"))
	waitJS(t, phone, "the mobile widget", ready+` && `+launcherShown, 20*time.Second)
	if d := evalString(t, phone, shadow+`.querySelector('[data-parley=root]').dataset.device`); d != "mobile" {
		t.Fatalf("device %q on a phone", d)
	}
	waitJS(t, phone, "no prompt on mobile", `!(`+promptOpen+`)`, time.Second)
	runT(t, phone, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=launcher]')`)))
	waitJS(t, phone, "the chat across the phone's width", winOpen+` && `+shadow+`.querySelector('[data-parley=window]').getBoundingClientRect().width === innerWidth`, 5*time.Second)
	waitJS(t, phone, "no close button on mobile (hidden by the chatflow)", shadow+`.querySelector('[data-parley=close]').getBoundingClientRect().width === 0`, time.Second)
}

func TestWidgetTargeting(t *testing.T) {
	s := StartSystem(t)
	id, inbox := demoFlow(t, s)
	patchFlow(t, s, id, map[string]any{"targeting": map[string]any{"exclusions": excludePrivacy}})
	before := publishedETag(t, s)
	// A German chatflow with a higher priority for visitors from a German
	// campaign (query parameter) or on German pages (URL rule).
	code, out := liveREST(t, s, "POST", "/api/v1/chatflows", map[string]any{
		"name": "German campaign", "inbox_id": inbox, "channel": "website", "enabled": true, "priority": 10, "language": "de",
		"look":    map[string]any{"accent_color": "#ffd600", "heading": map[string]any{"kind": "brand", "brand_name": "Shop DE"}},
		"welcome": map[string]any{"messages": map[string]any{"de": "Hallo! Wie können wir helfen?"}},
		"targeting": map[string]any{
			"groups": []map[string]any{
				{"rules": []map[string]any{{"kind": "query_param", "op": "is", "name": "utm_source", "value": "de"}}},
				{"rules": []map[string]any{{"kind": "url", "op": "contains", "value": "lang=de"}, {"kind": "device", "op": "is", "value": "desktop"}}},
			},
			"exclusions": excludePrivacy,
		},
	})
	if code != 201 {
		t.Fatalf("create chatflow: %d %s", code, out)
	}
	waitPublished(t, s, before)

	heading := evalStringFn(shadow + `.querySelector('[data-parley=heading-name]').textContent`)
	for _, c := range []struct{ path, heading, send string }{
		{"/demo/long.html", "Parley Demo Shop", "Send"},
		{"/demo/long.html?utm_source=de", "Shop DE", "Senden"},
		{"/demo/long.html?x=1&lang=de", "Shop DE", "Senden"},
		{"/demo/long.html?utm_source=fr", "Parley Demo Shop", "Send"},
	} {
		tab := Tab(t)
		runT(t, tab, chromedp.Navigate(s.Host()+c.path))
		waitJS(t, tab, "the widget on "+c.path, ready, 20*time.Second)
		if h := heading(t, tab); h != c.heading {
			t.Errorf("%s: heading %q, want %q", c.path, h, c.heading)
		}
		if b := evalString(t, tab, shadow+`.querySelector('[data-parley=send]').textContent`); b != c.send {
			t.Errorf("%s: send button %q, want %q", c.path, b, c.send)
		}
	}
	// Black text on the yellow accent: WCAG AA.
	tab := Tab(t)
	runT(t, tab, chromedp.Navigate(s.Host()+"/demo/long.html?utm_source=de"))
	waitJS(t, tab, "the German widget", ready, 20*time.Second)
	if c := evalString(t, tab, `getComputedStyle(`+shadow+`.querySelector('[data-parley=launcher]')).color`); c != "rgb(0, 0, 0)" {
		t.Errorf("launcher text colour on #ffd600: %s", c)
	}

	// The excluded page shows nothing at all.
	runT(t, tab, chromedp.Navigate(s.Host()+"/demo/privacy.html"))
	waitJS(t, tab, "the widget to decide", `window.Parley && Parley.status() === 'hidden'`, 20*time.Second)
	if n := evalString(t, tab, `String(document.querySelectorAll('#parley-widget').length)`); n != "0" {
		t.Fatalf("%s widget elements on the excluded page", n)
	}
}

// widgetCaughtUp dispatches an input event in the widget's message box
// and waits for the userInteractedWithWidget it fires: the widget handles
// the page's events in order, so it has handled every one dispatched
// before. For a widget the visitor has not touched yet (it fires once).
func widgetCaughtUp(t *testing.T, tab context.Context) {
	t.Helper()
	runT(t, tab, js(`window.__caughtUp = false; Parley.on('userInteractedWithWidget', () => { window.__caughtUp = true });
		`+shadow+`.querySelector('[data-parley=input]').dispatchEvent(new Event('input'))`))
	waitJS(t, tab, "the widget past the events before", `window.__caughtUp`, 5*time.Second)
}

func evalStringFn(expr string) func(*testing.T, context.Context) string {
	return func(t *testing.T, ctx context.Context) string { t.Helper(); return evalString(t, ctx, expr) }
}

func TestWidgetJavaScriptAPIAndEvents(t *testing.T) {
	s := StartSystem(t)
	id, _ := demoFlow(t, s)
	patchFlow(t, s, id, map[string]any{"email_capture": map[string]any{"when": "always"}, "targeting": map[string]any{"exclusions": excludePrivacy},
		"display": map[string]any{"desktop": "launcher_only", "mobile": "launcher_only", "triggers": map[string]any{}}})
	visitor, agent := Tab(t), Tab(t)
	signIn(t, agent, s)

	// Wait for load(): nothing but the loader is fetched from the edge
	// (the host page's own files do not count), calls queue.
	runT(t, visitor, chromedp.Navigate(s.Host()+"/demo/long.html?manual"))
	waitJS(t, visitor, "the loader", `window.Parley && Parley.status() === 'not_loaded'`, 10*time.Second)
	// A load starts at once (the status turns "loading"); once the widget
	// is up, every fetch of the edge's but the loader's began after load().
	runT(t, visitor, js(`Parley.open()`))
	if st := evalString(t, visitor, `Parley.status()`); st != "not_loaded" {
		t.Fatalf("status %q after open() before load()", st)
	}
	runT(t, visitor, js(`window.__loadAt = performance.now(); Parley.load()`))
	waitJS(t, visitor, "widgetLoaded and the queued open()", ready+` && `+winOpen+` && __events.some(e => e.name === 'widgetLoaded')`, 20*time.Second)
	if r := evalString(t, visitor, `performance.getEntriesByType('resource').filter(e => !e.name.startsWith(location.origin) && !e.name.endsWith('/loader.js') && e.startTime < __loadAt).map(e => e.name).join(' ')`); r != "" {
		t.Fatalf("fetched before Parley.load(): %s", r)
	}

	// close() and open() work and closing tells the page.
	runT(t, visitor, js(`Parley.close()`))
	waitJS(t, visitor, "closed by the API", winClosed+` && __events.some(e => e.name === 'widgetClosed')`, 5*time.Second)
	if c := evalString(t, visitor, `document.cookie`); strings.Contains(c, "hide-welcome-message") {
		t.Fatal("the page's close() minimised for the visitor")
	}
	runT(t, visitor, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=launcher]')`)))
	waitJS(t, visitor, "opened by the launcher, interaction reported", winOpen+` && __events.some(e => e.name === 'userInteractedWithWidget')`, 5*time.Second)

	// A message starts a conversation; the email left associates a contact.
	visitorSays(t, visitor, "Hello from the API test")
	waitJS(t, visitor, "conversationStarted", `__events.some(e => e.name === 'conversationStarted' && e.data.conversation)`, 10*time.Second)
	emailInput := chromedp.JSPath(shadow + `.querySelector('[data-parley=email-input]')`)
	waitJS(t, visitor, "the email form", `!`+shadow+`.querySelector('[data-parley=email-form]').hidden`, 5*time.Second)
	runT(t, visitor, chromedp.SendKeys(emailInput, "api@example.com"), chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=email-send]')`)))
	waitJS(t, visitor, "contactAssociated", `__events.some(e => e.name === 'contactAssociated' && e.data.email === 'api@example.com')`, 10*time.Second)

	// An agent's reply while the chat is closed is unread: badge and event.
	runT(t, visitor, js(`Parley.close()`))
	waitJS(t, agent, "the conversation in the list", `document.querySelector('[data-conversation]')`, 10*time.Second)
	runT(t, agent, chromedp.Click(chromedp.CSS(`[data-conversation]`)))
	waitJS(t, agent, "the message in the thread", threadHas("Hello from the API test"), 10*time.Second)
	runT(t, agent,
		chromedp.SendKeys(chromedp.CSS(`#reply textarea[name=text]`), "An answer you have not seen"),
		chromedp.Click(chromedp.CSS(`#reply [data-action=send]`)),
	)
	waitJS(t, visitor, "one unread conversation", `__events.some(e => e.name === 'unreadConversationCountChanged' && e.data.unreadCount === 1)`, 10*time.Second)
	waitJS(t, visitor, "the badge", `(b => !b.hidden && b.textContent === '1')(`+shadow+`.querySelector('[data-parley=badge]'))`, 5*time.Second)
	runT(t, visitor, js(`Parley.open()`))
	waitJS(t, visitor, "read: none unread", `__events.some(e => e.name === 'unreadConversationCountChanged' && e.data.unreadCount === 0)`, 5*time.Second)

	// The agent closes the conversation; the visitor's next message finds it closed.
	runT(t, agent, chromedp.Click(chromedp.CSS(`[data-action=close]`)))
	waitJS(t, agent, "the reopen button", `document.querySelector('[data-action=reopen]')`, 10*time.Second)
	visitorSays(t, visitor, "One more thing")
	waitJS(t, visitor, "conversationClosed", `__events.some(e => e.name === 'conversationClosed')`, 10*time.Second)

	// off() stops a handler; refresh() re-targets after an SPA navigation;
	// remove() takes the widget away and load() brings it back.
	runT(t, visitor, js(`window.__offCount = 0; window.__h = () => __offCount++; Parley.on('widgetClosed', __h); Parley.off('widgetClosed', __h); Parley.close()`))
	waitJS(t, visitor, "closed", winClosed, 5*time.Second)
	if n := evalString(t, visitor, `String(__offCount)`); n != "0" {
		t.Fatalf("a handler removed with off() ran %s times", n)
	}
	runT(t, visitor, js(`history.pushState({}, '', '/demo/privacy.html'); Parley.refresh()`))
	waitJS(t, visitor, "hidden on an excluded URL after refresh()", `Parley.status() === 'hidden' && !document.getElementById('parley-widget')`, 10*time.Second)
	runT(t, visitor, js(`history.pushState({}, '', '/demo/long.html'); Parley.refresh()`))
	waitJS(t, visitor, "back after refresh()", ready+` && document.getElementById('parley-widget')`, 10*time.Second)
	runT(t, visitor, js(`Parley.remove()`))
	waitJS(t, visitor, "removed", `Parley.status() === 'removed' && !document.getElementById('parley-widget')`, 5*time.Second)
	runT(t, visitor, js(`Parley.load()`))
	waitJS(t, visitor, "loaded again", ready+` && document.getElementById('parley-widget')`, 10*time.Second)
	t.Logf("events: %s", events(t, visitor))
}

func TestWidgetRobustnessAndAccessibility(t *testing.T) {
	s := StartSystem(t)
	id, _ := demoFlow(t, s)
	patchFlow(t, s, id, display("prompt", "prompt", map[string]any{}))

	// The page's own control where the closed window would be still takes clicks.
	tab := Tab(t)
	runT(t, tab, chromedp.Navigate(s.Host()+"/demo/long.html"))
	waitJS(t, tab, "the widget", ready+` && `+launcherShown, 20*time.Second)
	runT(t, tab, chromedp.Click(chromedp.CSS(`#under`)))
	waitJS(t, tab, "the page's button clicked", `document.getElementById('under').textContent === 'Clicked'`, 5*time.Second)

	// The page's CSS cannot hide or restyle the widget.
	hostile := Tab(t)
	runT(t, hostile, chromedp.Navigate(s.Host()+"/demo/long.html?hostile"))
	waitJS(t, hostile, "the widget despite hostile CSS", ready+` && `+launcherShown, 20*time.Second)
	if fs := evalString(t, hostile, `getComputedStyle(`+shadow+`.querySelector('[data-parley=send]')).fontSize`); fs != "14px" {
		t.Errorf("font size inside the widget %s under hostile CSS", fs)
	}

	// Inline embedding: the chat sits open in the page's element.
	inline := Tab(t)
	runT(t, inline, chromedp.Navigate(s.Host()+"/demo/long.html?inline"))
	waitJS(t, inline, "the inline chat", ready+` && document.querySelector('#embed > #parley-widget') && `+winOpen, 20*time.Second)

	// A repeat visit downloads no wasm bytes (immutable, content-hashed URL).
	runT(t, tab, chromedp.Navigate(s.Host()+"/demo/"))
	waitJS(t, tab, "the widget again", ready, 20*time.Second)
	if w := evalString(t, tab, `performance.getEntriesByType('resource').filter(e => e.name.endsWith('.wasm')).map(e => e.name + ' ' + e.transferSize).join()`); !strings.HasSuffix(w, " 0") {
		t.Errorf("repeat visit: wasm %q, want 0 bytes transferred", w)
	}

	// If the wasm cannot load, the page carries on and status() says so.
	broken := Tab(t)
	runT(t, broken, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if err := tg.Call(ctx, "Network.enable", map[string]any{}, nil); err != nil {
			return err
		}
		return tg.Call(ctx, "Network.setBlockedURLs", map[string]any{"urls": []string{"*.wasm"}}, nil)
	}), chromedp.Navigate(s.Host()+"/demo/long.html"))
	waitJS(t, broken, "status failed", `Parley.status() === 'failed'`, 20*time.Second)
	runT(t, broken, js(`Parley.open(); Parley.close(); Parley.refresh()`), chromedp.Click(chromedp.CSS(`#under`)))
	waitJS(t, broken, "the page still working", `document.getElementById('under').textContent === 'Clicked'`, 5*time.Second)

	// Keyboard: Tab reaches the launcher, Enter opens, Escape closes.
	runT(t, tab, js(shadow+`.querySelector('[data-parley=launcher]').focus()`), chromedp.KeyEvent("\r"))
	waitJS(t, tab, "opened from the keyboard", winOpen+` && `+shadow+`.activeElement === `+shadow+`.querySelector('[data-parley=input]')`, 5*time.Second)

	// axe-core finds no serious or critical violation in the open widget.
	axe := axeCore(t)
	runT(t, tab, js(axe))
	res, err := chromedp.Run(tab, chromedp.Evaluate[string](`axe.run(document.getElementById('parley-widget'), {resultTypes: ['violations']}).then(r =>
		r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join('; ')).join('\n'))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if res != "" {
		t.Fatalf("axe-core violations in the open widget:\n%s", res)
	}
	runT(t, tab, chromedp.KeyEvent("\x1b"))
	waitJS(t, tab, "closed with Escape", winClosed, 5*time.Second)
}

// axeCore returns axe.min.js from npm, installed once into a temporary
// folder (never into the repository).
func axeCore(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "parley-axe-core")
	file := filepath.Join(dir, "node_modules", "axe-core", "axe.min.js")
	if _, err := os.Stat(file); err != nil {
		npm, err := exec.LookPath("npm")
		if err != nil {
			t.Fatal("npm is needed for the accessibility check (Debian: apt-get install npm)")
		}
		if out, err := exec.Command(npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", dir, "axe-core@4").CombinedOutput(); err != nil {
			t.Fatalf("npm install axe-core: %v\n%s", err, out)
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestChatflowPreview(t *testing.T) {
	s := StartSystem(t)
	id, _ := demoFlow(t, s)
	// Unpublished, with targeting that would hide it: the preview shows it anyway.
	patchFlow(t, s, id, map[string]any{"enabled": false, "language": "fr", "look": map[string]any{"accent_color": "#aa3300"},
		"targeting": map[string]any{"exclusions": []map[string]any{{"kind": "url", "op": "contains", "value": "/"}}}})
	admin := Tab(t)
	signIn(t, admin, s)
	runT(t, admin, chromedp.Navigate(fmt.Sprintf("%s/inbox/chatflows/%d/preview/", s.Edge, id)))
	frames := `[...document.querySelectorAll('iframe')]`
	waitJS(t, admin, "three frames with the widget", frames+`.length === 3 && `+frames+`.every(f => f.contentWindow.Parley && f.contentWindow.Parley.status() === 'ready')`, 30*time.Second)
	devices := evalString(t, admin, frames+`.map(f => f.contentDocument.getElementById('parley-widget').shadowRoot.querySelector('[data-parley=root]').dataset.device).join()`)
	if devices != "desktop,desktop,mobile" {
		t.Errorf("devices in the frames %q", devices)
	}
	if b := evalString(t, admin, frames+`[0].contentDocument.getElementById('parley-widget').shadowRoot.querySelector('[data-parley=send]').textContent`); b != "Envoyer" {
		t.Errorf("the preview's send button %q, want the chatflow's French", b)
	}

	// An agent may not preview.
	code, out := liveREST(t, s, "POST", "/api/v1/users", map[string]any{"email": "plain@demo.parley.test", "name": "Plain Agent",
		"role": "agent", "has_seat": true, "password": "correct horse battery"})
	if code != 201 {
		t.Fatalf("create agent: %d %s", code, out)
	}
	agent := Tab(t)
	runT(t, agent,
		chromedp.Navigate(s.Edge+"/inbox/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "plain@demo.parley.test"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "correct horse battery"),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
	)
	waitJS(t, agent, "the inbox", `location.pathname.startsWith('/inbox')  && !location.pathname.includes('login')`, 10*time.Second)
	st, err := chromedp.Run(agent, chromedp.Evaluate[float64](fmt.Sprintf(`fetch('/inbox/chatflows/%d/preview/config').then(r => r.status)`, id), chromedp.EvalAwaitPromise))
	if err != nil || st != 403 {
		t.Fatalf("an agent's preview config: %v %v, want 403", st, err)
	}
}

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/parleychat/parley/internal/hostpage"
)

// strictCSP is the policy of the README's install section: the host
// page's own sources plus exactly what the widget needs from the edge.
func strictCSP(edge string) string {
	u, _ := url.Parse(edge)
	ws := "ws://" + u.Host
	if u.Scheme == "https" {
		ws = "wss://" + u.Host
	}
	return "default-src 'self'; script-src 'self' " + edge + " 'wasm-unsafe-eval'; connect-src 'self' " + edge + " " + ws +
		"; img-src 'self' " + edge + "; style-src 'self' " + edge + "; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
}

// helpCentre gives the demo chatflow a published article, the Help tab
// and file uploads.
func helpCentre(t *testing.T, s *System) {
	t.Helper()
	id, _ := demoFlow(t, s)
	kb := restID(t, s, "/api/v1/knowledge-bases", map[string]any{"name": "Help centre", "language": "en"})
	kbPath := fmt.Sprintf("/api/v1/knowledge-bases/%d", kb)
	cat := restID(t, s, kbPath+"/categories", map[string]any{"name": "Orders"})
	restID(t, s, kbPath+"/articles", map[string]any{"title": "Returning an order", "category_id": cat, "published": true,
		"body": "You can return any order within **30 days** for a full refund."})
	patchFlow(t, s, id, map[string]any{"options": map[string]any{"knowledge_base_id": kb, "help_tab": true, "attachments": true}})
}

// consoleOf records everything the tab writes to its console.
type consoleOf struct {
	mu   sync.Mutex
	msgs []string
}

func recordConsole(t *testing.T, tab context.Context) *consoleOf {
	t.Helper()
	c := &consoleOf{}
	ctx, cancel := context.WithCancel(tab)
	t.Cleanup(cancel)
	seq := chromedp.Console(ctx)
	go func() {
		for m, err := range seq {
			if err != nil {
				return
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, string(m.Type)+": "+m.Text)
			c.mu.Unlock()
		}
	}()
	return c
}

// enableLog makes the browser report its own console entries (blocked
// requests, policy violations), not only the page's console calls.
func enableLog(t *testing.T, tab context.Context) {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		return tg.Call(ctx, "Log.enable", map[string]any{}, nil)
	})); err != nil {
		t.Fatal(err)
	}
}

func (c *consoleOf) has(s string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.msgs {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

func (c *consoleOf) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.msgs, "\n")
}

func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// chatFromHost is what a visitor does on a site of another origin than
// the edge: the widget loads, they chat with an agent both ways, send a
// file and search the Help tab; the page's policy is never violated.
func chatFromHost(t *testing.T, s *System, host string) {
	t.Helper()
	if strings.HasPrefix(host, s.Edge) {
		t.Fatalf("host page %s is on the edge's origin", host)
	}
	visitor, agent := Tab(t), Tab(t)
	if strings.HasPrefix(host, "https://") || strings.HasPrefix(s.Edge, "https://") {
		for _, tab := range []context.Context{visitor, agent} {
			acceptTestCert(t, tab)
		}
	}
	signIn(t, agent, s)
	runT(t, visitor, chromedp.Navigate(host+"/demo/long.html"))
	openWidget(t, visitor)
	visitorSays(t, visitor, "hello from another origin")
	waitJS(t, visitor, "the message stored", storedMessage, 10*time.Second)

	waitJS(t, agent, "the conversation in the list", `document.querySelector('[data-conversation]')`, 10*time.Second)
	runT(t, agent, chromedp.Click(chromedp.CSS(`[data-conversation]`)))
	waitJS(t, agent, "the message in the thread", threadHas("hello from another origin"), 10*time.Second)
	runT(t, agent,
		chromedp.SendKeys(chromedp.CSS(`#reply textarea[name=text]`), "Hello back across origins"),
		chromedp.Click(chromedp.CSS(`#reply [data-action=send]`)),
	)
	waitJS(t, visitor, "the agent's reply", widgetHas("agent", "Hello back across origins"), 10*time.Second)

	// A file up (with its preflight) and down again.
	runT(t, visitor, pickFile("receipt.png", "image/png", `[137,80,78,71,13,10,26,10,0,0,0,13,73,72,68,82,0,0,0,1,0,0,0,1,8,6,0,0,0]`))
	waitJS(t, visitor, "the file in the widget", `[...`+shadow+`.querySelectorAll('[data-parley=file-link]')].some(a => a.textContent.includes('receipt.png'))`, 10*time.Second)
	waitJS(t, agent, "the file in the agent's thread", threadHas("receipt.png"), 10*time.Second)
	// The download goes through the widget (the visitor token rides in a
	// header): the file arrives as a blob the page hands to the browser.
	runT(t, visitor, js(`window.__blobs = []; const mk = URL.createObjectURL; URL.createObjectURL = b => { window.__blobs.push(b.size); return mk(b) }`))
	runT(t, visitor, chromedp.Click(chromedp.JSPath(`[...`+shadow+`.querySelectorAll('[data-parley=file-link]')].find(a => a.textContent.includes('receipt.png'))`)))
	waitJS(t, visitor, "the downloaded file", `window.__blobs.includes(29)`, 10*time.Second)

	// The Help tab's search, cross-origin too.
	runT(t, visitor, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=tab-help]')`)))
	runT(t, visitor, chromedp.SendKeys(chromedp.JSPath(shadow+`.querySelector('[data-parley=help-search]')`), "refund"))
	list := shadow + `.querySelector('[data-parley=help-list]')`
	waitJS(t, visitor, "the search result", list+`.textContent.includes('Returning an order')`, 10*time.Second)

	if st := evalString(t, visitor, `Parley.status()`); st != "ready" {
		t.Errorf("Parley.status() = %q", st)
	}
	if v := evalString(t, visitor, `JSON.stringify(window.__cspViolations)`); v != "[]" {
		t.Errorf("the page's Content-Security-Policy was violated: %s", v)
	}
}

// acceptTestCert tells the tab's browser to accept the test's own
// certificate (a real site's would chain to a public root).
func acceptTestCert(t *testing.T, tab context.Context) {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		return tg.Call(ctx, "Security.setIgnoreCertificateErrors", map[string]any{"ignore": true}, nil)
	})); err != nil {
		t.Fatal(err)
	}
}

func TestCrossOriginChat(t *testing.T) {
	s := StartSystem(t)
	helpCentre(t, s)
	chatFromHost(t, s, s.Host())
}

// A host page with the README's strict policy and cross-origin isolation
// (COEP require-corp, which needs the edge's CORP header on every file).
func TestCrossOriginChatUnderStrictCSP(t *testing.T) {
	s := StartSystem(t)
	helpCentre(t, s)
	pages := s.HostPages(hostpage.Options{CSP: strictCSP(s.Edge), Header: http.Header{
		"Cross-Origin-Embedder-Policy": {"require-corp"}, "Cross-Origin-Opener-Policy": {"same-origin"}}})
	chatFromHost(t, s, pages.URL)
}

// Host page and edge on two https:// origins; the widget talks wss://.
func TestCrossOriginChatOverHTTPS(t *testing.T) {
	c := StartCluster(t, ClusterOptions{EdgeTLS: true})
	s := &System{Cluster: c, Edge: c.Edges[0].URL}
	helpCentre(t, s)
	pages := s.HostPagesTLS(hostpage.Options{CSP: strictCSP(s.Edge)})
	chatFromHost(t, s, pages.URL)

	// An https page whose tag points at an http edge fails loudly. (By a
	// name: browsers trust http://127.0.0.1 as they trust https.)
	port := c.Edges[0].Addr[strings.LastIndex(c.Edges[0].Addr, ":")+1:]
	plain := s.HostPagesTLS(hostpage.Options{Edge: "http://edge.test:" + port})
	tab := Tab(t)
	acceptTestCert(t, tab)
	console := recordConsole(t, tab)
	enableLog(t, tab)
	runT(t, tab, chromedp.Navigate(plain.URL+"/demo/"))
	waitUntil(t, "a console sentence about the insecure edge", 10*time.Second, func() bool { return console.has("Mixed Content") })
	if evalString(t, tab, `window.Parley ? Parley.status() : 'no Parley'`) == "ready" {
		t.Error("the widget runs from an http edge on an https page")
	}
}

func TestAllowedDomains(t *testing.T) {
	s := StartSystem(t)
	if code, out := liveREST(t, s, "PATCH", "/api/v1/account", map[string]any{"allowed_domains": []string{"*.shop.test"}}); code != 200 {
		t.Fatalf("PATCH allowed_domains: %d %s", code, out)
	}
	port := s.Pages.URL[strings.LastIndex(s.Pages.URL, ":")+1:]
	// The edge enforces the list once its config cache has it.
	waitUntil(t, "the edge to refuse other hosts", 15*time.Second, func() bool {
		req, _ := http.NewRequest("GET", s.Edge+"/v1/sites/"+s.Demo.Site+"/config", nil)
		req.Header.Set("Origin", "http://other.test:"+port)
		res, err := testClient.Do(req)
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusForbidden
	})

	// A page on an allowed subdomain chats.
	allowed := Tab(t)
	runT(t, allowed, chromedp.Navigate("http://eu.shop.test:"+port+"/demo/"))
	openWidget(t, allowed)
	visitorSays(t, allowed, "allowed here")
	waitJS(t, allowed, "the message stored", storedMessage, 10*time.Second)

	count := func() (visitors, convs int) {
		t.Helper()
		if err := s.DB.QueryRow(`SELECT (SELECT count(*) FROM visitors), (SELECT count(*) FROM conversations)`).Scan(&visitors, &convs); err != nil {
			t.Fatal(err)
		}
		return
	}
	v0, c0 := count()

	// A page on another host: no chat, one sentence, nothing stored, no cookie.
	other := Tab(t)
	console := recordConsole(t, other)
	runT(t, other, chromedp.Navigate("http://other.test:"+port+"/demo/"))
	waitJS(t, other, "the widget to give up", `window.Parley && Parley.status() === 'failed'`, 20*time.Second)
	waitUntil(t, "the console sentence", 5*time.Second, func() bool { return console.has("not allowed on http://other.test:" + port) })
	if n := evalString(t, other, `String(document.querySelectorAll('#parley-widget').length)`); n != "0" {
		t.Errorf("%s widgets on a refused page", n)
	}
	noIdentifiers(t, "a refused page", readJar(t, other))
	// The same host as a bare name is not under the wildcard either.
	bare := Tab(t)
	runT(t, bare, chromedp.Navigate("http://shop.test:"+port+"/demo/"))
	waitJS(t, bare, "the widget to give up on shop.test", `window.Parley && Parley.status() === 'failed'`, 20*time.Second)

	// A script that skips the config and says hello anyway is refused too.
	for _, origin := range []string{"http://other.test:" + port, "null", "garbage", "http://eu.shop.test.evil.test"} {
		code, reason := helloFrom(t, s, origin)
		if code != 4401 {
			t.Errorf("hello from Origin %q: close %d %q, want 4401", origin, code, reason)
		}
	}
	if code, _ := helloFrom(t, s, "http://a.shop.test:"+port); code != 0 {
		t.Errorf("hello from an allowed origin closed with %d", code)
	}
	if code, _ := helloFrom(t, s, ""); code != 0 { // an app
		t.Errorf("hello without an Origin closed with %d", code)
	}
	if v, c := count(); v != v0+2 || c != c0 {
		// The allowed page and the app each made a visitor; nothing else.
		t.Errorf("visitors %d → %d, conversations %d → %d", v0, v, c0, c)
	}
}

// helloFrom opens /ws with the given Origin header (none when empty),
// says hello for the demo chatflow and returns the close code the server
// ends it with (0 when it welcomed the visitor).
func helloFrom(t *testing.T, s *System, origin string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.Edge, "http")+"/ws", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatalf("dial with Origin %q: %v", origin, err)
	}
	defer c.CloseNow()
	hello := fmt.Sprintf(`{"type":"hello","v":1,"site":%q,"chatflow":%q,"page":"http://a.shop.test/"}`, s.Demo.Site, s.Demo.ChatflowID)
	if err := c.Write(ctx, websocket.MessageText, []byte(hello)); err != nil {
		t.Fatal(err)
	}
	for {
		_, msg, err := c.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if ok := asClose(err, &ce); ok {
				return int(ce.Code), ce.Reason
			}
			t.Fatalf("reading with Origin %q: %v", origin, err)
		}
		if strings.Contains(string(msg), `"type":"welcome"`) {
			return 0, ""
		}
	}
}

func asClose(err error, ce *websocket.CloseError) bool {
	code := websocket.CloseStatus(err)
	if code == -1 {
		return false
	}
	ce.Code = code
	ce.Reason = err.Error()
	return true
}

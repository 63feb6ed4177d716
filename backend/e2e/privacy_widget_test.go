package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/backend/internal/identity"
	"github.com/parleychat/parley/backend/internal/store"
)

// Issue 5's browser checks on the widget: what it stores before and after
// the cookie banner, an identified visitor (and three bad tokens), the
// explicit data-processing consent, and consent texts holding markup.

// jar is everything the widget could keep in the browser: the cookies of
// both origins it touches, the host page's and the edge's (read over the
// DevTools protocol, HttpOnly ones too; the edge's would be third-party
// cookies set by its answers), and the page's localStorage, sessionStorage
// and IndexedDB databases. The edge's origin has no storage to read: no
// document of it ever runs in a visitor's browser.
type jar struct {
	Cookies map[string]string
	Local   map[string]string
	Session map[string]string
	IDB     []string
}

func (j jar) String() string { b, _ := json.Marshal(j); return string(b) }

// holds reports whether any stored name or value contains s.
func (j jar) holds(s string) bool { return s != "" && strings.Contains(j.String(), s) }

func readJar(t *testing.T, ctx context.Context) jar {
	t.Helper()
	var j jar
	var res struct { // decoded with encoding/json/v2: case-sensitive names
		Cookies []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"cookies"`
	}
	// Network.getCookies on the page's target answers from the tab's own
	// browser context (HttpOnly cookies included), for the page's URL.
	page := evalString(t, ctx, `location.href`)
	edge := evalString(t, ctx, `(() => { const s = document.querySelector('script[data-site]'); return s ? new URL(s.src).origin : '' })()`)
	if edge == "" || strings.HasPrefix(page, edge+"/") {
		t.Fatalf("the host page %s must be on another origin than the edge %q", page, edge)
	}
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if err := tg.Call(ctx, "Network.enable", map[string]any{}, nil); err != nil {
			return err
		}
		return tg.Call(ctx, "Network.getCookies", map[string]any{"urls": []string{page, edge + "/"}}, &res)
	})); err != nil {
		t.Fatal(err)
	}
	j.Cookies = map[string]string{}
	for _, c := range res.Cookies {
		j.Cookies[c.Name] = c.Value
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => JSON.stringify({
		Local: Object.fromEntries(Object.entries(localStorage)),
		Session: Object.fromEntries(Object.entries(sessionStorage)),
		IDB: (await indexedDB.databases()).map(d => d.name)}))()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatal(err)
	}
	return j
}

// noIdentifiers fails unless the jar holds nothing but the widget's two
// constant-valued cookies (and nothing of the given secrets).
func noIdentifiers(t *testing.T, when string, j jar, secrets ...string) {
	t.Helper()
	for name, v := range j.Cookies {
		if !(name == "hide-welcome-message" && v == "1" || name == "parley-cookie-consent" && (v == "granted" || v == "refused")) {
			t.Errorf("%s: cookie %s=%s", when, name, v)
		}
	}
	if len(j.Local)+len(j.Session)+len(j.IDB) > 0 {
		t.Errorf("%s: storage %s", when, j)
	}
	for _, s := range secrets {
		if j.holds(s) {
			t.Errorf("%s: %q is stored: %s", when, s, j)
		}
	}
}

// latestConversation is the newest conversation's public id and contact.
func latestConversation(t *testing.T, s *System) (public string, contact *int64) {
	t.Helper()
	if err := s.DB.QueryRow(`SELECT public_id, contact_id FROM conversations ORDER BY id DESC LIMIT 1`).Scan(&public, &contact); err != nil {
		t.Fatal(err)
	}
	return public, contact
}

// waitREST polls an admin REST GET until its body holds every want.
func waitREST(t *testing.T, s *System, path string, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := liveREST(t, s, "GET", path, nil)
		ok := code == 200
		for _, w := range want {
			ok = ok && strings.Contains(body, w)
		}
		if ok {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %d %s, want %q", path, code, body, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// openWidget opens the chat on the page.
func openWidget(t *testing.T, tab context.Context) {
	t.Helper()
	waitJS(t, tab, "the widget", ready, 20*time.Second)
	runT(t, tab, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=launcher]')`)))
	waitJS(t, tab, "the chat window", winOpen, 5*time.Second)
}

const banner = shadow + `.querySelector('[data-parley=cookie]')`

func TestWidgetCookieConsentAndStorage(t *testing.T) {
	s := StartSystem(t)

	// Before any answer: the banner shows and the chat works, in memory only.
	tab := Tab(t)
	runT(t, tab, chromedp.Navigate(s.Host()+"/demo/"))
	openWidget(t, tab)
	waitJS(t, tab, "the cookie banner", `!`+banner+`.hidden && `+banner+`.textContent.includes('Accept')`, 5*time.Second)
	visitorSays(t, tab, "Asked before any consent")
	waitJS(t, tab, "the message stored", `[...`+shadow+`.querySelectorAll('[data-parley=message][data-from=visitor]')].some(m => m.dataset.state === 'sent')`, 10*time.Second)
	conv, _ := latestConversation(t, s)
	noIdentifiers(t, "before consent", readJar(t, tab), conv)

	// Accepting stores the chat; the conversation follows to another page.
	runT(t, tab, chromedp.Click(chromedp.JSPath(banner+`.querySelector('[data-parley=cookie-accept]')`)))
	waitJS(t, tab, "the banner gone", banner+`.hidden`, 5*time.Second)
	j := readJar(t, tab)
	if j.Cookies["parley-cookie-consent"] != "granted" || !strings.Contains(j.Local["parley-chat:demo"], conv) {
		t.Fatalf("after accepting: %s (document.cookie %q)", j, evalString(t, tab, `document.cookie`))
	}
	waitREST(t, s, "/api/v1/consents", `"kind":"cookie"`, `"decision":"granted"`)
	runT(t, tab, chromedp.Navigate(s.Host()+"/demo/long.html"))
	openWidget(t, tab)
	waitJS(t, tab, "the conversation on the next page", widgetHas("visitor", "Asked before any consent"), 10*time.Second)
	waitJS(t, tab, "no banner once accepted", banner+`.hidden`, time.Second)

	// Declining is one click too, and is remembered without an identifier.
	other := Tab(t)
	runT(t, other, chromedp.Navigate(s.Host()+"/demo/"))
	openWidget(t, other)
	waitJS(t, other, "the cookie banner", `!`+banner+`.hidden`, 5*time.Second)
	runT(t, other, chromedp.Click(chromedp.JSPath(banner+`.querySelector('[data-parley=cookie-decline]')`)))
	waitJS(t, other, "the banner gone", banner+`.hidden`, 5*time.Second)
	visitorSays(t, other, "Declined but chatting")
	waitJS(t, other, "the message stored", `[...`+shadow+`.querySelectorAll('[data-parley=message][data-from=visitor]')].some(m => m.dataset.state === 'sent')`, 10*time.Second)
	conv2, _ := latestConversation(t, s)
	j = readJar(t, other)
	noIdentifiers(t, "after declining", j, conv2)
	if j.Cookies["parley-cookie-consent"] != "refused" {
		t.Fatalf("the refusal is not remembered: %s", j)
	}
	runT(t, other, chromedp.Navigate(s.Host()+"/demo/long.html"))
	openWidget(t, other)
	// A new message's acknowledgement comes after the widget's welcome,
	// and so after any history of a conversation carried over.
	visitorSays(t, other, "A new page, a new chat")
	waitJS(t, other, "the new page's message stored", `[...`+shadow+`.querySelectorAll('[data-parley=message][data-from=visitor]')].some(m => m.dataset.state === 'sent' && m.textContent.includes('A new page, a new chat'))`, 10*time.Second)
	if !evalBool(t, other, banner+`.hidden && !(`+widgetHas("visitor", "Declined but chatting")+`)`) {
		t.Fatal("a banner after declining, or the conversation carried over")
	}
	var carried int
	if err := s.DB.Get(&carried, `SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id
		WHERE c.public_id = $1 AND m.body = 'A new page, a new chat'`, conv2); err != nil || carried != 0 {
		t.Fatalf("the new page's message went to the declined page's conversation (%d, %v)", carried, err)
	}
	noIdentifiers(t, "on the next page after declining", readJar(t, other), conv2)
	var refusedAnon int
	if err := s.DB.Get(&refusedAnon, `SELECT count(*) FROM consents WHERE kind = 'cookie' AND decision = 'refused' AND visitor_id IS NULL`); err != nil || refusedAnon != 1 {
		t.Fatalf("%d anonymous cookie refusals recorded (%v)", refusedAnon, err)
	}
}

// withSettings makes every page of the tab set window.ParleySettings (and
// record console warnings in window.__warns) before its scripts run.
func withSettings(t *testing.T, tab context.Context, settings map[string]any) {
	t.Helper()
	b, _ := json.Marshal(settings)
	src := `window.ParleySettings = ` + string(b) + `; window.__warns = [];
		const w = console.warn.bind(console); console.warn = (...a) => { window.__warns.push(a.join(' ')); w(...a); };`
	if err := chromedp.Do(tab, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		return tg.Call(ctx, "Page.addScriptToEvaluateOnNewDocument", map[string]any{"source": src}, nil)
	})); err != nil {
		t.Fatal(err)
	}
}

func TestWidgetIdentification(t *testing.T) {
	s := StartSystem(t)
	ctx := context.Background()
	demo, err := s.Store.AccountBySite(ctx, s.Demo.Site)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(acct int64, email string) string {
		tok, err := identity.Issue(ctx, s.Store, acct, identity.Request{Email: email, Name: "Ida", Properties: map[string]any{"plan": "gold"}})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Token
	}
	good := issue(demo.ID, "ida@example.com")

	// The identified visitor: no banner, nothing stored at any point, the
	// conversation on the contact.
	tab := Tab(t)
	withSettings(t, tab, map[string]any{"identificationEmail": "ida@example.com", "identificationToken": good})
	runT(t, tab, chromedp.Navigate(s.Host()+"/demo/"))
	waitJS(t, tab, "the widget", ready, 20*time.Second)
	noIdentifiers(t, "identified, loaded", readJar(t, tab), good)
	openWidget(t, tab)
	visitorSays(t, tab, "Hello as Ida")
	waitJS(t, tab, "the message stored", `[...`+shadow+`.querySelectorAll('[data-parley=message][data-from=visitor]')].some(m => m.dataset.state === 'sent')`, 10*time.Second)
	waitJS(t, tab, "no banner for an identified visitor", banner+`.hidden`, time.Second)
	conv, contact := latestConversation(t, s)
	var email string
	if contact == nil || s.DB.Get(&email, `SELECT email FROM contacts WHERE id = $1`, *contact) != nil || email != "ida@example.com" {
		t.Fatalf("the identified conversation's contact: %v %q", contact, email)
	}
	noIdentifiers(t, "identified, chatting", readJar(t, tab), good, conv)
	if w := evalString(t, tab, `window.__warns.join('|')`); strings.Contains(w, "Parley") {
		t.Errorf("warnings for a good token: %s", w)
	}

	// Bad tokens: another account's, an expired one, another email's. Each
	// gives an anonymous chat with a console warning, never an error.
	other := &store.Account{Name: "Other shop"}
	if err := s.Store.CreateAccount(ctx, other); err != nil {
		t.Fatal(err)
	}
	foreign := issue(other.ID, "ida@example.com")
	expired := issue(demo.ID, "ida@example.com")
	if _, err := s.DB.Exec(`UPDATE identification_tokens SET expires_at = now() - interval '1 hour'
		WHERE created_at = (SELECT max(created_at) FROM identification_tokens WHERE account_id = $1)`, demo.ID); err != nil {
		t.Fatal(err)
	}
	otherEmail := issue(demo.ID, "someone.else@example.com")
	for name, tok := range map[string]string{"another account's token": foreign, "an expired token": expired, "another email's token": otherEmail} {
		tab := Tab(t)
		withSettings(t, tab, map[string]any{"identificationEmail": "ida@example.com", "identificationToken": tok})
		runT(t, tab, chromedp.Navigate(s.Host()+"/demo/"))
		waitJS(t, tab, name+": the console warning", `window.__warns.some(w => w.startsWith('Parley:'))`, 20*time.Second)
		openWidget(t, tab)
		waitJS(t, tab, name+": the cookie banner of an anonymous visitor", `!`+banner+`.hidden`, 5*time.Second)
		msg := "Anonymous with " + name
		visitorSays(t, tab, msg)
		waitJS(t, tab, name+": the message stored", `[...`+shadow+`.querySelectorAll('[data-parley=message][data-from=visitor]')].some(m => m.dataset.state === 'sent')`, 10*time.Second)
		var contact *int64
		if err := s.DB.QueryRow(`SELECT c.contact_id FROM conversations c JOIN messages m ON m.conversation_id = c.id WHERE m.body = $1`, msg).Scan(&contact); err != nil || contact != nil {
			t.Errorf("%s: the conversation's contact %v (%v), want none", name, contact, err)
		}
		t.Logf("%s: %s", name, evalString(t, tab, `window.__warns.join(' | ')`))
	}
}

func TestWidgetExplicitConsentAndMarkup(t *testing.T) {
	s := StartSystem(t)
	id, _ := demoFlow(t, s)
	patchFlow(t, s, id, map[string]any{"options": map[string]any{"data_consent": map[string]any{"enabled": true, "type": "explicit",
		"text":        `We process <b>your</b> messages <img src=x onerror="window.pwned=1"> to answer you. See our {privacy_policy}.`,
		"privacy_url": "https://example.com/privacy"}}})

	visitor, agent := Tab(t), Tab(t)
	runT(t, visitor, chromedp.Navigate(s.Host()+"/demo/"))
	openWidget(t, visitor)
	data := shadow + `.querySelector('[data-parley=data-text]')`
	waitJS(t, visitor, "the notice with its markup as text", `(e => !e.hidden && e.textContent.includes('<b>your</b>') && e.textContent.includes('<img src=x'))(`+data+`)`, 5*time.Second)
	if n := evalString(t, visitor, `String(`+data+`.querySelectorAll('b,img,script').length)`); n != "0" {
		t.Fatalf("%s elements made from the consent text", n)
	}
	if h := evalString(t, visitor, `[...`+data+`.querySelectorAll('a')].map(a => a.href).join()`); h != "https://example.com/privacy" {
		t.Fatalf("privacy links %q", h)
	}
	send := shadow + `.querySelector('[data-parley=send]')`
	waitJS(t, visitor, "sending disabled until I agree", send+`.disabled && `+shadow+`.querySelector('[data-parley=input]').disabled`, time.Second)
	runT(t, visitor, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=data-agree]')`)))
	waitJS(t, visitor, "sending enabled", `!`+send+`.disabled`, 5*time.Second)
	visitorSays(t, visitor, "Agreed and asking")
	waitJS(t, visitor, "the message stored", `[...`+shadow+`.querySelectorAll('[data-parley=message][data-from=visitor]')].some(m => m.dataset.state === 'sent')`, 10*time.Second)
	if evalString(t, visitor, `String(window.pwned)`) != "undefined" {
		t.Fatal("the consent text ran script")
	}

	// The record: over REST and beside the conversation in the inbox.
	var convID int64
	if err := s.DB.Get(&convID, `SELECT id FROM conversations ORDER BY id DESC LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	waitREST(t, s, fmt.Sprintf("/api/v1/consents?conversation_id=%d", convID), `"kind":"data_processing"`, `"basis":"explicit"`, `"decision":"granted"`)
	signIn(t, agent, s)
	runT(t, agent, chromedp.Navigate(fmt.Sprintf("%s/inbox/conversations/%d", s.Edge, convID)))
	waitJS(t, agent, "the consent in the side panel", `(p => p && p.textContent.includes('data_processing') && p.textContent.includes('granted'))(document.getElementById('panel-consents'))`, 10*time.Second)

	// A javascript: privacy link (the API refuses one: put it in directly)
	// never becomes a link.
	before := publishedETag(t, s)
	if _, err := s.DB.Exec(`UPDATE chatflows SET settings = jsonb_set(settings, '{options,data_consent,privacy_url}', '"javascript:window.pwned=3"') WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	waitPublished(t, s, before)
	again := Tab(t)
	runT(t, again, chromedp.Navigate(s.Host()+"/demo/"))
	openWidget(t, again)
	waitJS(t, again, "the notice", `!`+data+`.hidden && `+data+`.textContent.includes('We process')`, 5*time.Second)
	if n := evalString(t, again, `String(`+shadow+`.querySelectorAll('a[href^="javascript"], a[href^="JAVASCRIPT"]').length + `+data+`.querySelectorAll('a').length)`); n != "0" {
		t.Fatalf("%s links from a javascript: privacy URL", n)
	}
}

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/backend/internal/seed"
)

// demoIDs are the demo chatflow's and agent's ids.
func demoIDs(t *testing.T, s *System) (cfID, agentID int64) {
	t.Helper()
	if err := s.DB.Get(&cfID, `SELECT id FROM chatflows WHERE public_id = $1`, s.Demo.ChatflowID); err != nil {
		t.Fatal(err)
	}
	if err := s.DB.Get(&agentID, `SELECT id FROM users WHERE email = $1`, s.Demo.AgentEmail); err != nil {
		t.Fatal(err)
	}
	return cfID, agentID
}

// patchChatflow changes the demo chatflow over REST.
func patchChatflow(t *testing.T, s *System, cfID int64, body map[string]any) {
	t.Helper()
	if code, out := liveREST(t, s, "PATCH", fmt.Sprintf("/api/v1/chatflows/%d", cfID), body); code != 200 {
		t.Fatalf("patch chatflow: %d %s", code, out)
	}
}

// everyDay is office hours open all day, every day.
func everyDay() []map[string]any {
	var rs []map[string]any
	for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"} {
		rs = append(rs, map[string]any{"day": d, "start": "00:00", "end": "24:00"})
	}
	return rs
}

// demoNow is the time in the demo account's zone, whose days its office
// hours and reports keep.
func demoNow(t *testing.T) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(seed.Timezone)
	if err != nil {
		t.Fatal(err)
	}
	return time.Now().In(loc)
}

// demoToday is today's date in the demo account's time zone.
func demoToday(t *testing.T) string {
	t.Helper()
	return demoNow(t).Format(time.DateOnly)
}

// openChat loads the demo page in a new tab and opens the chat.
func openChat(t *testing.T, s *System, path string) context.Context {
	t.Helper()
	tab := Tab(t)
	runT(t, tab, chromedp.Navigate(s.Host()+path))
	waitJS(t, tab, "the widget", `window.Parley && Parley.status() === 'ready'`, 20*time.Second)
	runT(t, tab, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=launcher]')`)))
	return tab
}

// A holiday closes the chat: with office hours open every day, today
// (in the account's timezone) marked closed makes the chat offline, with
// the offline message, until the exception is removed.
func TestHolidayClosesTheChat(t *testing.T) {
	s := StartSystem(t)
	cfID, _ := demoIDs(t, s)
	today := demoToday(t)
	patchChatflow(t, s, cfID, map[string]any{"availability": map[string]any{"mode": "office_hours", "office_hours": everyDay(),
		"offline": map[string]any{"behaviour": "away_message", "message": "Closed for the holiday"}}})
	a := openChat(t, s, "/demo/")
	waitJS(t, a, "the chat open", `!`+shadow+`.querySelector('[data-parley=window]').hidden`, 10*time.Second)
	waitJS(t, a, "no offline message on an ordinary day", `!`+widgetShows("presence", "Closed for the holiday"), 5*time.Second)

	patchChatflow(t, s, cfID, map[string]any{"availability": map[string]any{
		"exceptions": []map[string]any{{"date": today, "name": "Holiday", "closed": true}}}})
	waitJS(t, a, "the open widget learns of the holiday", widgetShows("presence", "Closed for the holiday"), 20*time.Second)
	b := openChat(t, s, "/demo/?holiday")
	waitJS(t, b, "a new visitor sees the holiday", widgetShows("presence", "Closed for the holiday"), 20*time.Second)
}

// A bot chatflow follows its own availability choice: outside the office
// hours (a closed date today) a bot that answers around the clock still
// greets a new visitor, while one that follows the office hours leaves
// the chat offline (its launcher hidden here).
func TestBotAvailabilityChoice(t *testing.T) {
	s := StartSystem(t)
	cfID, _ := demoIDs(t, s)
	today := demoToday(t)
	botID := restID(t, s, "/api/v1/bots", map[string]any{"name": "Leads", "template": "lead_qualification"})
	patchChatflow(t, s, cfID, map[string]any{"type": "rule_bot", "options": map[string]any{"bot_id": botID},
		"availability": map[string]any{"mode": "office_hours", "office_hours": everyDay(), "bot": "always",
			"exceptions": []map[string]any{{"date": today, "closed": true}}, "offline": map[string]any{"behaviour": "hide_launcher"}}})

	a := openChat(t, s, "/demo/")
	visitorSays(t, a, "Hi")
	waitJS(t, a, "the bot answering outside the office hours", widgetHas("bot", "What is your name?"), 20*time.Second)

	before := publishedETag(t, s)
	patchChatflow(t, s, cfID, map[string]any{"availability": map[string]any{"bot": "office_hours"}})
	waitPublished(t, s, before) // a page loaded at once may still get the cached config
	b := Tab(t)
	runT(t, b, chromedp.Navigate(s.Host()+"/demo/?later"))
	waitJS(t, b, "the chat offline, as the office hours say", `window.Parley && Parley.status() === 'hidden'`, 20*time.Second)
}

// "Marketing contact": a contact that first chats through a chatflow with
// the option on is marked, and so shows in REST (filterable), in the
// agent's side panel and in the contact's export; a contact that has not
// chatted there is not.
func TestMarketingContactIsMarked(t *testing.T) {
	s := StartSystem(t)
	cfID, _ := demoIDs(t, s)
	patchChatflow(t, s, cfID, map[string]any{"options": map[string]any{"marketing_contacts": true}})
	identify := func(email string) (string, int64) {
		code, out := liveREST(t, s, "POST", "/api/v1/visitor-identification", map[string]any{"email": email})
		if code != 200 && code != 201 {
			t.Fatalf("identification: %d %s", code, out)
		}
		var v struct {
			Token     string `json:"token"`
			ContactID int64  `json:"contact_id"`
		}
		json.Unmarshal([]byte(out), &v)
		return v.Token, v.ContactID
	}
	token, ida := identify("ida@example.com")
	_, bob := identify("bob@example.com") // identified, never chats here

	tab := Tab(t)
	withSettings(t, tab, map[string]any{"identificationEmail": "ida@example.com", "identificationToken": token})
	runT(t, tab, chromedp.Navigate(s.Host()+"/demo/"))
	waitJS(t, tab, "the widget", `window.Parley && Parley.status() === 'ready'`, 20*time.Second)
	openWidget(t, tab)
	visitorSays(t, tab, "Hello from Ida")
	waitJS(t, tab, "the message stored", storedMessage, 10*time.Second)

	list := func(q string) []int64 {
		code, out := liveREST(t, s, "GET", "/api/v1/contacts"+q, nil)
		if code != 200 {
			t.Fatalf("contacts%s: %d %s", q, code, out)
		}
		var v struct {
			Contacts []struct {
				ID        int64 `json:"id"`
				Marketing bool  `json:"marketing"`
			} `json:"contacts"`
		}
		json.Unmarshal([]byte(out), &v)
		var ids []int64
		for _, c := range v.Contacts {
			ids = append(ids, c.ID)
		}
		return ids
	}
	waitFor(t, "Ida listed as a marketing contact", 10*time.Second, func() bool {
		ids := list("?marketing=true")
		return len(ids) == 1 && ids[0] == ida
	})
	if ids := list("?marketing=false"); len(ids) != 1 || ids[0] != bob {
		t.Fatalf("contacts that are not marketing contacts: %v, want [%d]", ids, bob)
	}
	if code, _ := liveREST(t, s, "GET", "/api/v1/contacts?marketing=maybe", nil); code != 400 {
		t.Fatalf("marketing=maybe: %d, want 400", code)
	}
	code, out := liveREST(t, s, "GET", fmt.Sprintf("/api/v1/contacts/%d/export", ida), nil)
	if code != 200 || !strings.Contains(out, `"marketing":true`) || !strings.Contains(out, fmt.Sprintf(`"source_chatflow_id":%d`, cfID)) {
		t.Fatalf("export: %d %s", code, out)
	}

	var convID int64
	if err := s.DB.Get(&convID, `SELECT id FROM conversations WHERE contact_id = $1`, ida); err != nil {
		t.Fatal(err)
	}
	agent := Tab(t)
	signIn(t, agent, s)
	runT(t, agent, chromedp.Navigate(fmt.Sprintf("%s/inbox/conversations/%d", s.Edge, convID)))
	waitJS(t, agent, "the side panel's marketing line", `(d => d && d.textContent.includes('Marketing contact'))(document.getElementById('panel-marketing'))`, 10*time.Second)
}

// The referrer and page-view rules show and hide the chat: a chatflow for
// visitors who came from a search engine shows to one and not to a visitor
// who typed the address; one for visitors on their second page onwards
// shows from the second page of the visit. The visit is kept in the tab's
// sessionStorage, so where the cookie banner is asked, only once the
// visitor accepted it: before, every page is the visit's first.
func TestReferrerAndPageViewRules(t *testing.T) {
	s := StartSystem(t)
	cfID, _ := demoIDs(t, s)
	patch := func(body map[string]any) {
		t.Helper()
		before := publishedETag(t, s)
		patchChatflow(t, s, cfID, body)
		waitPublished(t, s, before)
	}
	target := func(rule map[string]any) {
		t.Helper()
		patch(map[string]any{"targeting": map[string]any{"groups": []any{map[string]any{"rules": []any{rule}}}}})
	}
	patch(map[string]any{"options": map[string]any{"cookie_consent": map[string]any{"enabled": false}}})
	shown := `window.Parley && Parley.status() === 'ready'`
	hidden := `window.Parley && Parley.status() === 'hidden'`

	target(map[string]any{"kind": "referrer", "op": "contains", "value": "search.test"})
	fromSearch := Tab(t)
	if err := chromedp.Do(fromSearch, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		return tg.Call(ctx, "Page.navigate", map[string]any{"url": s.Host() + "/demo/", "referrer": "http://www.search.test/results?q=shoes"}, nil)
	})); err != nil {
		t.Fatal(err)
	}
	waitJS(t, fromSearch, "the chat for a visitor from the search engine", shown, 20*time.Second)
	// The visit's referrer stays its first page's: the next page still qualifies.
	runT(t, fromSearch, chromedp.Navigate(s.Host()+"/demo/?page=2"))
	waitJS(t, fromSearch, "the chat on the visit's next page", shown, 20*time.Second)
	typedIn := Tab(t)
	runT(t, typedIn, chromedp.Navigate(s.Host()+"/demo/"))
	waitJS(t, typedIn, "no chat for a visitor who typed the address", hidden, 20*time.Second)

	target(map[string]any{"kind": "page_views", "op": "greater_than", "value": "1"})
	v := Tab(t)
	runT(t, v, chromedp.Navigate(s.Host()+"/demo/"))
	waitJS(t, v, "no chat on the visit's first page", hidden, 20*time.Second)
	runT(t, v, chromedp.Navigate(s.Host()+"/demo/?page=2"))
	waitJS(t, v, "the chat on the second page", shown, 20*time.Second)

	patch(map[string]any{"options": map[string]any{"cookie_consent": map[string]any{"enabled": true}}})
	w := Tab(t)
	runT(t, w, chromedp.Navigate(s.Host()+"/demo/"))
	waitJS(t, w, "no chat on the first page", hidden, 20*time.Second)
	runT(t, w, chromedp.Navigate(s.Host()+"/demo/?page=2"))
	waitJS(t, w, "no chat on the second page before the cookie banner was accepted", hidden, 20*time.Second)
	if got := evalString(t, w, `JSON.stringify(Object.keys(sessionStorage))`); got != "[]" {
		t.Fatalf("sessionStorage before consent: %s", got)
	}
	evalString(t, w, `document.cookie = "parley-cookie-consent=granted; path=/", ""`)
	runT(t, w, chromedp.Navigate(s.Host()+"/demo/?page=3"))
	waitJS(t, w, "the first counted page", hidden, 20*time.Second)
	runT(t, w, chromedp.Navigate(s.Host()+"/demo/?page=4"))
	waitJS(t, w, "the chat on the second counted page", shown, 20*time.Second)
}

// germanTab is a tab whose browser prefers German (navigator.languages and
// Accept-Language), as a German visitor's would.
func germanTab(t *testing.T) context.Context {
	t.Helper()
	tab := Tab(t)
	ua := evalString(t, tab, `navigator.userAgent`)
	if err := chromedp.Do(tab, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		return tg.Call(ctx, "Emulation.setUserAgentOverride", map[string]any{"userAgent": ua, "acceptLanguage": "de-DE,de;q=0.9"}, nil)
	})); err != nil {
		t.Fatal(err)
	}
	return tab
}

// A chatflow that follows the visitor's language speaks German to a
// German browser when it has a German welcome: the German welcome in the
// prompt, the widget's sentences, the cookie banner (whose German text the
// server accepts and records as German). Set to always speak its own
// language, it greets the same browser in English; a chatflow without a
// welcome of its own shows its language's default, never an empty prompt.
func TestGermanBrowserSeesTheGermanWelcome(t *testing.T) {
	s := StartSystem(t)
	cfID, _ := demoIDs(t, s)
	before := publishedETag(t, s)
	patchChatflow(t, s, cfID, map[string]any{"welcome": map[string]any{"messages": map[string]any{"de": "Hallo! Fragen Sie uns alles."}},
		"options": map[string]any{"language_choice": "visitor"}})
	waitPublished(t, s, before)
	prompt := shadow + `.querySelector('[data-parley=prompt-open]')`

	de := germanTab(t)
	runT(t, de, chromedp.Navigate(s.Host()+"/demo/"))
	waitJS(t, de, "the German welcome in the prompt", `window.Parley && `+prompt+`.textContent.includes('Hallo! Fragen Sie uns alles.')`, 20*time.Second)
	waitJS(t, de, "the launcher's German label", shadow+`.querySelector('[data-parley=launcher]').getAttribute('aria-label') === 'Chat öffnen'`, 5*time.Second)
	runT(t, de, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=launcher]')`)))
	waitJS(t, de, "the German input", shadow+`.querySelector('[data-parley=input]').placeholder === 'Nachricht schreiben…'`, 10*time.Second)
	waitJS(t, de, "the cookie banner", `!`+banner+`.hidden`, 10*time.Second)
	runT(t, de, chromedp.Click(chromedp.JSPath(banner+`.querySelector('[data-parley=cookie-accept]')`)))
	waitFor(t, "the German cookie consent recorded", 10*time.Second, func() bool {
		var lang string
		s.DB.Get(&lang, `SELECT language FROM consents WHERE kind = 'cookie' ORDER BY id DESC LIMIT 1`)
		return lang == "de"
	})
	visitorSays(t, de, "Hallo")
	waitJS(t, de, "the message stored", storedMessage, 10*time.Second)

	before = publishedETag(t, s)
	patchChatflow(t, s, cfID, map[string]any{"options": map[string]any{"language_choice": "chatflow"}})
	waitPublished(t, s, before)
	again := germanTab(t)
	runT(t, again, chromedp.Navigate(s.Host()+"/demo/?again"))
	waitJS(t, again, "the chatflow's own language", `window.Parley && `+prompt+`.textContent.includes('Ask us anything') && `+
		shadow+`.querySelector('[data-parley=launcher]').getAttribute('aria-label') === 'Open chat'`, 20*time.Second)

	before = publishedETag(t, s)
	patchChatflow(t, s, cfID, map[string]any{"welcome": map[string]any{"messages": map[string]any{"en": nil, "de": nil}}})
	waitPublished(t, s, before)
	plain := Tab(t)
	runT(t, plain, chromedp.Navigate(s.Host()+"/demo/?plain"))
	waitJS(t, plain, "the default welcome", `window.Parley && `+prompt+`.textContent.includes('How can we help you?')`, 20*time.Second)
}

// The presence line speaks the widget's language too: a German browser on
// a chatflow with a German translation is told it is offline (a closed
// day) in German, then, when the chatflow opens, the reply time in German,
// while an English browser on the same chatflow reads both in English.
func TestGermanBrowserSeesTheGermanPresence(t *testing.T) {
	s := StartSystem(t)
	cfID, _ := demoIDs(t, s)
	today := demoToday(t)
	before := publishedETag(t, s)
	patchChatflow(t, s, cfID, map[string]any{"welcome": map[string]any{"messages": map[string]any{"de": "Hallo! Fragen Sie uns alles."}},
		"options": map[string]any{"language_choice": "visitor"},
		"availability": map[string]any{"mode": "office_hours", "office_hours": everyDay(), "reply_time": "few_minutes",
			"exceptions": []map[string]any{{"date": today, "name": "Feiertag", "closed": true}}, "offline": map[string]any{"behaviour": "back_at"}}})
	waitPublished(t, s, before)

	de := germanTab(t)
	runT(t, de, chromedp.Navigate(s.Host()+"/demo/"))
	waitJS(t, de, "the German widget", `window.Parley && Parley.status() === 'ready' && `+
		shadow+`.querySelector('[data-parley=launcher]').getAttribute('aria-label') === 'Chat öffnen'`, 20*time.Second)
	runT(t, de, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=launcher]')`)))
	en := openChat(t, s, "/demo/?en")
	waitJS(t, de, "the German offline line", widgetShows("presence", "Wir sind morgen um 00:00")+` && `+widgetShows("presence", "wieder da."), 20*time.Second)
	waitJS(t, en, "the English offline line", widgetShows("presence", "We're back tomorrow at 00:00"), 20*time.Second)

	// Open around the clock now: both open widgets are told at once, each in its language.
	patchChatflow(t, s, cfID, map[string]any{"availability": map[string]any{"mode": "always", "exceptions": []map[string]any{}}})
	waitJS(t, de, "the German reply time", widgetShows("presence", "Wir antworten in der Regel innerhalb weniger Minuten"), 20*time.Second)
	waitJS(t, en, "the English reply time", widgetShows("presence", "We typically reply in a few minutes"), 20*time.Second)
}

// The Help tab's front page lists 25 titles a category; "and N more"
// pages through the rest, 25 at a time, in order, until none is left.
func TestHelpTabPagesPastTwentyFiveTitles(t *testing.T) {
	s := StartSystem(t)
	cfID, _ := demoIDs(t, s)
	kb := restID(t, s, "/api/v1/knowledge-bases", map[string]any{"name": "Help centre", "language": "en"})
	kbPath := fmt.Sprintf("/api/v1/knowledge-bases/%d", kb)
	cat := restID(t, s, kbPath+"/categories", map[string]any{"name": "Orders"})
	for i := 1; i <= 60; i++ {
		restID(t, s, kbPath+"/articles", map[string]any{"title": fmt.Sprintf("Order question %02d", i), "category_id": cat, "published": true,
			"body": "An answer."})
	}
	before := publishedETag(t, s)
	patchChatflow(t, s, cfID, map[string]any{"options": map[string]any{"knowledge_base_id": kb, "help_tab": true}})
	waitPublished(t, s, before)

	v := openChat(t, s, "/demo/")
	waitJS(t, v, "the Help tab", `!`+shadow+`.querySelector('[data-parley=tabs]').hidden`, 10*time.Second)
	runT(t, v, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=tab-help]')`)))
	list := shadow + `.querySelector('[data-parley=help-list]')`
	items := `[...` + list + `.querySelectorAll('[data-parley=help-item]')].map(b => b.textContent)`
	more := list + `.querySelector('[data-parley=help-more]')`
	titles := func(n int) string {
		var ts []string
		for i := 1; i <= n; i++ {
			ts = append(ts, fmt.Sprintf("Order question %02d", i))
		}
		b, _ := json.Marshal(ts)
		return string(b)
	}
	waitJS(t, v, "25 titles and 35 more", `JSON.stringify(`+items+`) === '`+titles(25)+`' && `+more+`.textContent === 'and 35 more'`, 15*time.Second)
	runT(t, v, chromedp.Click(chromedp.JSPath(more)))
	waitJS(t, v, "50 titles and 10 more", `JSON.stringify(`+items+`) === '`+titles(50)+`' && `+more+`.textContent === 'and 10 more'`, 15*time.Second)
	runT(t, v, chromedp.Click(chromedp.JSPath(more)))
	waitJS(t, v, "all 60 titles, nothing more", `JSON.stringify(`+items+`) === '`+titles(60)+`' && !`+more, 15*time.Second)
	// Each is an article to read.
	runT(t, v, chromedp.Click(chromedp.JSPath(`[...`+list+`.querySelectorAll('[data-parley=help-item]')].at(-1)`)))
	waitJS(t, v, "the 60th article", `(a => !a.hidden && a.textContent.includes('Order question 60'))(`+shadow+`.querySelector('[data-parley=help-article]'))`, 10*time.Second)
}

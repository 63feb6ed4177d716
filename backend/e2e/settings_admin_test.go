package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// inMain is a selector for the field named name in the page's main part
// (the header's status form has fields of the same names).
func inMain(name string) string { return "main " + byName(name) }

// typeInto clears the field named name and types text into it, key by key.
func typeInto(t *testing.T, ctx context.Context, name, text string) {
	t.Helper()
	runT(t, ctx, js(`document.querySelector(`+jsString(inMain(name))+`).value = ''`),
		chromedp.SendKeys(chromedp.CSS(inMain(name)), text))
}

// enter presses Enter in the field named name (submitting its form) and
// waits for the next page where cond holds.
func enter(t *testing.T, ctx context.Context, name, what, cond string) {
	t.Helper()
	runT(t, ctx, js(`window.__oldPage = true; document.querySelector(`+jsString(inMain(name))+`).focus()`), chromedp.KeyEvent("\r"))
	waitJS(t, ctx, what, `document.readyState === 'complete' && !window.__oldPage && (`+cond+`)`, 15*time.Second)
}

// TestConsoleAdminRound: a new admin goes once through the account, users,
// teams, API keys, knowledge base, survey, bot and subscription type pages
// by typing and clicking, sees a refused input beside its field, and axe-core
// finds no serious or critical violation on any of them.
func TestConsoleAdminRound(t *testing.T) {
	s := StartSystem(t)
	code, out := liveREST(t, s, "POST", "/api/v1/users", map[string]any{"email": "olga@demo.parley.test", "name": "Olga Admin",
		"role": "admin", "has_seat": true})
	var u map[string]any
	json.Unmarshal([]byte(out), &u)
	link, _ := u["invitation_url"].(string)
	if code != 201 || link == "" {
		t.Fatalf("invite an admin: %d %s", code, out)
	}
	tab := Tab(t)
	runT(t, tab, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("invite")),
		chromedp.SendKeys(chromedp.ID("new-password"), "olga-password-1"),
		chromedp.SendKeys(chromedp.ID("new-password-again"), "olga-password-1"),
		chromedp.Click(chromedp.CSS(`[data-action=set-password]`)))
	waitJS(t, tab, "the new admin signed in", `location.pathname === '/inbox' && document.querySelector('.who').textContent === 'Olga Admin'`, 10*time.Second)
	notice := func(text string) string {
		return `(document.getElementById('notice')||{textContent:''}).textContent.includes(` + jsString(text) + `)`
	}

	// Account: a bad time zone beside its field, typed values kept; then saved.
	runT(t, tab, chromedp.Navigate(s.Edge+"/inbox/settings/account"), chromedp.WaitVisible(chromedp.ID("acct-tz")))
	typeInto(t, tab, "timezone", "Mars/Olympus")
	typeInto(t, tab, "company_domain", "demo.parley.test")
	enter(t, tab, "timezone", "the time zone message", beside("timezone", "IANA"))
	axePage(t, tab, "the account page with a message")
	if v := evalString(t, tab, `document.querySelector('[name=company_domain]').value`); v != "demo.parley.test" {
		t.Fatalf("the typed domain was lost: %q", v)
	}
	typeInto(t, tab, "timezone", "Europe/Amsterdam")
	press(t, tab, "#save-account", "the account saved", notice("Saved."))
	var tz string
	s.DB.Get(&tz, `SELECT timezone FROM accounts a JOIN users u ON u.account_id = a.id WHERE u.email = 'olga@demo.parley.test'`)
	if tz != "Europe/Amsterdam" {
		t.Fatalf("time zone stored: %q", tz)
	}

	// Users: add one; the invitation link shows once.
	runT(t, tab, chromedp.Navigate(s.Edge+"/inbox/settings/users"), chromedp.WaitVisible(chromedp.ID("new-user")))
	typeInto(t, tab, "name", "Piet Agent")
	typeInto(t, tab, "email", "piet@demo.parley.test")
	typeInto(t, tab, "max_open_chats", "4")
	runT(t, tab, chromedp.Click(chromedp.ID("user-seat")))
	enter(t, tab, "email", "the invitation", `document.getElementById('invitation-url').value.includes('/inbox/invite/')`)
	axePage(t, tab, "the users page with an invitation")
	var seat bool
	var limit int
	if err := s.DB.QueryRow(`SELECT has_seat, max_open_chats FROM users WHERE email = 'piet@demo.parley.test'`).Scan(&seat, &limit); err != nil || !seat || limit != 4 {
		t.Fatalf("user stored: seat %v limit %d %v", seat, limit, err)
	}

	// Teams: a team with the new user, by ticking the box with the keyboard.
	runT(t, tab, chromedp.Navigate(s.Edge+"/inbox/settings/teams"), chromedp.WaitVisible(chromedp.ID("new-group")))
	typeInto(t, tab, "name", "Billing")
	var piet int64
	s.DB.Get(&piet, `SELECT id FROM users WHERE email = 'piet@demo.parley.test'`)
	runT(t, tab, js(fmt.Sprintf(`document.getElementById('member-%d').focus()`, piet)), chromedp.KeyEvent(" "))
	press(t, tab, "#new-group button[type=submit]", "the team", `document.getElementById('groups') && document.getElementById('groups').textContent.includes('Piet Agent')`)
	axePage(t, tab, "the teams page")

	// API keys: the secret once, then never again.
	runT(t, tab, chromedp.Navigate(s.Edge+"/inbox/settings/api-keys"), chromedp.WaitVisible(chromedp.ID("new-key-form")))
	typeInto(t, tab, "name", "CRM sync")
	runT(t, tab, chromedp.SetValue(chromedp.CSS(`#key-role`), "editor"))
	enter(t, tab, "name", "the new key", `!!document.getElementById('key-secret')`)
	secret := evalString(t, tab, `document.getElementById('key-secret').value`)
	axePage(t, tab, "the API keys page with a new key")
	runT(t, tab, chromedp.Navigate(s.Edge+"/inbox/settings/api-keys"), chromedp.WaitVisible(chromedp.ID("keys")))
	if strings.Contains(evalString(t, tab, `document.documentElement.outerHTML`), secret) || len(secret) < 20 {
		t.Fatal("the secret shows again")
	}

	// Knowledge base: create, an article previewed then saved, published.
	runT(t, tab, chromedp.Navigate(s.Edge+"/inbox/settings/knowledge-bases"), chromedp.WaitVisible(chromedp.ID("new-kb")))
	typeInto(t, tab, "name", "Help centre")
	enter(t, tab, "name", "the knowledge base", `!!document.getElementById('new-article')`)
	axePage(t, tab, "a knowledge base")
	press(t, tab, "#new-article", "the article form", `!!document.getElementById('article-form')`)
	typeInto(t, tab, "title", "Change your plan")
	runT(t, tab, setFields(map[string]string{"body": "# Plans\n\nOpen **Billing** and pick a plan."}))
	press(t, tab, "#preview-article", "the preview", `document.querySelector('#article-preview strong') && document.querySelector('#article-preview strong').textContent === 'Billing'`)
	axePage(t, tab, "the article preview")
	press(t, tab, "#save-article", "the article saved", notice("Created."))
	press(t, tab, "a.back", "the knowledge base", `!!document.querySelector('#articles button')`)
	press(t, tab, "#articles button", "published", notice("Published"))
	var published bool
	s.DB.Get(&published, `SELECT published FROM kb_articles WHERE title = 'Change your plan'`)
	if !published {
		t.Fatal("the article is not published")
	}

	// Survey: an empty question is refused beside it; then created.
	runT(t, tab, chromedp.Navigate(s.Edge+"/inbox/settings/surveys"), chromedp.WaitVisible(chromedp.ID("new-survey")))
	typeInto(t, tab, "name", "After chat")
	typeInto(t, tab, "question", " ")
	enter(t, tab, "name", "the question message", beside("question", "required"))
	axePage(t, tab, "the surveys page with a message")
	typeInto(t, tab, "question", "How did we do?")
	enter(t, tab, "question", "the survey", notice("Created.")+` && !!document.getElementById('survey-count')`)

	// Bot: from a template, one bad step refused beside its field, then saved.
	runT(t, tab, chromedp.Navigate(s.Edge+"/inbox/settings/bots"), chromedp.WaitVisible(chromedp.ID("new-bot")))
	runT(t, tab, chromedp.Click(chromedp.ID("tpl-support_triage")))
	press(t, tab, "#new-bot button[type=submit]", "the bot editor", `!!document.getElementById('bot-form')`)
	typeInto(t, tab, "steps[0].id", "Hello There")
	press(t, tab, "#save-bot", "the step id message", `(document.getElementById('err-steps[0].id')||{textContent:''}).textContent.includes('lower-case')`)
	axePage(t, tab, "the bot editor with a message")
	if v := evalString(t, tab, `document.querySelector('[name="steps[0].id"]').value`); v != "Hello There" {
		t.Fatalf("the typed id was lost: %q", v)
	}
	typeInto(t, tab, "steps[0].id", "topic")
	typeInto(t, tab, "name", "Triage")
	press(t, tab, "#save-bot", "the bot saved", notice("Created."))
	var bots int
	s.DB.Get(&bots, `SELECT count(*) FROM bots WHERE name = 'Triage' AND flow->>'start' = 'topic'`)
	if bots != 1 {
		t.Fatal("the bot is not stored")
	}

	// Subscription type.
	runT(t, tab, chromedp.Navigate(s.Edge+"/inbox/settings/subscription-types"), chromedp.WaitVisible(chromedp.ID("new-subscription-type")))
	typeInto(t, tab, "name", "Newsletter")
	enter(t, tab, "name", "the subscription type", `document.getElementById('subscription-types').textContent.includes('Newsletter')`)
	axePage(t, tab, "the subscription types page")
}

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Issues 6 and 7 in the widget: the satisfaction survey after the agent
// closes, a file sent from the widget, the Help tab, the customer agent
// answering from an article and handing over, and a template bot's quick
// replies with the answers on the ticket.

// restID posts body to path and returns the new object's id.
func restID(t *testing.T, s *System, path string, body map[string]any) int64 {
	t.Helper()
	code, out := liveREST(t, s, "POST", path, body)
	if code != 201 && code != 200 {
		t.Fatalf("POST %s: %d %s", path, code, out)
	}
	var v struct{ ID int64 }
	json.Unmarshal([]byte(out), &v)
	return v.ID
}

// storedMessage waits until the visitor's newest message is acknowledged.
const storedMessage = `[...` + shadow + `.querySelectorAll('[data-parley=message][data-from=visitor]')].some(m => m.dataset.state === 'sent')`

// pickFile puts a file of the given bytes into the widget's file input,
// as choosing it in the file dialog would.
func pickFile(name, mime, bytesJS string) chromedp.Action[chromedp.Void] {
	return js(fmt.Sprintf(`(() => { const dt = new DataTransfer(); dt.items.add(new File([new Uint8Array(%s)], %q, {type: %q}));
		const i = %s.querySelector('[data-parley=file]'); i.files = dt.files; i.dispatchEvent(new Event('change')); })()`, bytesJS, name, mime, shadow))
}

func TestWidgetSurveyAndAttachment(t *testing.T) {
	s := StartSystem(t)
	id, _ := demoFlow(t, s)
	survey := restID(t, s, "/api/v1/surveys", map[string]any{"name": "CSAT", "question": "How did we do today?", "scale": "emoji", "allow_comment": true})
	patchFlow(t, s, id, map[string]any{"options": map[string]any{"survey_id": survey, "attachments": true}})

	visitor, agent := Tab(t), Tab(t)
	runT(t, visitor, chromedp.Navigate(s.Host()+"/demo/"))
	openWidget(t, visitor)
	attach := shadow + `.querySelector('[data-parley=attach]')`
	waitJS(t, visitor, "the attach button", `!`+attach+`.hidden`, time.Second)

	// Before a conversation exists the widget says what to do.
	waitJS(t, visitor, "connected", shadow+`.querySelector('[data-parley=status]').dataset.state === 'connected'`, 10*time.Second)
	runT(t, visitor, pickFile("early.png", "image/png", `[137,80,78,71,13,10,26,10,0,0,0,13,73,72,68,82]`))
	waitJS(t, visitor, "the write-first sentence", widgetShows("status", "Write a message first"), 5*time.Second)
	visitorSays(t, visitor, "Here is my screenshot")
	waitJS(t, visitor, "the message stored", storedMessage, 10*time.Second)

	// A file of a refused type: a sentence, nothing stored.
	runT(t, visitor, pickFile("tool.exe", "application/octet-stream", `[77,90,144,0,3,0,0,0,4,0,0,0,255,255,0,0]`))
	waitJS(t, visitor, "the type refused", widgetShows("status", "Files of this type cannot be sent"), 10*time.Second)
	// A PNG goes through to the agent's thread and back into the widget.
	runT(t, visitor, pickFile("screenshot.png", "image/png", `[137,80,78,71,13,10,26,10,0,0,0,13,73,72,68,82,0,0,0,1,0,0,0,1,8,6,0,0,0]`))
	waitJS(t, visitor, "the file in the widget", `[...`+shadow+`.querySelectorAll('[data-parley=file-link]')].some(a => a.textContent.includes('screenshot.png'))`, 10*time.Second)
	var files int
	if err := s.DB.Get(&files, `SELECT count(*) FROM attachments`); err != nil || files != 1 {
		t.Fatalf("%d attachments stored (%v), want 1", files, err)
	}
	var convID int64
	if err := s.DB.Get(&convID, `SELECT id FROM conversations ORDER BY id DESC LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	signIn(t, agent, s)
	runT(t, agent, chromedp.Navigate(fmt.Sprintf("%s/inbox/conversations/%d", s.Edge, convID)))
	waitJS(t, agent, "the file in the agent's thread", threadHas("screenshot.png"), 10*time.Second)

	// The agent closes (over REST): the widget asks; the score and comment
	// reach the thread and the survey's page.
	if code, out := liveREST(t, s, "POST", fmt.Sprintf("/api/v1/conversations/%d/close", convID), map[string]any{}); code != 200 && code != 204 {
		t.Fatalf("close: %d %s", code, out)
	}
	form := shadow + `.querySelector('[data-parley=survey]')`
	waitJS(t, visitor, "the survey", `!`+form+`.hidden && `+form+`.textContent.includes('How did we do today?')`, 10*time.Second)
	if l := evalString(t, visitor, form+`.querySelector('[data-parley=score-4]').getAttribute('aria-label') + ' ' + `+form+`.querySelector('[data-parley=score-4]').textContent`); l != "4 of 5: good 🙂" {
		t.Errorf("score 4's button: %q", l)
	}
	runT(t, visitor,
		chromedp.Click(chromedp.JSPath(form+`.querySelector('[data-parley=score-4]')`)),
		chromedp.SendKeys(chromedp.JSPath(form+`.querySelector('[data-parley=survey-comment]')`), "Quick and kind"),
		chromedp.Click(chromedp.JSPath(form+`.querySelector('[data-parley=survey-send]')`)),
	)
	waitJS(t, visitor, "the thanks", widgetShows("survey-thanks", "Thank you")+` && `+form+`.hidden`, 10*time.Second)
	runT(t, agent, chromedp.Navigate(fmt.Sprintf("%s/inbox/surveys/%d", s.Edge, survey)))
	waitJS(t, agent, "the response on the survey page", `document.body.textContent.includes('Quick and kind')`, 10*time.Second)
}

func TestWidgetHelpTabAndCustomerAgent(t *testing.T) {
	s := StartSystem(t)
	id, _ := demoFlow(t, s)
	kb := restID(t, s, "/api/v1/knowledge-bases", map[string]any{"name": "Help centre", "language": "en"})
	kbPath := fmt.Sprintf("/api/v1/knowledge-bases/%d", kb)
	cat := restID(t, s, kbPath+"/categories", map[string]any{"name": "Orders"})
	restID(t, s, kbPath+"/articles", map[string]any{"title": "Returning an order", "category_id": cat, "published": true,
		"body": "## Returns\n\nYou can return any order within **30 days** for a full refund. Print the return label from your account page."})
	restID(t, s, kbPath+"/articles", map[string]any{"title": "Shipping times", "category_id": cat, "published": true,
		"body": "Parcels to Belgium take two working days."})
	patchFlow(t, s, id, map[string]any{"options": map[string]any{"knowledge_base_id": kb, "help_tab": true}})

	visitor := Tab(t)
	runT(t, visitor, chromedp.Navigate(s.Host()+"/demo/"))
	openWidget(t, visitor)
	tabHelp := chromedp.JSPath(shadow + `.querySelector('[data-parley=tab-help]')`)
	waitJS(t, visitor, "the Help tab", `!`+shadow+`.querySelector('[data-parley=tabs]').hidden`, time.Second)
	runT(t, visitor, chromedp.Click(tabHelp))
	list := shadow + `.querySelector('[data-parley=help-list]')`
	waitJS(t, visitor, "the categories", list+`.textContent.includes('Orders') && `+list+`.textContent.includes('Shipping times')`, 10*time.Second)

	// Search as you type finds the article (highlighted) and opens it.
	runT(t, visitor, chromedp.SendKeys(chromedp.JSPath(shadow+`.querySelector('[data-parley=help-search]')`), "refund"))
	waitJS(t, visitor, "the search result", `(l => l.querySelectorAll('[data-parley=help-item]').length === 1 && l.textContent.includes('Returning an order') && l.querySelector('mark'))(`+list+`)`, 10*time.Second)
	runT(t, visitor, chromedp.Click(chromedp.JSPath(list+`.querySelector('[data-parley=help-item]')`)))
	art := shadow + `.querySelector('[data-parley=help-article]')`
	waitJS(t, visitor, "the article", `!`+art+`.hidden && `+art+`.querySelector('strong') && `+art+`.textContent.includes('30 days')`, 10*time.Second)
	runT(t, visitor, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=help-chat]')`)))
	waitJS(t, visitor, "back to the chat", `!`+shadow+`.querySelector('[data-parley=composer]').hidden && `+shadow+`.querySelector('[data-parley=help]').hidden`, 5*time.Second)

	// The customer agent answers from the article, with its link, marked as a bot.
	patchFlow(t, s, id, map[string]any{"type": "customer_agent"})
	bot := Tab(t)
	runT(t, bot, chromedp.Navigate(s.Host()+"/demo/"))
	openWidget(t, bot)
	visitorSays(t, bot, "How many days do I have to return an order for a refund?")
	waitJS(t, bot, "the bot's answer", widgetHas("bot", "30 days"), 15*time.Second)
	answer := `[...` + shadow + `.querySelectorAll('[data-parley=message][data-from=bot]')].pop()`
	if tag := evalString(t, bot, answer+`.querySelector('.tag').textContent`); tag != "Bot" {
		t.Errorf("the bot's message is marked %q", tag)
	}
	runT(t, bot, chromedp.Click(chromedp.JSPath(answer+`.querySelector('[data-parley=article-link]')`)))
	waitJS(t, bot, "the article from the answer", `!`+art+`.hidden && `+art+`.textContent.includes('Returning an order')`, 10*time.Second)
	runT(t, bot, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=help-chat]')`)))

	// Asking for a human hands over through normal routing: an agent
	// sees the conversation and answers in person.
	visitorSays(t, bot, "I want to talk to a human please")
	waitJS(t, bot, "the hand-over", widgetHas("bot", "bringing in someone from the team"), 15*time.Second)
	var convID int64
	if err := s.DB.Get(&convID, `SELECT id FROM conversations ORDER BY id DESC LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	agent := Tab(t)
	signIn(t, agent, s)
	runT(t, agent, chromedp.Navigate(fmt.Sprintf("%s/inbox/conversations/%d", s.Edge, convID)))
	waitJS(t, agent, "the bot turns in the agent's thread", threadHas("30 days"), 10*time.Second)
	runT(t, agent,
		chromedp.SendKeys(chromedp.CSS(`#reply textarea[name=text]`), "Hi, Ada here. How can I help?"),
		chromedp.Click(chromedp.CSS(`#reply [data-action=send]`)),
	)
	waitJS(t, bot, "the human's answer", widgetHas("agent", "Ada here"), 10*time.Second)
}

func TestWidgetRuleBotQuickReplies(t *testing.T) {
	s := StartSystem(t)
	id, _ := demoFlow(t, s)
	botID := restID(t, s, "/api/v1/bots", map[string]any{"name": "Leads", "template": "lead_qualification"})
	patchFlow(t, s, id, map[string]any{"type": "rule_bot", "options": map[string]any{"bot_id": botID}})

	visitor, agent := Tab(t), Tab(t)
	runT(t, visitor, chromedp.Navigate(s.Host()+"/demo/"))
	openWidget(t, visitor)
	input := shadow + `.querySelector('[data-parley=input]')`
	say := func(text, then string) {
		t.Helper()
		runT(t, visitor, js(input+`.value = ''`))
		visitorSays(t, visitor, text)
		waitJS(t, visitor, "the bot asking "+then, widgetHas("bot", then), 15*time.Second)
	}
	say("Hi", "What is your name?")
	say("Ida", "work email")
	say("ida@example.com", "How many people")
	say("5", "When are you looking to start?")
	quick := shadow + `.querySelector('[data-parley=quick-replies]')`
	waitJS(t, visitor, "the quick replies under the question", `(q => q && q.closest('[data-from=bot]') && q.textContent.includes('This quarter'))(`+quick+`)`, 5*time.Second)
	runT(t, visitor, chromedp.Click(chromedp.JSPath(`[...`+quick+`.querySelectorAll('button')].find(b => b.textContent === 'This quarter')`)))
	waitJS(t, visitor, "the answer sent as a message", widgetHas("visitor", "This quarter"), 10*time.Second)
	waitJS(t, visitor, "the hand-over", widgetHas("bot", "bringing in someone"), 15*time.Second)
	waitJS(t, visitor, "no quick replies under later messages", `!`+quick, 5*time.Second)

	// The agent who takes over sees the answers on the ticket (a typed
	// address makes no contact) and the address marked unverified.
	var convID int64
	if err := s.DB.Get(&convID, `SELECT id FROM conversations ORDER BY id DESC LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	signIn(t, agent, s)
	runT(t, agent, chromedp.Navigate(fmt.Sprintf("%s/inbox/conversations/%d", s.Edge, convID)))
	waitJS(t, agent, "the answers in the panel", `(p => p.textContent.includes('buying_timeline') && p.textContent.includes('quarter') && p.textContent.includes('team_size') && p.querySelector('#panel-claimed-email').textContent.includes('ida@example.com unverified'))(document.querySelector('aside.panel'))`, 10*time.Second)
	var ticket string
	if err := s.DB.Get(&ticket, `SELECT properties::text FROM tickets WHERE conversation_id = $1`, convID); err != nil || !strings.Contains(ticket, "quarter") {
		t.Fatalf("the ticket's properties %s (%v)", ticket, err)
	}
}

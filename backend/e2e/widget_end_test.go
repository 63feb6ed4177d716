package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestClosingShowsInTheWidget: the agent closes the conversation (in the
// inbox, then over REST): the widget shows that the chat ended and fires
// conversationClosed at once, without the visitor writing; the visitor's
// next message starts a new conversation below a visible separator, and
// its closing (over REST) is shown and fired again.
func TestClosingShowsInTheWidget(t *testing.T) {
	s := StartSystem(t)
	visitor, agent := Tab(t), Tab(t)
	signIn(t, agent, s)

	runT(t, visitor, chromedp.Navigate(s.Host()+"/demo/"))
	waitJS(t, visitor, "the widget", `window.Parley && Parley.status() === 'ready'`, 20*time.Second)
	runT(t, visitor, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=launcher]')`)))
	visitorSays(t, visitor, "Where is my parcel?")
	waitJS(t, visitor, "conversationStarted", `__events.some(e => e.name === 'conversationStarted')`, 10*time.Second)

	waitJS(t, agent, "the conversation in the list", `document.querySelector('[data-conversation]')`, 10*time.Second)
	runT(t, agent, chromedp.Click(chromedp.CSS(`[data-conversation]`)))
	waitJS(t, agent, "the message in the thread", threadHas("Where is my parcel?"), 10*time.Second)
	waitJS(t, agent, "the thread's live socket", `document.getElementById('live-status').dataset.state === 'live'`, 10*time.Second)
	runT(t, agent,
		chromedp.SendKeys(chromedp.CSS(`#reply textarea[name=text]`), "It ships today."),
		chromedp.Click(chromedp.CSS(`#reply [data-action=send]`)),
	)
	waitJS(t, visitor, "the reply", widgetHas("agent", "It ships today."), 10*time.Second)
	if evalBool(t, visitor, `__events.some(e => e.name === 'conversationClosed')`) {
		t.Fatal("conversationClosed before any close")
	}

	// The agent closes it in the inbox: the end shows at once, the event fires.
	runT(t, agent, chromedp.Click(chromedp.CSS(`[data-action=close]`)))
	waitJS(t, visitor, "the end in the widget",
		`(e => e && e.textContent.includes('This chat has ended'))(`+shadow+`.querySelector('[data-parley=chat-ended]'))`, 10*time.Second)
	waitJS(t, visitor, "conversationClosed without writing", `__events.filter(e => e.name === 'conversationClosed').length === 1`, 5*time.Second)
	first := evalString(t, visitor, `__events.find(e => e.name === 'conversationClosed').data.conversation`)
	if first == "" {
		t.Fatal("conversationClosed names no conversation")
	}
	// The separator comes after the old messages.
	if order := evalString(t, visitor, `[...`+shadow+`.querySelector('[data-parley=messages]').children].map(e => e.dataset.parley).join(',')`); order != "message,message,chat-ended" {
		t.Fatalf("the chat shows %s", order)
	}

	// Writing again starts a new conversation, shown below the separator.
	visitorSays(t, visitor, "One more question")
	waitJS(t, visitor, "a second conversationStarted", `__events.filter(e => e.name === 'conversationStarted').length === 2`, 10*time.Second)
	waitJS(t, visitor, "the new message stored",
		`(m => m && m.dataset.state === 'sent' && m.textContent.includes('One more question'))(`+shadow+`.querySelector('[data-parley=messages]').lastElementChild)`, 10*time.Second)
	if order := evalString(t, visitor, `[...`+shadow+`.querySelector('[data-parley=messages]').children].map(e => e.dataset.parley).join(',')`); order != "message,message,chat-ended,message" {
		t.Fatalf("after writing again the chat shows %s", order)
	}
	var convs int
	if err := s.DB.Get(&convs, `SELECT count(*) FROM conversations`); err != nil || convs != 2 {
		t.Fatalf("%d conversations (%v), want 2", convs, err)
	}

	// Closed over REST: shown and fired again, for the new conversation.
	var convID int64
	if err := s.DB.Get(&convID, `SELECT id FROM conversations ORDER BY id DESC LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	if code, out := liveREST(t, s, "POST", fmt.Sprintf("/api/v1/conversations/%d/close", convID), map[string]any{}); code >= 300 {
		t.Fatalf("close: %d %s", code, out)
	}
	waitJS(t, visitor, "the second end", `__events.filter(e => e.name === 'conversationClosed').length === 2 && `+
		shadow+`.querySelectorAll('[data-parley=chat-ended]').length === 2`, 10*time.Second)
}

package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// "Hide the launcher" stops new chats only: at capacity with the launcher
// hidden, a visitor mid-chat keeps the widget and their chat on the next
// page; a new visitor sees no launcher, and it comes back live, without a
// reload, once the team can take another chat.
func TestHiddenLauncherKeepsChatInProgress(t *testing.T) {
	s := StartSystem(t)
	var cfID, agentID int64
	if err := s.DB.Get(&cfID, `SELECT id FROM chatflows WHERE public_id = $1`, s.Demo.ChatflowID); err != nil {
		t.Fatal(err)
	}
	if err := s.DB.Get(&agentID, `SELECT id FROM users WHERE email = $1`, s.Demo.AgentEmail); err != nil {
		t.Fatal(err)
	}
	if code, body := liveREST(t, s, "PATCH", fmt.Sprintf("/api/v1/chatflows/%d", cfID), map[string]any{
		"availability": map[string]any{"mode": "user_availability", "at_capacity": map[string]any{"behaviour": "hide_launcher"}},
	}); code != 200 {
		t.Fatalf("patch chatflow: %d %s", code, body)
	}
	if code, body := liveREST(t, s, "PATCH", fmt.Sprintf("/api/v1/users/%d", agentID), map[string]any{"status": "available", "max_open_chats": 1}); code != 200 {
		t.Fatalf("patch user: %d %s", code, body)
	}
	launcherOn := `Parley.status() === 'ready' && ` + shadow + `.querySelector('[data-parley=root]').dataset.launcher === 'on'`

	// The first visitor's chat takes the agent's only chat slot.
	a := Tab(t)
	runT(t, a, chromedp.Navigate(s.Host()+"/demo/"))
	waitJS(t, a, "the widget", `window.Parley && Parley.status() === 'ready'`, 20*time.Second)
	runT(t, a, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=launcher]')`)))
	// Cookies accepted: the chat may follow the visitor to the next page.
	waitJS(t, a, "the cookie notice", `!`+banner+`.hidden`, 10*time.Second)
	runT(t, a, chromedp.Click(chromedp.JSPath(banner+`.querySelector('[data-parley=cookie-accept]')`)))
	visitorSays(t, a, "I need help with my order")
	waitFor(t, "the visitor's message stored", 10*time.Second, func() bool {
		var n int
		s.DB.Get(&n, `SELECT count(*) FROM messages WHERE body = 'I need help with my order'`)
		return n == 1
	})
	// The agent takes it (as the inbox's Assign to me would). The config a
	// new page is given carries the team's presence of when the edge
	// fetched it: wait until it says the team is full.
	before := publishedETag(t, s)
	if _, err := s.DB.Exec(`UPDATE conversations SET assignee_id = $1 WHERE status = 'open'`, agentID); err != nil {
		t.Fatal(err)
	}
	waitPublished(t, s, before)

	// The next page: the chat in progress stays, with its launcher.
	runT(t, a, chromedp.Navigate(s.Host()+"/demo/?page=2"))
	waitJS(t, a, "the launcher of the chat in progress", `window.Parley && `+launcherOn, 20*time.Second)
	runT(t, a, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=launcher]')`)))
	waitJS(t, a, "the chat on the next page", widgetHas("visitor", "I need help with my order"), 10*time.Second)

	// A new visitor: no launcher while the team is full ...
	b := Tab(t)
	runT(t, b, chromedp.Navigate(s.Host()+"/demo/"))
	waitJS(t, b, "the launcher hidden at capacity", `window.Parley && Parley.status() === 'hidden'`, 20*time.Second)
	// ... and back, live, once the agent can take another chat.
	if code, body := liveREST(t, s, "PATCH", fmt.Sprintf("/api/v1/users/%d", agentID), map[string]any{"max_open_chats": 2}); code != 200 {
		t.Fatalf("patch user: %d %s", code, body)
	}
	waitJS(t, b, "the launcher back without a reload", launcherOn, 20*time.Second)
}

// 24/7 (the default mode) honours the at-capacity behaviour: with the only
// agent at their chat limit, a new visitor sees the wait message.
func TestCapacityInAlwaysMode(t *testing.T) {
	s := StartSystem(t)
	var cfID, agentID int64
	if err := s.DB.Get(&cfID, `SELECT id FROM chatflows WHERE public_id = $1`, s.Demo.ChatflowID); err != nil {
		t.Fatal(err)
	}
	if err := s.DB.Get(&agentID, `SELECT id FROM users WHERE email = $1`, s.Demo.AgentEmail); err != nil {
		t.Fatal(err)
	}
	if code, body := liveREST(t, s, "PATCH", fmt.Sprintf("/api/v1/chatflows/%d", cfID), map[string]any{
		"availability": map[string]any{"mode": "always", "at_capacity": map[string]any{"behaviour": "wait_message", "message": "All our agents are busy"}},
	}); code != 200 {
		t.Fatalf("patch chatflow: %d %s", code, body)
	}
	if code, body := liveREST(t, s, "PATCH", fmt.Sprintf("/api/v1/users/%d", agentID), map[string]any{"status": "available", "max_open_chats": 1}); code != 200 {
		t.Fatalf("patch user: %d %s", code, body)
	}
	a := Tab(t)
	runT(t, a, chromedp.Navigate(s.Host()+"/demo/"))
	waitJS(t, a, "the widget", `window.Parley && Parley.status() === 'ready'`, 20*time.Second)
	runT(t, a, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=launcher]')`)))
	waitJS(t, a, "no wait message while the agent is free", `!`+widgetShows("presence", "All our agents are busy"), 10*time.Second)
	visitorSays(t, a, "Hello there")
	waitFor(t, "the visitor's message stored", 10*time.Second, func() bool {
		var n int
		s.DB.Get(&n, `SELECT count(*) FROM messages WHERE body = 'Hello there'`)
		return n == 1
	})
	if _, err := s.DB.Exec(`UPDATE conversations SET assignee_id = $1 WHERE status = 'open'`, agentID); err != nil {
		t.Fatal(err)
	}
	b := Tab(t)
	runT(t, b, chromedp.Navigate(s.Host()+"/demo/"))
	waitJS(t, b, "the widget", `window.Parley && Parley.status() === 'ready'`, 20*time.Second)
	runT(t, b, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=launcher]')`)))
	waitJS(t, b, "the wait message in 24/7 mode", widgetShows("presence", "All our agents are busy"), 20*time.Second)
}

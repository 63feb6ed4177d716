package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/parleychat/parley/backend/cmd/parley-load/chatsim"
)

// TestPresenceFollowsTheAgent: on two backends (the agent's inbox page on
// the second, the visitor's widget on the first), an agent who closes
// every inbox page turns away within AGENT_AWAY_AFTER (3 s here): the
// widget of a user-availability chatflow shows the away message and a new
// chat is not routed to them. Opening an inbox page again makes them
// available: the widget says so and the waiting chat is theirs. Away by
// their own choice stays away through closing and opening pages; signing
// out makes them offline.
func TestPresenceFollowsTheAgent(t *testing.T) {
	const awayAfter = 3 * time.Second
	c := StartCluster(t, ClusterOptions{Backends: 2, Edges: 2, Env: []string{"AGENT_AWAY_AFTER=" + awayAfter.String()}})
	s := &System{Cluster: c, Edge: c.Edges[0].URL}
	agentEdge := c.Edges[1].URL // → backend 2
	cfID, _ := demoFlow(t, s)
	var agentID int64
	if err := s.DB.Get(&agentID, `SELECT id FROM users WHERE email = $1`, s.Demo.AgentEmail); err != nil {
		t.Fatal(err)
	}
	patchFlow(t, s, cfID, map[string]any{
		"availability": map[string]any{"mode": "user_availability", "reply_time": "few_minutes", "away_message": "We are away right now"},
		"assignment":   map[string]any{"auto_assign": true},
	})
	status := func() (st string) {
		t.Helper()
		if err := s.DB.Get(&st, `SELECT status FROM users WHERE id = $1`, agentID); err != nil {
			t.Fatal(err)
		}
		return st
	}

	agent, visitor := Tab(t), Tab(t)
	signInAt(t, agent, agentEdge, s.Demo.AgentEmail, s.Demo.AgentPass)
	waitJS(t, agent, "the inbox's live socket", `(document.getElementById('live-status')||{dataset:{}}).dataset.state === 'live'`, 10*time.Second)

	runT(t, visitor, chromedp.Navigate(s.Host()+"/demo/"))
	waitJS(t, visitor, "the widget", `window.Parley && Parley.status() === 'ready'`, 20*time.Second)
	runT(t, visitor, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=launcher]')`)))
	waitJS(t, visitor, "the available presence", widgetShows("presence", "")+` && !`+widgetShows("presence", "away"), 10*time.Second)
	available := evalString(t, visitor, widgetText("presence"))

	// The agent closes their only inbox page: away within the away time (and a sweep).
	closed := time.Now()
	runT(t, agent, chromedp.Navigate("about:blank"))
	waitJS(t, visitor, "the away presence", widgetShows("presence", "We are away right now"), awayAfter+10*time.Second)
	took := time.Since(closed)
	t.Logf("the widget showed away %v after the last inbox page closed", took.Round(10*time.Millisecond))
	if took < awayAfter-500*time.Millisecond {
		t.Fatalf("away after %v, sooner than AGENT_AWAY_AFTER %v", took, awayAfter)
	}
	if st := status(); st != "away" {
		t.Fatalf("status %q after closing every page", st)
	}

	// A new chat now waits: nobody available. The chat routes a new
	// conversation after storing its first message and before it takes
	// the next one, so the second message's acknowledgement comes after
	// the routing of the first.
	visitorSays(t, visitor, "Is anyone there?")
	waitJS(t, visitor, "the visitor's message", widgetHas("visitor", "Is anyone there?"), 10*time.Second)
	visitorSays(t, visitor, "Hello?")
	waitJS(t, visitor, "the second message stored", `[...`+shadow+`.querySelectorAll('[data-parley=message][data-from=visitor]')].filter(m => m.dataset.state === 'sent').length === 2`, 10*time.Second)
	var convID int64
	if err := s.DB.Get(&convID, `SELECT id FROM conversations ORDER BY id DESC LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	var assigned *int64
	if err := s.DB.Get(&assigned, `SELECT assignee_id FROM conversations WHERE id = $1`, convID); err != nil || assigned != nil {
		t.Fatalf("the chat was routed to %v while the agent was away (%v)", assigned, err)
	}

	// Back: an inbox page on backend 2 again. Available, the widget on
	// backend 1 says so, and the waiting chat is theirs.
	runT(t, agent, chromedp.Navigate(agentEdge+"/inbox"))
	waitJS(t, visitor, "available again", widgetShows("presence", available), 10*time.Second)
	if st := status(); st != "available" {
		t.Fatalf("status %q after returning", st)
	}
	waitFor(t, "the waiting chat assigned", 10*time.Second, func() bool {
		s.DB.Get(&assigned, `SELECT assignee_id FROM conversations WHERE id = $1`, convID)
		return assigned != nil
	})
	if *assigned != agentID {
		t.Fatalf("the waiting chat went to %v after the agent returned, want %d", assigned, agentID)
	}

	// Away by their own choice (the inbox's status form) stays away.
	waitJS(t, agent, "the inbox's live socket", `(document.getElementById('live-status')||{dataset:{}}).dataset.state === 'live'`, 10*time.Second)
	if code, body := liveREST(t, s, "PATCH", fmt.Sprintf("/api/v1/users/%d", agentID), map[string]any{"status": "away"}); code != 200 {
		t.Fatalf("patch user: %d %s", code, body)
	}
	waitJS(t, visitor, "the chosen away", widgetShows("presence", "We are away right now"), 10*time.Second)
	// A colleague (in no inbox of the chatflow) available on an inbox
	// socket closes it just after the agent's page closes: once the sweep
	// has turned the colleague away, it has looked at the agent too.
	colleague := presenceColleague(t, s, c.Backends[1].URL)
	runT(t, agent, chromedp.Navigate("about:blank"))
	waitFor(t, "the agent's page closed", 10*time.Second, func() bool {
		var n int
		s.DB.Get(&n, `SELECT count(*) FROM agent_sockets WHERE user_id = $1 AND left_at IS NULL`, agentID)
		return n == 0
	})
	colleague.leave()
	waitFor(t, "the colleague away", awayAfter+10*time.Second, func() bool { return userStatus(t, s, colleague.id) == "away" })
	var chosen string
	if err := s.DB.Get(&chosen, `SELECT coalesce(chosen_status, '') FROM users WHERE id = $1`, agentID); err != nil || status() != "away" || chosen != "" {
		t.Fatalf("status %q (kept choice %q, %v) with no page open; the agent chose away", status(), chosen, err)
	}
	// Back on a page: the backend writes the open socket and, in the same
	// transaction, any status to put back.
	runT(t, agent, chromedp.Navigate(agentEdge+"/inbox"))
	waitJS(t, agent, "the inbox's live socket", `(document.getElementById('live-status')||{dataset:{}}).dataset.state === 'live'`, 10*time.Second)
	waitFor(t, "the open page written", 10*time.Second, func() bool {
		var n int
		s.DB.Get(&n, `SELECT count(*) FROM agent_sockets WHERE user_id = $1 AND left_at IS NULL`, agentID)
		return n > 0
	})
	if st := status(); st != "away" {
		t.Fatalf("status %q after returning; the agent chose away", st)
	}
	waitJS(t, visitor, "the widget still away (the agent chose it)", widgetShows("presence", "We are away right now"), 10*time.Second)

	// Available by choice, then signing out: offline.
	if code, body := liveREST(t, s, "PATCH", fmt.Sprintf("/api/v1/users/%d", agentID), map[string]any{"status": "available"}); code != 200 {
		t.Fatalf("patch user: %d %s", code, body)
	}
	waitJS(t, visitor, "available by choice", widgetShows("presence", available), 10*time.Second)
	runT(t, agent, js(`document.querySelector('[data-action=logout]').click()`))
	waitJS(t, agent, "the sign-in page", `location.pathname === '/inbox/login'`, 10*time.Second)
	if st := status(); st != "offline" {
		t.Fatalf("status %q after signing out", st)
	}
	waitJS(t, visitor, "away once signed out", widgetShows("presence", "We are away right now"), 10*time.Second)
}

// colleague is a second agent with one inbox live socket open.
type colleague struct {
	id    int64
	leave func() // closes the socket
}

// presenceColleague creates an available agent in no inbox and opens an
// inbox live socket for them on base (a backend's address).
func presenceColleague(t *testing.T, s *System, base string) colleague {
	t.Helper()
	code, body := liveREST(t, s, "POST", "/api/v1/users", map[string]any{"email": "colleague@demo.example", "name": "Colleague",
		"password": "colleague-password-1", "has_seat": true, "status": "available"})
	if code != 201 {
		t.Fatalf("create colleague: %d %s", code, body)
	}
	var u struct{ ID int64 }
	json.Unmarshal([]byte(body), &u)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a, err := chatsim.SignIn(ctx, base, "colleague@demo.example", "colleague-password-1")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := a.DialLive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	waitFor(t, "the colleague's socket written", 10*time.Second, func() bool {
		var n int
		s.DB.Get(&n, `SELECT count(*) FROM agent_sockets WHERE user_id = $1 AND left_at IS NULL`, u.ID)
		return n > 0
	})
	return colleague{id: u.ID, leave: func() { conn.Close(websocket.StatusNormalClosure, "") }}
}

// userStatus reads a user's status.
func userStatus(t *testing.T, s *System, id int64) (st string) {
	t.Helper()
	if err := s.DB.Get(&st, `SELECT status FROM users WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	return st
}

// evalBool evaluates a boolean expression in the tab.
func evalBool(t *testing.T, ctx context.Context, expr string) bool {
	t.Helper()
	return evalString(t, ctx, `String(!!(`+expr+`))`) == "true"
}

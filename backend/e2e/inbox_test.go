package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/widget"
)

// TestAgentDayInBrowser drives an agent's day through the real edge, backend and
// Chromium: sign in; a visitor's message (hostile markup in it) appears live
// in the list and the thread as inert text; an internal note never reaches
// the visitor's widget; assigning to a colleague moves the conversation
// between their "Mine" views; closing sends the survey and the visitor's
// score shows in the thread and on the survey page.
//
// The survey half drives the visitor with a raw WebSocket client speaking
// the protocol (widget/PROTOCOL.md), because the widget's survey screen is
// being built separately; the frames it checks are the ones the widget uses.
func TestAgentDayInBrowser(t *testing.T) {
	s := StartSystem(t)

	// An admin sets up a colleague in the demo inbox and a survey on the demo chatflow.
	var inboxID, chatflowID int64
	if err := s.DB.QueryRow(`SELECT inbox_id, id FROM chatflows WHERE public_id = $1`, s.Demo.ChatflowID).Scan(&inboxID, &chatflowID); err != nil {
		t.Fatal(err)
	}
	code, body := liveREST(t, s, "POST", "/api/v1/users", map[string]any{"email": "bob@demo.example", "name": "Bob Colleague",
		"password": "bob-password-1", "has_seat": true, "status": "away"})
	if code != http.StatusCreated {
		t.Fatalf("create colleague: %d %s", code, body)
	}
	var bob struct{ ID int64 }
	json.Unmarshal([]byte(body), &bob)
	var members []int64
	s.DB.Select(&members, `SELECT user_id FROM inbox_members WHERE inbox_id = $1`, inboxID)
	if code, body := liveREST(t, s, "PATCH", fmt.Sprintf("/api/v1/inboxes/%d", inboxID), map[string]any{"member_ids": append(members, bob.ID)}); code != 200 {
		t.Fatalf("add colleague to inbox: %d %s", code, body)
	}
	code, body = liveREST(t, s, "POST", "/api/v1/surveys", map[string]any{"name": "Demo CSAT", "question": "How did we do?", "scale": "numeric", "allow_comment": true})
	if code != http.StatusCreated {
		t.Fatalf("create survey: %d %s", code, body)
	}
	var survey struct{ ID int64 }
	json.Unmarshal([]byte(body), &survey)
	if code, body := liveREST(t, s, "PATCH", fmt.Sprintf("/api/v1/chatflows/%d", chatflowID), map[string]any{"options": map[string]any{"survey_id": survey.ID}}); code != 200 {
		t.Fatalf("link survey: %d %s", code, body)
	}

	visitor, agent, colleague := Tab(t), Tab(t), Tab(t)
	signIn(t, agent, s)
	runT(t, agent, js(`window.__listNotReloaded = true`))

	// The visitor writes through the real widget, hostile markup included.
	hostile := `<img src=x onerror="window.pwned=1"> I need <script>window.pwned=2</script> help`
	runT(t, visitor, chromedp.Navigate(s.Host()+"/demo/"))
	waitJS(t, visitor, "the widget", `window.Parley && Parley.status() === 'ready'`, 20*time.Second)
	runT(t, visitor, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=launcher]')`)))
	waitJS(t, visitor, "the chat window", shadow+`.querySelector('[data-parley=window]').hidden === false`, 5*time.Second)
	visitorSays(t, visitor, hostile)
	waitJS(t, visitor, "the visitor's message", widgetHas("visitor", "I need"), 10*time.Second)

	// Live in the list, without a reload, with the unread count in the title.
	waitJS(t, agent, "the new chat in the list", `[...document.querySelectorAll('#conversations .preview')].some(e => e.textContent.includes('<script>window.pwned=2</script>'))`, 10*time.Second)
	waitJS(t, agent, "no reload", `window.__listNotReloaded === true`, time.Second)
	waitJS(t, agent, "the unread count in the title", `document.title.startsWith('(1) ')`, 5*time.Second)
	waitJS(t, agent, "the new-chat alert", `window.parleyNotified >= 1`, 5*time.Second)

	runT(t, agent, chromedp.Click(chromedp.CSS(`#conversations [data-conversation]`)))
	waitJS(t, agent, "the message in the thread", threadHas("<script>window.pwned=2</script>"), 10*time.Second)
	waitJS(t, agent, "the side panel", `document.getElementById('panel-page').textContent.includes('/demo/') && document.getElementById('panel-device').textContent.includes('Desktop')`, 5*time.Second)

	// An internal note, then a reply: the reply reaches the widget, the note never does.
	runT(t, agent,
		chromedp.WaitVisible(chromedp.CSS(`#live-status[data-state=live]`)),
		chromedp.SendKeys(chromedp.CSS(`#reply textarea[name=text]`), "NOTE: VIP customer, be quick"),
		chromedp.Click(chromedp.CSS(`#reply input[name=internal]`)),
		chromedp.Click(chromedp.CSS(`#reply [data-action=send]`)),
	)
	waitJS(t, agent, "the note in the thread", `[...document.querySelectorAll('#thread .msg.note')].some(m => m.textContent.includes('VIP customer'))`, 10*time.Second)
	runT(t, agent,
		chromedp.Click(chromedp.CSS(`#reply input[name=internal]`)),
		chromedp.SendKeys(chromedp.CSS(`#reply textarea[name=text]`), "Happy to help!"),
		chromedp.Click(chromedp.CSS(`#reply [data-action=send]`)),
	)
	waitJS(t, visitor, "the agent's reply", widgetHas("agent", "Happy to help!"), 10*time.Second)
	if shown := evalString(t, visitor, shadow+`.textContent`); strings.Contains(shown, "VIP customer") {
		t.Fatal("the internal note reached the visitor's widget")
	}
	for _, tab := range []context.Context{agent, visitor} {
		if pwned := evalString(t, tab, `String(window.pwned)`); pwned != "undefined" {
			t.Fatalf("visitor markup ran: window.pwned = %s", pwned)
		}
	}

	// Assign to the colleague: it leaves the agent's Mine view and enters Bob's.
	var convID int64
	var convPublic string
	s.DB.QueryRow(`SELECT id, public_id FROM conversations ORDER BY id DESC LIMIT 1`).Scan(&convID, &convPublic)
	runT(t, agent,
		chromedp.SetValue(chromedp.CSS(`#assignee`), fmt.Sprintf("user:%d", bob.ID)),
		chromedp.Click(chromedp.CSS(`[data-action=assign]`)),
	)
	waitJS(t, agent, "assigned to Bob", `(document.getElementById('conv-assignee')||{}).textContent === 'Bob Colleague'`, 10*time.Second)
	runT(t, agent, chromedp.Navigate(s.Edge+"/inbox?view=mine"), chromedp.WaitVisible(chromedp.CSS(`#view-heading`)))
	if has := evalString(t, agent, fmt.Sprintf(`String(!!document.querySelector('[data-conversation=%q]'))`, convPublic)); has != "false" {
		t.Fatal("still in the agent's Mine view after assigning to Bob")
	}
	runT(t, colleague,
		chromedp.Navigate(s.Edge+"/inbox/login?next=%2Finbox%3Fview%3Dmine"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "bob@demo.example"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "bob-password-1"),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
	)
	waitJS(t, colleague, "the conversation in Bob's Mine view", fmt.Sprintf(`!!document.querySelector('#conversations [data-conversation=%q]')`, convPublic), 10*time.Second)
	waitJS(t, colleague, "Bob's mine count", `document.querySelector('[data-count=mine]').textContent === '1'`, 5*time.Second)

	// Survey: a visitor (raw protocol client) chats; the agent closes from the thread.
	v := dialVisitor(t, s)
	v.hello(s, "", "")
	ack := v.say("s1", "Quick question about returns")
	var surveyConv int64
	s.DB.Get(&surveyConv, `SELECT id FROM conversations WHERE public_id = $1`, ack.Conversation)
	runT(t, agent, chromedp.Navigate(fmt.Sprintf("%s/inbox/conversations/%d", s.Edge, surveyConv)),
		chromedp.WaitVisible(chromedp.CSS(`#live-status[data-state=live]`)),
		chromedp.Click(chromedp.CSS(`[data-action=close]`)))
	f, err := v.next(widget.FrameSurvey)
	if err != nil || f.Survey != survey.ID || f.Question != "How did we do?" || f.Scale != widget.ScaleNumeric || !f.AllowComment {
		t.Fatalf("survey frame: %+v %v", f, err)
	}
	waitJS(t, agent, "the reopen button after the close", `!!document.querySelector('[data-action=reopen]')`, 10*time.Second)
	runT(t, agent, chromedp.WaitVisible(chromedp.CSS(`#live-status[data-state=live]`)))
	if err := v.send(widget.Frame{Type: widget.FrameSurveyAnswer, Survey: survey.ID, Score: 4, Comment: "Fast <b>and</b> friendly"}); err != nil {
		t.Fatal(err)
	}
	if a, err := v.next(widget.FrameSurveyAnswer); err != nil || a.Score != 4 {
		t.Fatalf("answer stored: %+v %v", a, err)
	}
	waitJS(t, agent, "the score in the thread", threadHas("4/5 — Fast <b>and</b> friendly"), 10*time.Second)
	runT(t, agent, chromedp.Navigate(fmt.Sprintf("%s/inbox/surveys/%d", s.Edge, survey.ID)), chromedp.WaitVisible(chromedp.CSS(`#responses`)))
	if got := evalString(t, agent, `[document.getElementById('survey-average').textContent, document.getElementById('survey-csat').textContent, document.querySelector('#responses .score').textContent, document.querySelector('#responses .comment').textContent].join('|')`); got != "4.00|100.0%|4/5|Fast <b>and</b> friendly" {
		t.Fatalf("survey page shows %q", got)
	}
}

// TestInboxSecurityThroughTheEdge: a form without the CSRF token is refused,
// an expired session goes to sign-in, an agent outside an inbox gets 403
// for its conversations and attachments.
func TestInboxSecurityThroughTheEdge(t *testing.T) {
	s := StartSystem(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}
	get := func(path string) *http.Response {
		t.Helper()
		r, err := c.Get(s.Edge + path)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r
	}
	// An outsider: a user in a new inbox only.
	code, body := liveREST(t, s, "POST", "/api/v1/users", map[string]any{"email": "eve@demo.example", "name": "Eve", "password": "eve-password-1"})
	if code != http.StatusCreated {
		t.Fatalf("create user: %d %s", code, body)
	}
	var eve struct{ ID int64 }
	json.Unmarshal([]byte(body), &eve)
	liveREST(t, s, "POST", "/api/v1/inboxes", map[string]any{"name": "Elsewhere", "member_ids": []int64{eve.ID}})

	// A visitor conversation with a file, in the demo inbox.
	v := dialVisitor(t, s)
	v.hello(s, "", "")
	ack := v.say("m1", "hello")
	var convID int64
	s.DB.Get(&convID, `SELECT id FROM conversations WHERE public_id = $1`, ack.Conversation)

	// Sign in as eve with the form's token, as a browser would.
	form := loginForm(t, c, s.Edge)
	resp, err := c.PostForm(s.Edge+"/inbox/login", url.Values{"csrf_token": {form}, "email": {"eve@demo.example"}, "password": {"eve-password-1"}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %v %v", err, resp)
	}
	resp.Body.Close()
	for _, path := range []string{fmt.Sprintf("/inbox/conversations/%d", convID), fmt.Sprintf("/inbox/conversations/%d/transcript", convID)} {
		if r := get(path); r.StatusCode != http.StatusForbidden {
			t.Fatalf("outsider %s: %d", path, r.StatusCode)
		}
	}
	// A file of that conversation.
	if _, err := s.DB.Exec(`INSERT INTO attachments (public_id, account_id, conversation_id, client_id, filename, content_type, size, data)
		SELECT 'att_test_x', account_id, id, 'x', 'a.txt', 'text/plain', 2, 'hi' FROM conversations WHERE id = $1`, convID); err != nil {
		t.Fatal(err)
	}
	if r := get("/inbox/attachments/att_test_x"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("outsider attachment: %d", r.StatusCode)
	}
	// A form without the token: refused, nothing changes.
	resp, err = c.PostForm(s.Edge+"/inbox/me/status", url.Values{"status": {"available"}})
	if err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("form without CSRF: %v %v", err, resp.StatusCode)
	}
	resp.Body.Close()
	// The session expires: the next page goes to sign-in.
	s.DB.Exec(`UPDATE user_sessions SET expires_at = now() - interval '1 second'`)
	if r := get("/inbox"); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/inbox/login") {
		t.Fatalf("expired session: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
}

// loginForm fetches the sign-in form and returns its CSRF token.
func loginForm(t *testing.T, c *http.Client, edge string) string {
	t.Helper()
	r, err := c.Get(edge + "/inbox/login")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	_, rest, ok := strings.Cut(b.String(), `name="csrf_token" value="`)
	tok, _, ok2 := strings.Cut(rest, `"`)
	if !ok || !ok2 {
		t.Fatalf("no CSRF token in the sign-in form")
	}
	return tok
}

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/backend/internal/dbtest"
)

func TestMain(m *testing.M) {
	defer closeBrowser()
	dbtest.Main(m)
}

// shadow is the widget's shadow root in the host page.
const shadow = `document.getElementById('parley-widget').shadowRoot`

// waitJS polls a JavaScript boolean expression until it holds.
func waitJS(t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(()=>{try{return !!(`+expr+`)}catch(e){return false}})()`))
		if err == nil && ok {
			return
		}
		if err != nil {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s (%s) %s", what, expr, last)
}

func evalString(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatalf("eval %s: %v", expr, err)
	}
	return s
}

func runT(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := within(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		t.Fatal(err)
	}
}

// visitorSays types text into the widget and presses Send, as a visitor would.
func visitorSays(t *testing.T, ctx context.Context, text string) {
	t.Helper()
	runT(t, ctx,
		chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=input]')`)),
		chromedp.SendKeys(chromedp.JSPath(shadow+`.querySelector('[data-parley=input]')`), text),
		chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=send]')`)),
	)
}

// widgetHas is an expression true when a message from `from` with text shows in the widget.
func widgetHas(from, text string) string {
	return fmt.Sprintf(`[...%s.querySelectorAll('[data-parley=message][data-from=%s]')].some(m => m.textContent.includes(%q))`, shadow, from, text)
}

// threadHas is true when the agent's open thread shows text.
func threadHas(text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#thread [data-seq]')].some(m => m.textContent.includes(%q))`, text)
}

func signIn(t *testing.T, ctx context.Context, s *System) {
	t.Helper()
	runT(t, ctx,
		chromedp.Navigate(s.Edge+"/inbox/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), s.Demo.AgentEmail),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), s.Demo.AgentPass),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
	)
	waitJS(t, ctx, "the inbox list", `location.pathname === '/inbox' || location.pathname === '/inbox/'`, 10*time.Second)
}

// TestVisitorAndAgentChat drives the whole path: the demo host page with its
// one script tag, a visitor's message through edge and backend to an agent
// signed in to the inbox in another browser context, and the reply back;
// then a backend crash while the visitor keeps typing.
func TestVisitorAndAgentChat(t *testing.T) {
	s := StartSystem(t)
	visitor, agent := Tab(t), Tab(t)

	// The agent is already looking at the inbox: the new chat must appear without a reload.
	signIn(t, agent, s)
	runT(t, agent, js(`window.__notReloaded = true`))

	runT(t, visitor, chromedp.Navigate(s.Host()+"/demo/"))
	waitJS(t, visitor, "the widget", `window.Parley && Parley.status() === 'ready'`, 20*time.Second)
	runT(t, visitor, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=launcher]')`)))
	waitJS(t, visitor, "the chat window", shadow+`.querySelector('[data-parley=window]').hidden === false`, 5*time.Second)
	if w := evalString(t, visitor, shadow+`.querySelector('[data-parley=welcome]').textContent`); !strings.Contains(w, "Ask us anything") {
		t.Fatalf("welcome message %q", w)
	}
	visitorSays(t, visitor, "hello")
	waitJS(t, visitor, "the visitor's own message", widgetHas("visitor", "hello"), 10*time.Second)

	waitJS(t, agent, "the conversation in the list", `document.querySelector('[data-conversation]')`, 10*time.Second)
	waitJS(t, agent, "no reload", `window.__notReloaded === true`, time.Second)
	runT(t, agent, chromedp.Click(chromedp.CSS(`[data-conversation]`)))
	waitJS(t, agent, "hello in the thread", threadHas("hello"), 10*time.Second)

	runT(t, agent,
		chromedp.SendKeys(chromedp.CSS(`#reply textarea[name=text]`), "Hi there, how can I help?"),
		chromedp.Click(chromedp.CSS(`#reply [data-action=send]`)),
	)
	waitJS(t, visitor, "the agent's reply", widgetHas("agent", "Hi there, how can I help?"), 10*time.Second)
	waitJS(t, agent, "the reply in the agent's thread", threadHas("Hi there, how can I help?"), 10*time.Second)

	// The visitor types live while the agent watches the open thread.
	runT(t, agent, js(`window.__threadNotReloaded = true`))
	visitorSays(t, visitor, "I need help with my order")
	waitJS(t, agent, "a live message in the thread", threadHas("I need help with my order"), 10*time.Second)
	waitJS(t, agent, "no reload of the thread", `window.__threadNotReloaded === true`, time.Second)

	// The backend crashes: the widget says it is reconnecting, keeps what the
	// visitor types meanwhile, and delivers it once the backend is back.
	s.KillBackend()
	waitJS(t, visitor, "the reconnecting notice", shadow+`.querySelector('[data-parley=status]').textContent.includes('Reconnecting')`, 15*time.Second)
	visitorSays(t, visitor, "are you still there?")
	waitJS(t, visitor, "the message kept, pending", `[...`+shadow+`.querySelectorAll('[data-parley=message][data-from=visitor][data-state=pending]')].some(m => m.textContent.includes("are you still there?"))`, 10*time.Second)
	var stored int
	if err := s.DB.Get(&stored, `SELECT count(*) FROM messages WHERE body = 'are you still there?'`); err != nil || stored != 0 {
		t.Fatalf("stored %d while the backend was down (%v)", stored, err)
	}
	s.StartBackend()
	waitJS(t, agent, "the message typed during the outage", threadHas("are you still there?"), 30*time.Second)
	waitJS(t, visitor, "the reconnecting notice gone", `!`+shadow+`.querySelector('[data-parley=status]').textContent.includes('Reconnecting')`, 15*time.Second)

	// Every message is stored exactly once, in order.
	var bodies []string
	if err := s.DB.Select(&bodies, `SELECT body FROM messages ORDER BY conversation_id, seq`); err != nil {
		t.Fatal(err)
	}
	want := []string{"hello", "Hi there, how can I help?", "I need help with my order", "are you still there?"}
	if strings.Join(bodies, "|") != strings.Join(want, "|") {
		t.Fatalf("stored messages %q, want %q", bodies, want)
	}
}

// js runs a statement in the page.
func js(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[any](expr)(ctx, t)
		return err
	})
}

package inbox_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/backend/internal/inbox"
)

// browserCtx starts a headless Chromium for one test and returns a context
// for its tab, limited to 60 seconds (a bound for an overloaded machine,
// not a wait: every step waits for its condition).
func browserCtx(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Skip("no Chromium on PATH")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first run starts the browser; it must not carry the timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel)
	return tctx
}

// live waits for the page's socket to be up.
func waitLive() chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](`document.getElementById("live-status").textContent === "Live"`, chromedp.WithPollingTimeout(5*time.Second))
}

func text(ctx context.Context, t *testing.T, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return s
}

func eval[T any](ctx context.Context, t *testing.T, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// TestAgentInBrowser drives the inbox as an agent does: sign in, watch a
// visitor's message arrive live, reply without the page reloading, see a new
// conversation appear in the list.
func TestAgentInBrowser(t *testing.T) {
	e := setup(t, inbox.Config{})
	conv, pub := e.conversation(e.inboxA, "Vera")
	e.say(conv, `<img src=x onerror="window.pwned=1">`)
	ctx := browserCtx(t)
	threadURL := fmt.Sprintf("%s/inbox/conversations/%d", e.srv.URL, conv)

	err := chromedp.Do(ctx,
		chromedp.Navigate(threadURL), // not signed in: the sign-in form, then back here
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "alice@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`button[data-action="login"]`)),
		chromedp.WaitVisible(chromedp.ID("thread")),
		waitLive(),
		chromedp.Evaluate[chromedp.Void](`window.sameLoad = true`),
	)
	if err != nil {
		t.Fatalf("sign in and open thread: %v", err)
	}
	if first := text(ctx, t, `#thread [data-seq="1"] .text`); first != `<img src=x onerror="window.pwned=1">` {
		t.Fatalf("first message shows %q", first)
	}

	// The visitor writes (through another backend writer): it appears without a reload.
	e.say(conv, `live <script>window.pwned=2</script> hello`)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#thread [data-seq="2"][data-from="visitor"]`))); err != nil {
		t.Fatalf("live message: %v", err)
	}
	if live := text(ctx, t, `#thread [data-seq="2"] .text`); live != "live <script>window.pwned=2</script> hello" {
		t.Fatalf("live message shows %q", live)
	}
	// The visible page reports both read (the page view itself marked nothing).
	for deadline := time.Now().Add(5 * time.Second); ; {
		if _, agent, _ := e.st.ReadPositions(context.Background(), conv); agent == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the open thread was not marked read up to the live message")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Reply: sent by fetch, the reply comes back through the socket and the
	// box empties once the fetch is answered (the socket may come first).
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("reply-text"), "Hi Vera, how can I help?"),
		chromedp.Click(chromedp.CSS(`button[data-action="send"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#thread [data-seq="3"][data-from="agent"]`)),
		chromedp.Poll[chromedp.Void](`document.getElementById("reply-text").value === "" && !document.querySelector('button[data-action="send"]').disabled`,
			chromedp.WithPollingTimeout(10*time.Second)),
	)
	if err != nil {
		t.Fatalf("reply: %v (box %q)", err, eval[string](ctx, t, `document.getElementById("reply-text").value`))
	}
	box := eval[string](ctx, t, `document.getElementById("reply-text").value`)
	sameLoad := eval[bool](ctx, t, `window.sameLoad === true`)
	pwned := eval[bool](ctx, t, `window.pwned !== undefined`)
	count := eval[int](ctx, t, `document.querySelectorAll("#thread [data-seq]").length`)
	if box != "" || !sameLoad || pwned || count != 3 {
		t.Fatalf("after reply: box %q, same page %v, script ran %v, %d messages", box, sameLoad, pwned, count)
	}
	var body string
	e.db.Get(&body, `SELECT body FROM messages WHERE conversation_id = $1 AND seq = 3 AND author_type = 'agent'`, conv)
	if body != "Hi Vera, how can I help?" {
		t.Fatalf("stored reply %q", body)
	}

	// The list page: a new conversation shows up live, at the top.
	err = chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/inbox"),
		chromedp.WaitVisible(chromedp.CSS(`a[data-conversation="`+pub+`"]`)),
		waitLive(),
	)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	conv2, pub2 := e.conversation(e.inboxA, "Nina <b>New</b>")
	e.say(conv2, "I have a question")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`a[data-conversation="`+pub2+`"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelector("#conversations li:first-child a[data-conversation='`+pub2+`']") !== null`,
			chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("live list, the new conversation on top: %v (top %q)", err, text(ctx, t, `#conversations li:first-child .label`))
	}
	if top := text(ctx, t, `#conversations li:first-child .label`); strings.TrimSpace(top) != "Nina <b>New</b>" {
		t.Fatalf("top of list %q", top)
	}
}

// TestSidePanelFollowsTheVisitorsPageInBrowser: the side panel's page link
// follows the visitor without a reload, shows untrusted URLs as text, and
// links only http(s) ones.
func TestSidePanelFollowsTheVisitorsPageInBrowser(t *testing.T) {
	e := setup(t, inbox.Config{})
	conv, _ := e.conversation(e.inboxA, "Vera") // started on https://shop.example/pricing
	e.say(conv, "hello")
	ctx := browserCtx(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/inbox/conversations/%d", e.srv.URL, conv)),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "alice@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`button[data-action="login"]`)),
		chromedp.WaitVisible(chromedp.ID("thread")),
		waitLive(),
		chromedp.Evaluate[chromedp.Void](`window.sameLoad = true`),
	)
	if err != nil {
		t.Fatalf("sign in and open thread: %v", err)
	}
	until := func(what, js string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("%s: %v (panel: %s)", what, err, text(ctx, t, ".panel dl"))
		}
	}
	db := context.Background()
	set := func(page string) {
		t.Helper()
		if _, err := e.st.SetConversationPage(db, e.account, conv, page); err != nil {
			t.Fatal(err)
		}
	}

	set("https://shop.example/plans/team?ref=chat")
	until("page B", `(() => { const a = document.querySelector("#panel-page a"), s = document.getElementById("panel-start-page");
		return a && a.href === "https://shop.example/plans/team?ref=chat" && a.textContent === a.href && a.rel === "noopener noreferrer" &&
			!s.hidden && !document.getElementById("panel-start-page-label").hidden && s.textContent === "https://shop.example/pricing"; })()`)

	hostile := `https://shop.example/?q="><img src=x onerror="window.pwned=1">`
	set(hostile)
	until("hostile page as text", `document.querySelector("#panel-page a")?.textContent === `+"`"+hostile+"`")
	// Stored before any check (say, by an older backend): shown, never linked.
	if _, err := e.db.Exec(`UPDATE conversations SET current_page_url = 'javascript:window.pwned=2' WHERE id = $1`, conv); err != nil {
		t.Fatal(err)
	}
	if err := events.Notify(db, e.db, events.Notice{Account: e.account, Conversation: conv, Kind: events.KindConversation}); err != nil {
		t.Fatal(err)
	}
	until("javascript: page as text", `document.getElementById("panel-page").textContent === "javascript:window.pwned=2" && !document.querySelector("#panel-page a")`)
	// Back on the start page: the start line goes.
	set("https://shop.example/pricing")
	until("back on the start page", `document.querySelector("#panel-page a")?.href === "https://shop.example/pricing" && document.getElementById("panel-start-page").hidden`)
	if !eval[bool](ctx, t, `window.sameLoad === true && window.pwned === undefined && !document.querySelector(".panel img")`) {
		t.Fatal("the page reloaded, or a visitor's URL ran as markup")
	}
}

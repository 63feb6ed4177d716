package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/backend/cmd/parley-load/chatsim"
)

// TestPasswordChangeSignsOutTheOtherBrowserInBrowser: an agent is signed
// in twice, in two browsers. The second has a thread open through edge 2
// (its socket on backend 2). The first changes the password on My account
// through edge 1 (backend 1). Within seconds the second browser's thread
// stops receiving and sends it to the sign-in form: the visitor's next
// message never reaches it.
func TestPasswordChangeSignsOutTheOtherBrowserInBrowser(t *testing.T) {
	c := StartCluster(t, ClusterOptions{Backends: 2, Edges: 2})
	edge1, edge2 := c.Edges[0].URL, c.Edges[1].URL
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// A visitor chats through edge 1.
	visitor := chatsim.NewVisitor(chatsim.VisitorConfig{Edge: edge1, Site: c.Demo.Site, Chatflow: c.Demo.ChatflowID, IDPrefix: "rv"})
	vctx, vstop := context.WithCancel(ctx)
	vdone := make(chan struct{})
	go func() { defer close(vdone); visitor.Run(vctx) }()
	defer func() { vstop(); <-vdone }()
	waitFor(t, "the visitor's welcome", 10*time.Second, visitor.Connected)
	if _, err := visitor.Send(ctx, "first question"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the visitor's acknowledgement", 5*time.Second, func() bool { return visitor.Unsent() == 0 })
	var conv int64
	if err := c.DB.QueryRow(`SELECT id FROM conversations WHERE public_id = $1`, visitor.Conversation()).Scan(&conv); err != nil {
		t.Fatal(err)
	}

	first, second := Tab(t), Tab(t)
	signInAt(t, first, edge1, c.Demo.AgentEmail, c.Demo.AgentPass)
	signInAt(t, second, edge2, c.Demo.AgentEmail, c.Demo.AgentPass)
	runT(t, second, chromedp.Navigate(fmt.Sprintf("%s/inbox/conversations/%d", edge2, conv)))
	waitJS(t, second, "the thread, live", `document.querySelector('#live-status[data-state=live]') !== null && `+threadHas("first question"), 10*time.Second)
	// Remember every message the thread shows, across the page changing.
	runT(t, second, js(`new MutationObserver(() => sessionStorage.setItem('shown', document.getElementById('thread').textContent))
		.observe(document.getElementById('thread'), {childList: true, subtree: true})`))
	if _, err := visitor.Send(ctx, "second question"); err != nil {
		t.Fatal(err)
	}
	waitJS(t, second, "the second message, live", threadHas("second question"), 10*time.Second)

	// The first browser changes the password.
	const newPass = "a much newer password"
	runT(t, first,
		chromedp.Navigate(edge1+"/inbox/account"),
		chromedp.WaitVisible(chromedp.CSS(`#current-password`)),
		chromedp.SendKeys(chromedp.CSS(`#current-password`), c.Demo.AgentPass),
		chromedp.SendKeys(chromedp.CSS(`#new-password`), newPass),
		chromedp.SendKeys(chromedp.CSS(`#new-password-again`), newPass),
		chromedp.Click(chromedp.CSS(`[data-action=change-password]`)),
	)
	waitJS(t, first, "the saved password", `location.search.includes('saved=password')`, 10*time.Second)
	changed := time.Now()

	// The visitor writes on (stored by backend 1, which sent the revocation first).
	if _, err := visitor.Send(ctx, "third question after the change"); err != nil {
		t.Fatal(err)
	}
	waitJS(t, second, "the second browser at the sign-in form", `location.pathname === '/inbox/login'`, 10*time.Second)
	t.Logf("second browser signed out %v after the password change", time.Since(changed).Round(time.Millisecond))
	shown := evalString(t, second, `sessionStorage.getItem('shown') || ''`)
	if !strings.Contains(shown, "second question") {
		t.Fatalf("the observer saw nothing: %q", shown)
	}
	if strings.Contains(shown, "third question") {
		t.Fatal("the signed-out browser received a message after the password change")
	}
	// The first browser stays signed in and sees it.
	runT(t, first, chromedp.Navigate(fmt.Sprintf("%s/inbox/conversations/%d", edge1, conv)))
	waitJS(t, first, "the third message for the session that changed it", threadHas("third question after the change"), 10*time.Second)
}

// signInAt signs in at the edge at base, as a person would.
func signInAt(t *testing.T, ctx context.Context, base, email, password string) {
	t.Helper()
	runT(t, ctx,
		chromedp.Navigate(base+"/inbox/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
	)
	waitJS(t, ctx, "the inbox list", `location.pathname === '/inbox'`, 10*time.Second)
}

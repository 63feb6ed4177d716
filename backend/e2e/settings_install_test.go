package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A page of another origin loads the chat; the admin's install page then
// says the chat was last seen on that origin, and when.
func TestInstallPageShowsWhereTheChatIsLive(t *testing.T) {
	s := StartSystem(t)
	visitor, admin := Tab(t), Tab(t)
	signIn(t, admin, s)
	runT(t, admin, chromedp.Navigate(s.Edge+"/inbox/settings/install"))
	waitJS(t, admin, "the install page", `document.getElementById('script-tag') && document.getElementById('seen-none')`, 10*time.Second)

	started := time.Now().Add(-time.Second)
	runT(t, visitor, chromedp.Navigate(s.Host()+"/demo/long.html"))
	waitJS(t, visitor, "the widget", ready, 20*time.Second)

	seen := `document.querySelector('[data-origin="` + s.Host() + `"] time')`
	deadline := time.Now().Add(30 * time.Second)
	for {
		runT(t, admin, chromedp.Navigate(s.Edge+"/inbox/settings/install"))
		if evalString(t, admin, `(`+seen+` || {}).textContent || ""`) != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the install page never showed %s:\n%s", s.Host(), evalString(t, admin, `document.getElementById('install-seen').innerText`))
		}
		time.Sleep(time.Second)
	}
	at, err := time.Parse(time.RFC3339, evalString(t, admin, seen+`.getAttribute('datetime')`))
	if err != nil || at.Before(started.Truncate(time.Second)) || at.After(time.Now().Add(time.Second)) {
		t.Fatalf("last seen at %v (%v), want since %v", at, err, started)
	}
	if line := evalString(t, admin, `document.querySelector('[data-origin="`+s.Host()+`"]').innerText`); line == "" {
		t.Fatal("no line for the origin")
	}
}

package e2e

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/backend/internal/store"
)

// TestLabelsAndReportsInBrowser: an agent puts a label on a conversation
// from the side panel of the real inbox (through the edge, in Chromium),
// then filters the list by it and keeps only that conversation, live
// socket and all; a label named with markup stays text. The reports page
// draws its charts as SVG with one bar per day of the range asked for.
func TestLabelsAndReportsInBrowser(t *testing.T) {
	s := StartSystem(t)
	ctx := context.Background()
	var account, inboxID, chatflowID int64
	if err := s.DB.QueryRow(`SELECT account_id, inbox_id, id FROM chatflows WHERE public_id = $1`, s.Demo.ChatflowID).Scan(&account, &inboxID, &chatflowID); err != nil {
		t.Fatal(err)
	}
	for _, l := range []map[string]any{{"name": "VIP", "color": "#aa3300"}, {"name": `<img src=x onerror="window.pwned=1">`, "color": "#2f80ed"}} {
		if code, out := liveREST(t, s, "POST", "/api/v1/labels", l); code != 201 {
			t.Fatalf("create label: %d %s", code, out)
		}
	}
	conv := func(text string) int64 {
		t.Helper()
		_, v, err := s.Store.CreateVisitor(ctx, account)
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := s.Store.CreateConversation(ctx, store.NewConversation{AccountID: account, ChatflowID: chatflowID, InboxID: inboxID, VisitorID: v.ID})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Store.AppendMessage(ctx, store.NewMessage{ConversationID: c.ID, AuthorType: store.AuthorVisitor, Body: text}); err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	vip, other := conv("I am a big customer"), conv("Just looking")
	row := func(id int64) string {
		return `!!document.querySelector('#conversations a[href="/inbox/conversations/` + strconv.FormatInt(id, 10) + `"]')`
	}

	agent := Tab(t)
	signIn(t, agent, s)
	runT(t, agent, chromedp.Navigate(fmt.Sprintf("%s/inbox/conversations/%d", s.Edge, vip)), chromedp.WaitVisible(chromedp.ID("add-label")))
	var vipID string
	if err := s.DB.Get(&vipID, `SELECT id::text FROM labels WHERE account_id = $1 AND name = 'VIP'`, account); err != nil {
		t.Fatal(err)
	}
	runT(t, agent, chromedp.SetValue(chromedp.ID("label-add"), vipID))
	press(t, agent, `[data-action=add-label]`, "the VIP chip", `document.getElementById('conv-labels') && document.getElementById('conv-labels').textContent.includes('VIP')`)
	axePage(t, agent, "a thread with a label")

	// The list, filtered by the label from its menu: only the VIP conversation,
	// also once the live socket has sent its list.
	runT(t, agent, chromedp.Navigate(s.Edge+"/inbox"), chromedp.WaitVisible(chromedp.ID("label-filter")))
	waitJS(t, agent, "both conversations listed", row(vip)+" && "+row(other), 10*time.Second)
	if opts := evalString(t, agent, `[...document.querySelectorAll('#label-filter option')].map(o => o.textContent).join('|')`); opts != `Any label|<img src=x onerror="window.pwned=1">|VIP` {
		t.Errorf("label menu: %q", opts)
	}
	runT(t, agent, chromedp.SetValue(chromedp.ID("label-filter"), vipID))
	runT(t, agent, chromedp.Click(chromedp.CSS(`[data-action=search]`)))
	waitJS(t, agent, "the filtered list", row(vip)+" && !"+row(other)+` && new URLSearchParams(location.search).get('label') === `+jsString(vipID), 15*time.Second)
	waitJS(t, agent, "the live socket", `document.querySelector('#live-status[data-state=live]')`, 10*time.Second)
	stays(t, agent, "the other conversation stays out of the filtered list", "!"+row(other)+" && "+row(vip), 2*time.Second)
	if chip := evalString(t, agent, `document.querySelector('#conversations .row-labels').textContent`); chip != "VIP" {
		t.Errorf("the row's label: %q", chip)
	}
	if pwned := evalString(t, agent, `String(window.pwned)`); pwned != "undefined" {
		t.Fatal("a label name ran as markup")
	}

	// Reports: fourteen days, fourteen bars; the week's 168 hours. The days
	// are the account's.
	today := demoNow(t)
	from := today.AddDate(0, 0, -13).Format(time.DateOnly)
	runT(t, agent, chromedp.Navigate(s.Edge+"/inbox/reports?from="+from+"&to="+today.Format(time.DateOnly)),
		chromedp.WaitVisible(chromedp.CSS(`#chart-conversations svg`)))
	for sel, want := range map[string]int{
		"#chart-conversations rect.bar": 14,
		"#chart-hours rect.heat":        168,
		"#report-agents tbody tr":       1,
	} {
		if got := evalString(t, agent, `String(document.querySelectorAll(`+jsString(sel)+`).length)`); got != strconv.Itoa(want) {
			t.Errorf("%s: %s, want %d", sel, got, want)
		}
	}
	if got := evalString(t, agent, `document.getElementById('total-conversations').textContent`); got != "2" {
		t.Errorf("conversations: %q", got)
	}
	if w := evalString(t, agent, `String(Math.round(document.querySelector('#chart-conversations svg').getBoundingClientRect().width))`); w == "0" {
		t.Error("the chart has no width")
	}
	axePage(t, agent, "the reports page")
	// The default range: the last 30 days.
	runT(t, agent, chromedp.Navigate(s.Edge+"/inbox/reports"), chromedp.WaitVisible(chromedp.CSS(`#chart-conversations svg`)))
	if got := evalString(t, agent, `String(document.querySelectorAll('#chart-conversations rect.bar').length)`); got != "30" {
		t.Errorf("default range: %s bars, want 30", got)
	}
}

// stays fails unless cond holds throughout d (checked every 100 ms): for
// something that must not happen, such as a live update undoing a filter.
func stays(t *testing.T, ctx context.Context, what, cond string, d time.Duration) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if evalString(t, ctx, `String(!!(`+cond+`))`) != "true" {
			t.Fatalf("%s: no longer holds", what)
		}
	}
}

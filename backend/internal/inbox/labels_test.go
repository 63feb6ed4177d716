package inbox_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/parleychat/parley/backend/internal/inbox"
	"github.com/parleychat/parley/backend/internal/store"
)

// Labels in the inbox: an editor makes them in the console (a hostile name
// stays text, a bad colour is named beside its field); an agent puts one on
// a conversation of their inbox from the side panel, sees it on the list
// row, filters the list by it and takes it off again; unknown and other
// accounts' labels are refused with a clear message, and so is a
// conversation outside the agent's inboxes.
func TestLabelsInTheInbox(t *testing.T) {
	e := setup(t, inbox.Config{})
	editor := e.withRole(e.bob, store.RoleEditor)
	const hostile = `<script>alert(1)</script>`
	p := editor.get("/inbox/settings/labels")
	if p.status != 200 || !strings.Contains(p.body, `id="new-label"`) {
		t.Fatalf("labels page: %d", p.status)
	}
	if p := editor.post("/inbox/settings/labels", url.Values{"name": {hostile}, "color": {"#aa0000"}}); p.status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", p.status, p.body)
	}
	p = editor.post("/inbox/settings/labels", url.Values{"name": {"Refund"}, "color": {"green"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="err-color"`) || !strings.Contains(p.body, `value="Refund"`) {
		t.Fatalf("bad colour: %d %s", p.status, p.body)
	}
	editor.post("/inbox/settings/labels", url.Values{"name": {"Refund"}, "color": {"#00aa00"}})
	p = editor.get("/inbox/settings/labels")
	if strings.Contains(p.body, hostile) || !strings.Contains(p.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatal("the label name is not escaped on the labels page")
	}
	labels, err := e.st.Labels(context.Background(), e.account)
	check(t, err)
	var evil, refund int64
	for _, l := range labels {
		if l.Name == hostile {
			evil = l.ID
		} else {
			refund = l.ID
		}
	}

	agent := e.withRole(e.alice, store.RoleAgent)
	if p := agent.get("/inbox/settings/labels"); p.status != http.StatusForbidden {
		t.Errorf("an agent opened the labels console: %d", p.status)
	}
	c1, _ := e.conversation(e.inboxA, "Vera")
	c2, _ := e.conversation(e.inboxA, "Walt")
	cB, _ := e.conversation(e.inboxB, "Xena")
	e.say(c1, "hello")
	e.say(c2, "hi")
	thread := fmt.Sprintf("/inbox/conversations/%d", c1)
	p = agent.get(thread)
	if !strings.Contains(p.body, `id="add-label"`) || strings.Contains(p.body, hostile) {
		t.Fatalf("side panel: no add form, or an unescaped name:\n%s", p.body)
	}
	if p := agent.post(thread+"/labels", url.Values{"label_id": {itoa(evil)}}); p.status != http.StatusSeeOther {
		t.Fatalf("add: %d %s", p.status, p.body)
	}
	p = agent.get(thread)
	chips := regexp.MustCompile(`(?s)<ul class="chips" id="conv-labels">.*?</ul>`).FindString(p.body)
	if !strings.Contains(chips, "&lt;script&gt;") || strings.Contains(p.body, hostile) {
		t.Fatalf("chip: %q", chips)
	}

	// The list: the row shows the label; the filter keeps only labelled ones.
	p = agent.get("/inbox")
	if !strings.Contains(p.body, `class="chips row-labels"`) || !strings.Contains(p.body, `id="label-filter"`) {
		t.Fatal("no labels on the list")
	}
	p = agent.get("/inbox?label=" + itoa(evil))
	if p.status != 200 || !strings.Contains(p.body, fmt.Sprintf(`href="/inbox/conversations/%d"`, c1)) ||
		strings.Contains(p.body, fmt.Sprintf(`href="/inbox/conversations/%d"`, c2)) || !strings.Contains(p.body, `data-label="`+itoa(evil)+`"`) {
		t.Fatalf("filtered list: %d\n%s", p.status, p.body)
	}
	if p := agent.get("/inbox?label=" + itoa(refund)); strings.Contains(p.body, `href="/inbox/conversations/`) {
		t.Error("a label nobody has lists conversations")
	}
	if p := agent.get("/inbox?view=open&q=hello&label=" + itoa(evil)); !strings.Contains(p.body, fmt.Sprintf(`href="/inbox/conversations/%d"`, c1)) {
		t.Error("search and label together lost the conversation")
	}
	if p := agent.get("/inbox?label=999999"); p.status != http.StatusNotFound || !strings.Contains(p.body, "no such label") {
		t.Errorf("unknown label filter: %d %s", p.status, p.body)
	}

	// Refused: an unknown label, another account's, a conversation of
	// another inbox, a missing CSRF token.
	other := &store.Account{Name: "Other"}
	check(t, e.st.CreateAccount(context.Background(), other))
	foreign := &store.Label{AccountID: other.ID, Name: "Theirs", Color: "#000000"}
	check(t, e.st.CreateLabel(context.Background(), foreign))
	for _, id := range []string{"999999", itoa(foreign.ID), "x"} {
		p := agent.post(thread+"/labels", url.Values{"label_id": {id}})
		if p.status != http.StatusUnprocessableEntity || !(strings.Contains(p.body, "No such label") || strings.Contains(p.body, "Choose a label")) {
			t.Errorf("label %s: %d %s", id, p.status, p.body)
		}
	}
	if p := agent.get("/inbox?label=" + itoa(foreign.ID)); p.status != http.StatusNotFound {
		t.Errorf("another account's label as a filter: %d", p.status)
	}
	if p := agent.post(fmt.Sprintf("/inbox/conversations/%d/labels", cB), url.Values{"label_id": {itoa(refund)}}); p.status != http.StatusForbidden {
		t.Errorf("a conversation outside the agent's inboxes: %d", p.status)
	}
	if p := agent.do("POST", thread+"/labels", url.Values{"label_id": {itoa(refund)}}, nil); p.status == http.StatusSeeOther {
		t.Error("added without a CSRF token")
	}
	ls, err := e.st.ConversationLabels(context.Background(), e.account, c1)
	check(t, err)
	if len(ls) != 1 {
		t.Fatalf("labels after the refusals: %+v", ls)
	}

	// Off again.
	if p := agent.post(fmt.Sprintf("%s/labels/%d/remove", thread, evil), nil); p.status != http.StatusSeeOther {
		t.Fatalf("remove: %d %s", p.status, p.body)
	}
	if p := agent.get(thread); strings.Contains(p.body, `id="conv-labels"`) {
		t.Error("the chip is still there")
	}
}

func itoa(n int64) string { return fmt.Sprint(n) }

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

package inbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/inbox"
	"github.com/parleychat/parley/backend/internal/store"
)

func init() {
	editorPaths = append(editorPaths, "/inbox/settings/chatflows", "/inbox/settings/chatflows/new?channel=website")
}

// formOf reads the form with id from a page as a browser without
// JavaScript would submit it: hidden and text inputs, checked boxes and
// radios, selected options and textareas (no button).
func formOf(t *testing.T, body, id string) url.Values {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	attr := func(n *html.Node, k string) (string, bool) {
		for _, a := range n.Attr {
			if a.Key == k {
				return a.Val, true
			}
		}
		return "", false
	}
	var form *html.Node
	var find func(n *html.Node)
	find = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "form" {
			if v, _ := attr(n, "id"); v == id {
				form = n
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			find(c)
		}
	}
	find(doc)
	if form == nil {
		t.Fatalf("no form #%s in %s", id, body)
	}
	out := url.Values{}
	var text func(n *html.Node) string
	text = func(n *html.Node) string {
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.TextNode {
				b.WriteString(c.Data)
			} else {
				b.WriteString(text(c))
			}
		}
		return b.String()
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			name, named := attr(n, "name")
			switch n.Data {
			case "input":
				typ, _ := attr(n, "type")
				val, _ := attr(n, "value")
				_, checked := attr(n, "checked")
				switch {
				case !named || typ == "submit" || typ == "file":
				case typ == "checkbox" || typ == "radio":
					if checked {
						if val == "" {
							val = "on"
						}
						out.Add(name, val)
					}
				default:
					out.Add(name, val)
				}
			case "textarea":
				if named {
					out.Add(name, strings.TrimPrefix(text(n), "\n"))
				}
			case "select":
				first, chosen := "", ""
				found := false
				for o := n.FirstChild; o != nil; o = o.NextSibling {
					if o.Type != html.ElementNode || o.Data != "option" {
						continue
					}
					v, ok := attr(o, "value")
					if !ok {
						v = text(o)
					}
					if first == "" {
						first = v
					}
					if _, sel := attr(o, "selected"); sel && !found {
						chosen, found = v, true
					}
				}
				if !found {
					chosen = first
				}
				if named {
					out.Add(name, chosen)
				}
				return
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(form)
	return out
}

// submit posts form (as read from the page, changed by the test) to path.
func (b *browser) submit(path string, form url.Values) page {
	b.e.t.Helper()
	return b.do("POST", path, form, nil)
}

// restChatflow reads a chatflow as REST shows it.
func (e *env) restChatflow(id int64) chatflow.Chatflow {
	e.t.Helper()
	row, err := e.st.Chatflow(context.Background(), e.account, id)
	if err != nil {
		e.t.Fatal(err)
	}
	cf, err := chatflow.FromRow(row)
	if err != nil {
		e.t.Fatal(err)
	}
	return *cf
}

var editorURL = regexp.MustCompile(`^/inbox/settings/chatflows/(\d+)\?notice=created$`)

// An editor with no chatflow is offered the setup dialog, walks the
// creation steps (setup, workspace, type, knowledge base) with forms
// alone, and lands in the editor of the new chatflow.
func TestChatflowCreationSteps(t *testing.T) {
	e := setup(t, inbox.Config{})
	ed := e.withRole(e.bob, store.RoleEditor)

	p := ed.get("/inbox/settings/chatflows")
	if p.status != 200 || !strings.Contains(p.body, `id="setup-dialog"`) {
		t.Fatalf("first visit: no setup dialog: %d %s", p.status, p.body)
	}
	p = ed.get("/inbox/settings/chatflows/new?channel=website")
	if !strings.Contains(p.body, "Set up your chat") || !strings.Contains(p.body, `name="accent"`) {
		t.Fatalf("the first website chatflow does not start with the setup step: %s", p.body)
	}
	f := formOf(t, p.body, "wizard-form")
	f.Set("accent", "#aa3300")
	f.Set("brand", "Acme Support")
	f.Set("welcome", "Hello from Acme")
	f.Set("mode", "office_hours")
	p = ed.get("/inbox/settings/chatflows/new?" + f.Encode())
	if !strings.Contains(p.body, `name="inbox_id"`) {
		t.Fatalf("step 2 is not the workspace: %s", p.body)
	}
	// Step 2 without an inbox: the create fails later and comes back here.
	f = formOf(t, p.body, "wizard-form")
	f.Set("name", "Pricing chat")
	p = ed.get("/inbox/settings/chatflows/new?" + f.Encode())
	f = formOf(t, p.body, "wizard-form")
	if f.Get("type") != chatflow.TypeLiveAgent {
		t.Fatalf("step 3 has no type chosen: %v", f)
	}
	p = ed.get("/inbox/settings/chatflows/new?" + f.Encode())
	f = formOf(t, p.body, "wizard-form")
	p = ed.submit("/inbox/settings/chatflows/new", f)
	if p.status != 400 || !strings.Contains(p.body, `id="err-inbox_id"`) || !strings.Contains(p.body, `name="inbox_id"`) {
		t.Fatalf("create without an inbox: %d, want the workspace step with the message beside the inbox: %s", p.status, p.body)
	}
	f = formOf(t, p.body, "wizard-form")
	if f.Get("name") != "Pricing chat" || f.Get("accent") != "#aa3300" {
		t.Fatalf("typed values lost: %v", f)
	}
	f.Set("inbox_id", fmt.Sprint(e.inboxA))
	// Forward through the remaining steps to Create.
	for i := 0; i < 3 && f.Get("csrf_token") == ""; i++ {
		p = ed.get("/inbox/settings/chatflows/new?" + f.Encode())
		f = formOf(t, p.body, "wizard-form")
	}
	p = ed.submit("/inbox/settings/chatflows/new", f)
	m := editorURL.FindStringSubmatch(location(p))
	if p.status != http.StatusSeeOther || m == nil {
		t.Fatalf("create: %d %q %s", p.status, location(p), p.body)
	}
	var id int64
	fmt.Sscan(m[1], &id)
	cf := e.restChatflow(id)
	if cf.Name != "Pricing chat" || cf.Look.AccentColor != "#aa3300" || cf.Look.Heading.BrandName != "Acme Support" ||
		cf.Welcome.Messages["en"] != "Hello from Acme" || cf.Availability.Mode != "office_hours" || len(cf.Availability.OfficeHours) != 5 || cf.Enabled {
		t.Fatalf("created: %+v", cf)
	}
	if p := ed.get(location(p)); p.status != 200 || !strings.Contains(p.body, "The chatflow was created") {
		t.Fatalf("editor after create: %d", p.status)
	}
	// The second chatflow skips the setup step; a mobile one asks for its tag.
	p = ed.get("/inbox/settings/chatflows/new?channel=mobile")
	if strings.Contains(p.body, `name="accent" type`) || !strings.Contains(p.body, `name="mobile_tag"`) {
		t.Fatalf("mobile step 1: %s", p.body)
	}
	if p := ed.get("/inbox/settings/chatflows"); strings.Contains(p.body, `id="setup-dialog"`) || !strings.Contains(p.body, "Pricing chat") {
		t.Fatalf("list after create: %s", p.body)
	}
}

// createCF makes a chatflow through the store, as REST would.
func (e *env) createCF(name string, priority int) int64 {
	e.t.Helper()
	cf := chatflow.Default()
	cf.Name, cf.InboxID, cf.Priority = name, e.inboxA, priority
	row, err := cf.Row(e.account)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.CreateChatflow(context.Background(), row); err != nil {
		e.t.Fatal(err)
	}
	return row.ID
}

// The list publishes, orders and deletes chatflows.
func TestChatflowListPublishOrderDelete(t *testing.T) {
	e := setup(t, inbox.Config{})
	ed := e.withRole(e.bob, store.RoleEditor)
	a, b := e.createCF("Alpha", 5), e.createCF("Beta", 1)

	p := ed.get("/inbox/settings/chatflows")
	if strings.Index(p.body, "Alpha") > strings.Index(p.body, "Beta") || !strings.Contains(p.body, "Support") {
		t.Fatalf("list order or inbox: %s", p.body)
	}
	// Publish Beta.
	p = ed.post(fmt.Sprintf("/inbox/settings/chatflows/%d/enabled", b), url.Values{"enabled": {"1"}, "version": {"1"}})
	if p.status != http.StatusSeeOther || !e.restChatflow(b).Enabled {
		t.Fatalf("publish: %d %v", p.status, e.restChatflow(b).Enabled)
	}
	// The same switch from a stale page is refused.
	p = ed.post(fmt.Sprintf("/inbox/settings/chatflows/%d/enabled", b), url.Values{"enabled": {"0"}, "version": {"1"}})
	if !strings.Contains(location(p), "notice=stale") || !e.restChatflow(b).Enabled {
		t.Fatalf("stale switch: %q", location(p))
	}
	// Move Beta up: it now comes first.
	p = ed.post(fmt.Sprintf("/inbox/settings/chatflows/%d/priority", b), url.Values{"move": {"up"}, "version": {"2"}})
	if p.status != http.StatusSeeOther || e.restChatflow(b).Priority <= e.restChatflow(a).Priority {
		t.Fatalf("move up: %d %d %d", p.status, e.restChatflow(b).Priority, e.restChatflow(a).Priority)
	}
	if p := ed.get("/inbox/settings/chatflows"); strings.Index(p.body, "Beta") > strings.Index(p.body, "Alpha") {
		t.Fatal("Beta is not first after moving up")
	}
	// A priority out of range: the message beside that row's field.
	v := e.restChatflow(a).Version
	p = ed.post(fmt.Sprintf("/inbox/settings/chatflows/%d/priority", a), url.Values{"priority": {"99999999"}, "version": {fmt.Sprint(v)}})
	if p.status != 400 || !strings.Contains(p.body, fmt.Sprintf(`id="err-priority-%d"`, a)) {
		t.Fatalf("bad priority: %d %s", p.status, p.body)
	}
	// Delete asks first.
	p = ed.get(fmt.Sprintf("/inbox/settings/chatflows/%d/delete", a))
	if !strings.Contains(p.body, "Delete Alpha?") {
		t.Fatalf("delete confirmation: %s", p.body)
	}
	if p = ed.post(fmt.Sprintf("/inbox/settings/chatflows/%d/delete", a), nil); p.status != http.StatusSeeOther {
		t.Fatalf("delete: %d", p.status)
	}
	if _, err := e.st.Chatflow(context.Background(), e.account, a); err == nil {
		t.Fatal("Alpha still exists")
	}
}

// Each tab saves through REST, shows REST's messages beside the fields,
// keeps what was typed, and refuses a save over someone else's.
func TestChatflowEditorTabs(t *testing.T) {
	e := setup(t, inbox.Config{})
	ed := e.withRole(e.bob, store.RoleEditor)
	id := e.createCF("Web", 0)
	base := fmt.Sprintf("/inbox/settings/chatflows/%d", id)

	open := func(tab string) url.Values {
		t.Helper()
		p := ed.get(base + "?tab=" + tab)
		if p.status != 200 {
			t.Fatalf("%s tab: %d %s", tab, p.status, p.body)
		}
		return formOf(t, p.body, "chatflow-form")
	}
	save := func(f url.Values, want int) page {
		t.Helper()
		p := ed.submit(base, f)
		if p.status != want {
			t.Fatalf("save %s: %d, want %d: %s", f.Get("tab"), p.status, want, p.body)
		}
		return p
	}
	fieldErr := func(p page, path string) {
		t.Helper()
		if !strings.Contains(p.body, `id="err-`+path+`"`) || !strings.Contains(p.body, `aria-describedby="err-`+path+`"`) {
			t.Fatalf("no message beside %s: %s", path, p.body)
		}
	}

	// Build: office hours with two ranges on Monday, added without saving.
	f := open("build")
	f.Set("availability.mode", "office_hours")
	f.Set("look.heading.brand_name", "Acme")
	f.Set("welcome.messages.nl", "Hallo!")
	f.Set("add", "availability.office_hours")
	p := save(f, 200)
	f = formOf(t, p.body, "chatflow-form")
	if f.Get("look.heading.brand_name") != "Acme" || f.Get("availability.office_hours[0].day") != "monday" {
		t.Fatalf("add range lost typed values: %v", f)
	}
	f.Set("add", "availability.office_hours")
	p = save(f, 200)
	f = formOf(t, p.body, "chatflow-form")
	f.Set("availability.office_hours[1].start", "13:00")
	f.Set("availability.office_hours[1].end", "12:00")
	p = save(f, 400)
	fieldErr(p, "availability.office_hours[1].end")
	f = formOf(t, p.body, "chatflow-form")
	if f.Get("availability.office_hours[1].start") != "13:00" || f.Get("welcome.messages.nl") != "Hallo!" {
		t.Fatalf("typed values lost after an error: %v", f)
	}
	f.Set("availability.office_hours[0].end", "12:00")
	f.Set("availability.office_hours[1].end", "17:30")
	save(f, http.StatusSeeOther)
	cf := e.restChatflow(id)
	if cf.Availability.Mode != "office_hours" || len(cf.Availability.OfficeHours) != 2 || cf.Availability.OfficeHours[1].End != "17:30" ||
		cf.Look.Heading.BrandName != "Acme" || cf.Welcome.Messages["nl"] != "Hallo!" {
		t.Fatalf("build saved: %+v", cf)
	}
	// Removing a range.
	f = open("build")
	f.Set("remove", "availability.office_hours[0]")
	p = save(f, 200)
	f = formOf(t, p.body, "chatflow-form")
	if f.Get("availability.office_hours[0].start") != "13:00" || f.Has("availability.office_hours[1].day") {
		t.Fatalf("remove range: %v", f)
	}
	f.Set("look.accent_color", "blue")
	fieldErr(save(f, 400), "look.accent_color")

	// Target: a group with a URL rule, a second group, an exclusion.
	f = open("target")
	f.Set("add", "targeting.groups")
	f = formOf(t, save(f, 200).body, "chatflow-form")
	f.Set("targeting.groups[0].rules[0].value", "/pricing")
	f.Set("add", "targeting.groups[0].rules")
	f = formOf(t, save(f, 200).body, "chatflow-form")
	f.Set("targeting.groups[0].rules[1].kind", "query_param")
	f.Set("targeting.groups[0].rules[1].op", "is")
	f.Set("targeting.groups[0].rules[1].value", "spring")
	f.Set("add", "targeting.exclusions")
	f = formOf(t, save(f, 200).body, "chatflow-form")
	f.Set("targeting.exclusions[0].value", "/privacy")
	p = save(f, 400)
	fieldErr(p, "targeting.groups[0].rules[1].name")
	if !strings.Contains(p.body, "AND") || !strings.Contains(p.body, "Never shows when") {
		t.Fatalf("targeting in words: %s", p.body)
	}
	f = formOf(t, p.body, "chatflow-form")
	f.Set("targeting.groups[0].rules[1].name", "utm_campaign")
	save(f, http.StatusSeeOther)
	cf = e.restChatflow(id)
	if len(cf.Targeting.Groups) != 1 || len(cf.Targeting.Groups[0].Rules) != 2 || cf.Targeting.Groups[0].Rules[0].Value != "/pricing" ||
		cf.Targeting.Groups[0].Rules[1].Name != "utm_campaign" || len(cf.Targeting.Exclusions) != 1 {
		t.Fatalf("target saved: %+v", cf.Targeting)
	}

	// Display: a number that is not one keeps what was typed.
	f = open("display")
	f.Set("display.triggers.time_on_page", "ten")
	p = save(f, 400)
	fieldErr(p, "display.triggers.time_on_page")
	if formOf(t, p.body, "chatflow-form").Get("display.triggers.time_on_page") != "ten" {
		t.Fatal("the typed trigger was lost")
	}
	f.Set("display.triggers.time_on_page", "10")
	f.Set("display.desktop", "open_on_trigger")
	save(f, http.StatusSeeOther)
	if cf = e.restChatflow(id); cf.Display.Triggers.TimeOnPage != 10 || cf.Display.Desktop != "open_on_trigger" {
		t.Fatalf("display saved: %+v", cf.Display)
	}

	// Options: a custom ticket property, consent text reset, a bad link.
	f = open("options")
	f.Set("add", "tickets.custom")
	f.Set("options.cookie_consent.text", "Cookies?")
	f = formOf(t, save(f, 200).body, "chatflow-form")
	f.Set("tickets.custom[0].name", "source")
	f.Set("tickets.custom[0].value", "website")
	f.Set("options.data_consent.privacy_url", "not a link")
	p = save(f, 400)
	fieldErr(p, "options.data_consent.privacy_url")
	f = formOf(t, p.body, "chatflow-form")
	f.Set("options.data_consent.privacy_url", "https://acme.example/privacy")
	save(f, http.StatusSeeOther)
	if cf = e.restChatflow(id); cf.Tickets.Properties["source"] != "website" || cf.Options.CookieConsent.Text != "Cookies?" ||
		cf.Options.DataConsent.PrivacyURL != "https://acme.example/privacy" {
		t.Fatalf("options saved: %+v %+v", cf.Tickets, cf.Options)
	}
	f = open("options")
	f.Set("reset", "options.cookie_consent.text")
	if formOf(t, save(f, 200).body, "chatflow-form").Get("options.cookie_consent.text") != "" {
		t.Fatal("reset to default kept the text")
	}

	// Stale: someone saves between opening and saving; the typed values stay.
	f = open("build")
	other := e.restChatflow(id)
	other.Name = "Renamed meanwhile"
	row, _ := other.Row(e.account)
	if err := e.st.UpdateChatflow(context.Background(), row, other.Version); err != nil {
		t.Fatal(err)
	}
	f.Set("look.heading.brand_name", "Typed brand")
	p = save(f, http.StatusConflict)
	if !strings.Contains(p.body, "Someone saved this meanwhile") || formOf(t, p.body, "chatflow-form").Get("look.heading.brand_name") != "Typed brand" {
		t.Fatalf("stale save: %s", p.body)
	}
	if e.restChatflow(id).Look.Heading.BrandName != "Acme" {
		t.Fatal("the stale save was stored")
	}
	raw, _ := json.Marshal(e.restChatflow(id).Name)
	if string(raw) != `"Renamed meanwhile"` {
		t.Fatalf("the other save was lost: %s", raw)
	}
}

// The live preview shows the unsaved form: the draft is validated by REST
// without saving and the preview config serves it in the chosen state.
func TestChatflowPreviewDraft(t *testing.T) {
	e := setup(t, inbox.Config{})
	ed := e.withRole(e.bob, store.RoleEditor)
	id := e.createCF("Web", 0)
	base := fmt.Sprintf("/inbox/settings/chatflows/%d", id)

	p := ed.get(base + "?tab=build")
	if !strings.Contains(p.body, `id="live-preview"`) || !strings.Contains(p.body, "chatflow-preview") {
		t.Fatalf("no preview beside the editor: %s", p.body)
	}
	f := formOf(t, p.body, "chatflow-form")
	f.Set("look.heading.brand_name", "Unsaved Brand")
	f.Set("availability.mode", "office_hours")
	f.Set("availability.offline.behaviour", "away_message")
	f.Set("availability.offline.message", "We are closed")
	f.Set("add", "availability.office_hours") // the draft reads the form as a save does
	json1 := map[string]string{"Accept": "application/json"}
	r := ed.do("POST", base+"/draft", f, json1)
	if r.status != 200 {
		t.Fatalf("draft: %d %s", r.status, r.body)
	}
	var d struct{ ID string }
	json.Unmarshal([]byte(r.body), &d)
	if d.ID == "" {
		t.Fatalf("no draft id: %s", r.body)
	}
	cfg := ed.get(fmt.Sprintf("/inbox/chatflows/%d/preview/config?draft=%s&state=offline&consent=0", id, d.ID))
	var conf struct {
		Chatflows []struct {
			HeadingName string `json:"heading_name"`
			Presence    struct{ State, Text string }
			Consents    map[string]any
		}
	}
	if err := json.Unmarshal([]byte(cfg.body), &conf); err != nil || len(conf.Chatflows) != 1 {
		t.Fatalf("config: %d %s", cfg.status, cfg.body)
	}
	got := conf.Chatflows[0]
	if got.HeadingName != "Unsaved Brand" || got.Presence.State != "offline" || got.Presence.Text != "We are closed" || len(got.Consents) != 0 {
		t.Fatalf("preview config: %+v", got)
	}
	if e.restChatflow(id).Look.Heading.BrandName != "" {
		t.Fatal("the draft was saved")
	}
	// The app screen frame of the draft names the same config.
	fr := ed.get(fmt.Sprintf("/inbox/chatflows/%d/preview/frame?draft=%s&state=away&app=1", id, d.ID))
	if !strings.Contains(fr.body, `id="app-chat"`) || !strings.Contains(fr.body, "draft="+d.ID) {
		t.Fatalf("app frame: %s", fr.body)
	}
	// Bad input: REST's messages, no draft.
	f.Set("look.accent_color", "nope")
	r = ed.do("POST", base+"/draft", f, json1)
	if r.status != 400 || !strings.Contains(r.body, "look.accent_color") {
		t.Fatalf("bad draft: %d %s", r.status, r.body)
	}
	// Someone else cannot read the draft.
	carol := &store.User{AccountID: e.account, Email: "carol@example.com", Name: "Carol", PasswordHash: e.alice.PasswordHash}
	if err := e.st.CreateUser(context.Background(), carol); err != nil {
		t.Fatal(err)
	}
	other := e.withRole(carol, store.RoleAdmin)
	if p := other.get(fmt.Sprintf("/inbox/chatflows/%d/preview/config?draft=%s", id, d.ID)); p.status != 404 {
		t.Fatalf("another person's draft: %d", p.status)
	}
}

// The saved chatflow's preview page frames a mobile chatflow as one app screen.
func TestMobilePreviewPageIsAnAppScreen(t *testing.T) {
	e := setup(t, inbox.Config{})
	ed := e.withRole(e.bob, store.RoleEditor)
	cf := chatflow.Default()
	cf.Name, cf.InboxID, cf.Channel, cf.MobileTag = "App", e.inboxA, chatflow.ChannelMobile, "app.main"
	row, _ := cf.Row(e.account)
	if err := e.st.CreateChatflow(context.Background(), row); err != nil {
		t.Fatal(err)
	}
	p := ed.get(fmt.Sprintf("/inbox/chatflows/%d/preview/", row.ID))
	if n := strings.Count(p.body, "<iframe"); n != 1 || !strings.Contains(p.body, "preview/frame?app=1") {
		t.Fatalf("mobile preview page: %d frames: %s", n, p.body)
	}
	if p := ed.get(fmt.Sprintf("/inbox/settings/chatflows/%d", row.ID)); !strings.Contains(p.body, `id="tab-mobile"`) || !strings.Contains(p.body, `data-device="app"`) {
		t.Fatalf("mobile editor: no Mobile details tab or app screen: %s", p.body)
	}
}

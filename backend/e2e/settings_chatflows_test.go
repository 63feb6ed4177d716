package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// byName is a CSS selector for the form field named name (REST JSON paths
// hold dots and brackets, so ids would need escaping).
func byName(name string) string { return fmt.Sprintf(`[name=%q]`, name) }

// setFields sets form fields by name, as typing would (input events fire,
// so the live preview follows).
func setFields(values map[string]string) chromedp.Action[chromedp.Void] {
	b, _ := json.Marshal(values)
	return js(`for (const [n, v] of Object.entries(` + string(b) + `)) {
		const el = document.querySelector('[name="' + n + '"]');
		if (!el) throw new Error('no field ' + n);
		el.value = v;
		el.dispatchEvent(new Event('input', {bubbles: true}));
		el.dispatchEvent(new Event('change', {bubbles: true}));
	}`)
}

// press clicks the element sel (a submit button or link) and waits until a
// new page is loaded and cond holds on it.
func press(t *testing.T, ctx context.Context, sel, what, cond string) {
	t.Helper()
	runT(t, ctx, js(`window.__oldPage = true; document.querySelector(`+jsString(sel)+`).click()`))
	waitJS(t, ctx, what, `document.readyState === 'complete' && !window.__oldPage && (`+cond+`)`, 15*time.Second)
}

func jsString(s string) string { b, _ := json.Marshal(s); return string(b) }

// beside is true when the message of field shows beside it.
func beside(field, want string) string {
	return fmt.Sprintf(`(document.getElementById(%s)||{textContent:''}).textContent.includes(%s) && document.querySelector(%s).getAttribute('aria-describedby') === %s`,
		jsString("err-"+field), jsString(want), jsString(byName(field)), jsString("err-"+field))
}

// axePage runs axe-core on the page (the preview's frames aside: the
// widget has its own check) and fails on serious or critical violations.
func axePage(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	if evalString(t, ctx, `typeof axe`) == "undefined" {
		runT(t, ctx, js(axeCore(t)))
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run({exclude: [['#preview-stage']]}, {resultTypes: ['violations']}).then(r =>
		r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join('; ')).join('\n'))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if res != "" {
		t.Errorf("axe-core violations on %s:\n%s", what, res)
	}
}

// TestConsoleChatflows: a new admin (an invitation) makes a website
// chatflow only through the console: the creation steps, office hours, an
// uploaded brand image and a "URL contains /pricing" rule in the editor's
// tabs (each tab refusing one bad input beside its field, keeping what was
// typed), a stale save refused, the live preview on mobile in the offline
// state, then publishes it. A page of another origin at /pricing shows its
// heading, image and presence; /about does not. A mobile chatflow made the
// same way resolves by its tag through the Go SDK. axe-core checks the
// pages on the way.
func TestConsoleChatflows(t *testing.T) {
	s := StartSystem(t)
	_, inbox := demoFlow(t, s)
	code, out := liveREST(t, s, "POST", "/api/v1/users", map[string]any{"email": "nina@demo.parley.test", "name": "Nina Admin",
		"role": "admin", "has_seat": true})
	var u map[string]any
	json.Unmarshal([]byte(out), &u)
	link, _ := u["invitation_url"].(string)
	if code != 201 || link == "" {
		t.Fatalf("invite an admin: %d %s", code, out)
	}
	admin := Tab(t)
	runT(t, admin, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("invite")),
		chromedp.SendKeys(chromedp.ID("new-password"), "nina-password-1"),
		chromedp.SendKeys(chromedp.ID("new-password-again"), "nina-password-1"),
		chromedp.Click(chromedp.CSS(`[data-action=set-password]`)))
	waitJS(t, admin, "the new admin signed in", `location.pathname === '/inbox' && document.querySelector('.who').textContent === 'Nina Admin'`, 10*time.Second)

	// Create: Website → workspace → type → knowledge base → Create.
	runT(t, admin, chromedp.Navigate(s.Edge+"/inbox/settings/chatflows"), chromedp.WaitVisible(chromedp.ID("create-website")))
	axePage(t, admin, "the chatflow list")
	press(t, admin, "#create-website", "the workspace step", `!!document.querySelector('[name=inbox_id]')`)
	axePage(t, admin, "a creation step")
	runT(t, admin, setFields(map[string]string{"name": "Pricing chat", "inbox_id": fmt.Sprint(inbox)}))
	press(t, admin, "#wizard-next", "the type step", `!!document.querySelector('[name=type]:checked')`)
	press(t, admin, "#wizard-next", "the knowledge base step", `!!document.querySelector('[name=kb_id]')`)
	press(t, admin, "#wizard-next", "the editor", `!!document.getElementById('chatflow-form')`)
	var id int64
	if err := s.DB.Get(&id, `SELECT id FROM chatflows WHERE name = 'Pricing chat'`); err != nil {
		t.Fatal(err)
	}
	editor := fmt.Sprintf("%s/inbox/settings/chatflows/%d", s.Edge, id)

	// Build: heading, office hours on a day that is not today anywhere.
	day := strings.ToLower(time.Now().UTC().AddDate(0, 0, 3).Weekday().String())
	runT(t, admin, setFields(map[string]string{"look.heading.brand_name": "Pricing Team", "availability.mode": "office_hours"}))
	press(t, admin, "#add-hours", "a new range", `!!document.querySelector('[name="availability.office_hours[0].day"]')`)
	if v := evalString(t, admin, `document.querySelector('[name="look.heading.brand_name"]').value`); v != "Pricing Team" {
		t.Fatalf("adding a range lost the typed brand name: %q", v)
	}
	runT(t, admin, setFields(map[string]string{"availability.office_hours[0].day": day,
		"availability.office_hours[0].start": "10:00", "availability.office_hours[0].end": "09:00"}))
	press(t, admin, "#save", "the office hours message", beside("availability.office_hours[0].end", "must be after start"))
	axePage(t, admin, "the build tab with a message")
	runT(t, admin, setFields(map[string]string{"availability.office_hours[0].start": "09:00", "availability.office_hours[0].end": "10:00"}))
	press(t, admin, "#save", "build saved", `document.getElementById('notice') && document.getElementById('notice').textContent === 'Saved.'`)
	// The brand image: an animated GIF uploaded from the Build tab.
	gifFile := filepath.Join(t.TempDir(), "brand.gif")
	if err := os.WriteFile(gifFile, animatedGIF(t), 0o644); err != nil {
		t.Fatal(err)
	}
	runT(t, admin, chromedp.SetUploadFiles(chromedp.ID("image-upload-file"), []string{gifFile}))
	press(t, admin, "#image-upload-submit", "the uploaded brand image", `!!document.getElementById('image-current') && document.querySelector('[name="look.heading.brand_name"]').value === 'Pricing Team'`)

	// Target: a filter group "URL contains /pricing"; an empty exclusion is refused.
	press(t, admin, "#tab-target", "the target tab", `!!document.getElementById('add-group')`)
	press(t, admin, "#add-group", "a group", `!!document.querySelector('[name="targeting.groups[0].rules[0].value"]')`)
	runT(t, admin, setFields(map[string]string{"targeting.groups[0].rules[0].value": "/pricing"}))
	press(t, admin, "#add-exclusion", "an exclusion", `!!document.querySelector('[name="targeting.exclusions[0].value"]')`)
	press(t, admin, "#save", "the exclusion message", beside("targeting.exclusions[0].value", "is required"))
	axePage(t, admin, "the target tab with a message")
	if w := evalString(t, admin, `document.getElementById('targeting-words').textContent`); !strings.Contains(w, `Website URL contains "/pricing"`) {
		t.Fatalf("targeting in words: %q", w)
	}
	press(t, admin, `[name=remove][value="targeting.exclusions[0]"]`, "the exclusion removed", `!document.querySelector('[name="targeting.exclusions[0].value"]')`)
	press(t, admin, "#save", "target saved", `document.getElementById('notice') && document.getElementById('tab-target').getAttribute('aria-current') === 'page'`)

	// Display and Options: one bad input each, beside its field.
	press(t, admin, "#tab-display", "the display tab", `!!document.querySelector('[name="display.desktop"]')`)
	runT(t, admin, setFields(map[string]string{"display.triggers.time_on_page": "soon"}))
	press(t, admin, "#save", "the trigger message", beside("display.triggers.time_on_page", "must be an integer"))
	axePage(t, admin, "the display tab with a message")
	if v := evalString(t, admin, `document.querySelector('[name="display.triggers.time_on_page"]').value`); v != "soon" {
		t.Fatalf("the typed trigger was lost: %q", v)
	}
	press(t, admin, "#tab-options", "the options tab", `!!document.querySelector('[name="options.data_consent.privacy_url"]')`)
	runT(t, admin, setFields(map[string]string{"options.data_consent.privacy_url": "privacy please", "priority": "100"}))
	press(t, admin, "#save", "the privacy link message", beside("options.data_consent.privacy_url", "http or https URL"))
	axePage(t, admin, "the options tab with a message")
	runT(t, admin, setFields(map[string]string{"options.data_consent.privacy_url": "https://demo.parley.test/privacy"}))
	press(t, admin, "#save", "options saved", `document.getElementById('notice') && document.getElementById('tab-options').getAttribute('aria-current') === 'page'`)

	// A stale edit: someone renames it meanwhile; the typed text stays.
	press(t, admin, "#tab-build", "the build tab", `!!document.querySelector('[name="welcome.messages.en"]')`)
	if code, out := liveREST(t, s, "PATCH", fmt.Sprintf("/api/v1/chatflows/%d", id), map[string]any{"name": "Pricing chat (renamed)"}); code != 200 {
		t.Fatalf("the other save: %d %s", code, out)
	}
	runT(t, admin, setFields(map[string]string{"welcome.messages.en": "Questions about our prices?"}))
	press(t, admin, "#save", "the stale message", `(document.getElementById('stale')||{textContent:''}).textContent.includes('Someone saved this meanwhile')`)
	if v := evalString(t, admin, `document.querySelector('[name="welcome.messages.en"]').value`); v != "Questions about our prices?" {
		t.Fatalf("the stale save lost the typed welcome: %q", v)
	}
	var welcome string
	s.DB.Get(&welcome, `SELECT coalesce(settings->'welcome'->'messages'->>'en', '') FROM chatflows WHERE id = $1`, id)
	if welcome != "" {
		t.Fatal("the stale save was stored")
	}

	// The live preview beside the form: mobile, offline, unsaved heading.
	runT(t, admin, setFields(map[string]string{"look.heading.brand_name": "Pricing Team"}))
	runT(t, admin, js(`document.querySelector("[data-device=mobile]").click()`))
	runT(t, admin, js(`const s = document.getElementById('preview-state'); s.value = 'offline'; s.dispatchEvent(new Event('change'))`))
	frame := `document.getElementById('preview-frame')`
	fw := frame + `.contentDocument.getElementById('parley-widget').shadowRoot`
	waitJS(t, admin, "the mobile offline preview", frame+`.src.includes('state=offline') && `+frame+`.contentWindow.Parley && `+frame+`.contentWindow.Parley.status() === 'ready' && `+
		fw+`.querySelector('[data-parley=root]').dataset.device === 'mobile' && `+fw+`.querySelector('[data-parley=heading-name]').textContent === 'Pricing Team' && `+
		fw+`.querySelector('[data-parley=presence]').textContent.includes('09:00')`, 30*time.Second)
	press(t, admin, "#save", "build saved again", `document.getElementById('notice') && document.getElementById('notice').textContent === 'Saved.'`)
	press(t, admin, "#publish", "published", `document.getElementById('publish').getAttribute('aria-checked') === 'true'`)

	// A visitor on another origin: /pricing shows it, /about does not.
	visitor := Tab(t)
	heading := shadow + `.querySelector('[data-parley=heading-name]').textContent`
	waitUntil(t, "the published chatflow on /pricing", 20*time.Second, func() bool {
		runT(t, visitor, chromedp.Navigate(s.Host()+"/pricing"))
		waitJS(t, visitor, "the widget on /pricing", ready, 20*time.Second)
		return evalString(t, visitor, heading) == "Pricing Team"
	})
	waitJS(t, visitor, "the uploaded brand image in the heading", `(i => !i.hidden && i.complete && i.naturalWidth === 6)(`+shadow+`.querySelector('[data-parley=heading-image]'))`, 15*time.Second)
	if p := evalString(t, visitor, shadow+`.querySelector('[data-parley=presence]').textContent`); !strings.Contains(p, "09:00") {
		t.Errorf("presence on /pricing: %q, want the office hours' opening", p)
	}
	runT(t, visitor, chromedp.Navigate(s.Host()+"/about"))
	waitJS(t, visitor, "the widget on /about", ready, 20*time.Second)
	if h := evalString(t, visitor, heading); h == "Pricing Team" {
		t.Error("/about shows the /pricing chatflow")
	}

	// A mobile chatflow: its tag refused beside the field, then resolved by the SDK.
	runT(t, admin, chromedp.Navigate(editor[:strings.LastIndex(editor, "/")]), chromedp.WaitVisible(chromedp.ID("create-mobile")))
	press(t, admin, "#create-mobile", "the mobile workspace step", `!!document.querySelector('[name=mobile_tag]')`)
	runT(t, admin, setFields(map[string]string{"name": "App chat", "inbox_id": fmt.Sprint(inbox), "mobile_tag": "app.console"}))
	press(t, admin, "#wizard-next", "the type step", `!!document.querySelector('[name=type]:checked')`)
	press(t, admin, "#wizard-next", "the knowledge base step", `!!document.querySelector('[name=kb_id]')`)
	press(t, admin, "#wizard-next", "the mobile editor", `!!document.getElementById('tab-mobile')`)
	waitJS(t, admin, "the app screen preview", `document.getElementById('preview-stage').dataset.device === 'app' && `+frame+`.src.includes('app=1')`, 15*time.Second)
	press(t, admin, "#tab-mobile", "the mobile tab", `!!document.querySelector('[name=mobile_tag]')`)
	runT(t, admin, setFields(map[string]string{"mobile_tag": "app console!"}))
	press(t, admin, "#save", "the tag message", beside("mobile_tag", "letters, digits"))
	runT(t, admin, setFields(map[string]string{"mobile_tag": "app.console"}))
	press(t, admin, "#save", "mobile saved", `document.getElementById('notice') && document.getElementById('notice').textContent === 'Saved.'`)
	press(t, admin, "#publish", "mobile published", `document.getElementById('publish').getAttribute('aria-checked') === 'true'`)
	var public string
	if err := s.DB.Get(&public, `SELECT public_id FROM chatflows WHERE name = 'App chat'`); err != nil {
		t.Fatal(err)
	}
	if cf := resolveUntil(t, s, "app.console", public); cf.ID != public {
		t.Fatalf("the SDK resolved %+v", cf)
	}
}

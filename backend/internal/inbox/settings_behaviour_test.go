package inbox_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/parleychat/parley/backend/internal/inbox"
	"github.com/parleychat/parley/backend/internal/store"
)

// The editor holds the behaviour settings: date exceptions of the office
// hours (added without saving, errors beside their fields, saved) and
// when a bot answers, and which language the widget speaks.
func TestChatflowEditorBehaviourSettings(t *testing.T) {
	e := setup(t, inbox.Config{})
	ed := e.withRole(e.bob, store.RoleEditor)
	id := e.createCF("Web", 0)
	base := fmt.Sprintf("/inbox/settings/chatflows/%d", id)
	open := func(tab string) page {
		t.Helper()
		p := ed.get(base + "?tab=" + tab)
		if p.status != 200 {
			t.Fatalf("%s tab: %d %s", tab, p.status, p.body)
		}
		return p
	}
	save := func(p page, edit func(f map[string][]string), want int) page {
		t.Helper()
		f := formOf(t, p.body, "chatflow-form")
		edit(f)
		p = ed.submit(base, f)
		if p.status != want {
			t.Fatalf("save %s: %d, want %d: %s", f.Get("tab"), p.status, want, p.body)
		}
		return p
	}

	p := open("build")
	p = save(p, func(f map[string][]string) { f["add"] = []string{"availability.exceptions"} }, 200)
	p = save(p, func(f map[string][]string) { f["add"] = []string{"availability.exceptions"} }, 200)
	p = save(p, func(f map[string][]string) {
		f["availability.exceptions[0].date"] = []string{"2026-12-25"}
		f["availability.exceptions[0].name"] = []string{"Christmas"}
		f["availability.exceptions[1].date"] = []string{"2026-12-24"}
		delete(f, "availability.exceptions[1].closed")
		f["availability.exceptions[1].start"] = []string{"13:00"}
		f["availability.exceptions[1].end"] = []string{"12:00"}
	}, 400)
	if !strings.Contains(p.body, `id="err-availability.exceptions[1].end"`) {
		t.Fatalf("no message beside the special hours' end: %s", p.body)
	}
	save(p, func(f map[string][]string) {
		f["availability.exceptions[1].end"] = []string{"15:00"}
		f["availability.bot"] = []string{"office_hours"}
	}, http.StatusSeeOther)
	cf := e.restChatflow(id)
	xs := cf.Availability.Exceptions
	if len(xs) != 2 || xs[0].Date != "2026-12-25" || !xs[0].Closed || xs[0].Name != "Christmas" ||
		xs[1].Closed || xs[1].Start != "13:00" || xs[1].End != "15:00" {
		t.Fatalf("exceptions saved: %+v", xs)
	}
	if cf.Availability.Bot != "office_hours" {
		t.Fatalf("bot availability saved: %q", cf.Availability.Bot)
	}
	save(open("options"), func(f map[string][]string) { f["options.language_choice"] = []string{"visitor"} }, http.StatusSeeOther)
	if cf := e.restChatflow(id); cf.Options.LanguageChoice != "visitor" {
		t.Fatalf("language choice saved: %q", cf.Options.LanguageChoice)
	}
}

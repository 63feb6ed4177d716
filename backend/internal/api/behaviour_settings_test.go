package api_test

import (
	"reflect"
	"testing"
)

// The settings of chatflow behaviour refuse bad input field by field and
// take good input as sent.
func TestChatflowBehaviourSettingsValidation(t *testing.T) {
	e := setup(t)
	base := `"name":"X","inbox_id":` + itoa(e.inbox)
	bad := []struct {
		name, body string
		want       []string
	}{
		{"date exceptions", `{` + base + `,"availability":{"exceptions":[{"date":"2026-02-30","closed":true},{"date":"2026-12-25","closed":true,"start":"09:00","end":"12:00"},{"date":"2026-12-24","start":"13:00","end":"12:00"},{"date":"2026-12-25","start":"10:00","end":"11:00"},{"date":"christmas","start":"9","end":"25:00"}]}}`,
			[]string{"availability.exceptions[0].date", "availability.exceptions[1].closed", "availability.exceptions[2].end", "availability.exceptions[3].date",
				"availability.exceptions[4].date", "availability.exceptions[4].end", "availability.exceptions[4].start"}},
		{"referrer and page-view rules", `{` + base + `,"targeting":{"groups":[{"rules":[{"kind":"referrer","op":"greater_than","value":"x"},{"kind":"page_views","op":"greater_than","value":"two"},{"kind":"page_views","op":"is","value":"-1"},{"kind":"referrer","op":"contains","name":"x","value":"google"}]}]}}`,
			[]string{"targeting.groups[0].rules[0].op", "targeting.groups[0].rules[1].value", "targeting.groups[0].rules[2].value", "targeting.groups[0].rules[3].name"}},
		{"language choice", `{` + base + `,"options":{"language_choice":"browser"}}`, []string{"options.language_choice"}},
		{"bot availability", `{` + base + `,"availability":{"bot":"sometimes"}}`, []string{"availability.bot"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			code, p := e.do("POST", "/api/v1/chatflows", tc.body)
			if code != 400 {
				t.Fatalf("status %d, want 400: %v", code, p)
			}
			if got := fields(p); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("fields %v, want %v (%v)", got, tc.want, p["errors"])
			}
		})
	}
	rules := `{` + base + `,"targeting":{"groups":[{"rules":[{"kind":"referrer","op":"wildcard","value":"https://*.google.*"},{"kind":"page_views","op":"less_than","value":"5"}]}],"exclusions":[{"kind":"page_views","op":"is","value":"1"}]}}`
	if code, cf := e.do("POST", "/api/v1/chatflows", rules); code != 201 {
		t.Fatalf("referrer and page-view rules: %d %v", code, cf)
	}
	good := `{` + base + `,"availability":{"mode":"office_hours","office_hours":[{"day":"monday","start":"09:00","end":"17:00"}],
		"exceptions":[{"date":"2026-12-25","name":"Christmas","closed":true},{"date":"2026-12-24","start":"09:00","end":"13:00"}]}}`
	code, cf := e.do("POST", "/api/v1/chatflows", good)
	if code != 201 {
		t.Fatalf("good settings: %d %v", code, cf)
	}
	if bot := cf["availability"].(map[string]any)["bot"]; bot != "always" {
		t.Fatalf("a new chatflow's bot answers %v, want always", bot)
	}
	xs := cf["availability"].(map[string]any)["exceptions"].([]any)
	if len(xs) != 2 || xs[0].(map[string]any)["name"] != "Christmas" || xs[0].(map[string]any)["closed"] != true || xs[1].(map[string]any)["end"] != "13:00" {
		t.Fatalf("exceptions as stored: %v", xs)
	}
}

package api_test

import "testing"

// A dry run builds and validates a chatflow as the write would, answers it,
// and stores nothing: the console previews unsaved settings through it.
func TestChatflowDryRun(t *testing.T) {
	e := setup(t)
	id := e.create("/api/v1/chatflows", `{"name":"Live","inbox_id":`+itoa(e.inbox)+`}`)
	path := "/api/v1/chatflows/" + itoa(id)

	code, p := e.do("PATCH", path+"?dry_run=true", `{"look":{"accent_color":"#112233"}}`)
	if code != 200 || p["look"].(map[string]any)["accent_color"] != "#112233" || p["name"] != "Live" {
		t.Fatalf("dry-run PATCH: %d %v", code, p)
	}
	code, p = e.do("PUT", path+"?dry_run=true", `{"name":"Other","inbox_id":`+itoa(e.inbox)+`,"look":{"accent_color":"red"}}`)
	if code != 400 || len(fields(p)) != 1 || fields(p)[0] != "look.accent_color" {
		t.Fatalf("dry-run PUT with a bad colour: %d %v", code, p)
	}
	_, cur := e.do("GET", path, "")
	if cur["look"].(map[string]any)["accent_color"] != "#2357d9" || cur["version"].(float64) != 1 {
		t.Fatalf("a dry run changed the chatflow: %v", cur)
	}
	code, p = e.do("POST", "/api/v1/chatflows?dry_run=true", `{"name":"New","inbox_id":`+itoa(e.inbox)+`}`)
	if code != 200 || p["name"] != "New" {
		t.Fatalf("dry-run POST: %d %v", code, p)
	}
	_, list := e.do("GET", "/api/v1/chatflows", "")
	if n := len(list["chatflows"].([]any)); n != 1 {
		t.Fatalf("a dry-run POST stored a chatflow: %d chatflows", n)
	}
}

package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// TestMobileChatflowByTag resolves a mobile tag the way the edge asks: the
// enabled chatflow of highest priority wins, a disabled one never shows,
// and a tag nobody uses is a clear 404.
func TestMobileChatflowByTag(t *testing.T) {
	e := setup(t)
	mobile := func(name string, enabled bool, priority int, tag, extra string) int64 {
		en := "false"
		if enabled {
			en = "true"
		}
		return e.create("/api/v1/chatflows", `{"name":"`+name+`","channel":"mobile","inbox_id":`+itoa(e.inbox)+`,
			"enabled":`+en+`,"priority":`+itoa(int64(priority))+`,"mobile_tag":"`+tag+`"`+extra+`}`)
	}
	kb := e.create("/api/v1/knowledge-bases", `{"name":"App help","language":"nl"}`)
	mobile("Low", true, 1, "app.home", `,"language":"de"`)
	high := mobile("High", true, 9, "app.home", `,"language":"nl","look":{"show_close_button":true,"heading":{"kind":"brand","brand_name":"Shop"}},
		"options":{"knowledge_base_id":`+itoa(kb)+`},"welcome":{"messages":{"nl":"Hoi"}}`)
	mobile("Higher but off", false, 50, "app.home", "")
	mobile("Other tag", true, 99, "app.cart", "")
	e.create("/api/v1/chatflows", `{"name":"Website","enabled":true,"priority":100,"inbox_id":`+itoa(e.inbox)+`}`)

	get := func(secret, site, tag string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("GET", e.srv.URL+"/internal/sites/"+site+"/mobile/"+tag, nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		res, err := http.DefaultClient.Do(req)
		must(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("not JSON: %s", b)
		}
		return res.StatusCode, out
	}

	if code, _ := get("wrong", "acme", "app.home"); code != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d", code)
	}
	code, cf := get(e.secret, "acme", "app.home")
	if code != 200 {
		t.Fatalf("resolve: %d %v", code, cf)
	}
	look, _ := cf["look"].(map[string]any)
	opts, _ := cf["options"].(map[string]any)
	presence, _ := cf["presence"].(map[string]any)
	if cf["channel"] != "mobile" || cf["mobile_tag"] != "app.home" || cf["priority"] != float64(9) || cf["language"] != "nl" ||
		cf["welcome"] != "Hoi" || cf["heading_name"] != "Shop" || look["show_close_button"] != true ||
		opts["knowledge_base_id"] != float64(kb) || presence["state"] == nil {
		t.Fatalf("resolved %v, want the enabled chatflow of priority 9 with its mobile settings", cf)
	}
	for _, leak := range []string{"assignment", "tickets", "availability"} {
		if _, ok := cf[leak]; ok {
			t.Errorf("resolved chatflow leaks %q", leak)
		}
	}

	// Disabling the winner serves the next one.
	if code, out := e.do("PATCH", "/api/v1/chatflows/"+itoa(high), `{"enabled":false}`); code != 200 {
		t.Fatalf("disable: %d %v", code, out)
	}
	if code, cf := get(e.secret, "acme", "app.home"); code != 200 || cf["priority"] != float64(1) || cf["language"] != "de" {
		t.Fatalf("after disabling: %d %v, want the priority 1 chatflow", code, cf)
	}

	for _, c := range []struct{ site, tag, detail string }{
		{"acme", "app.nothing", "No enabled mobile chatflow has this tag."},
		{"nope", "app.home", "No such site."},
	} {
		code, p := get(e.secret, c.site, c.tag)
		if code != http.StatusNotFound || p["detail"] != c.detail {
			t.Errorf("%s/%s: %d %v, want 404 %q", c.site, c.tag, code, p, c.detail)
		}
	}
	// Each tag resolves among its own chatflows only.
	if code, cf := get(e.secret, "acme", "app.cart"); code != 200 || cf["priority"] != float64(99) {
		t.Fatalf("app.cart: %d %v", code, cf)
	}
}

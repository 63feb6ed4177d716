package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// reportOrigins posts an edge's report with secret.
func (e *env) reportOrigins(secret string, seen []map[string]any) int {
	e.t.Helper()
	b, _ := json.Marshal(map[string]any{"seen": seen})
	req, _ := http.NewRequest("POST", e.srv.URL+"/internal/origins-seen", strings.NewReader(string(b)))
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	must(e.t, err)
	res.Body.Close()
	return res.StatusCode
}

// The edges' reports of where a site's widget loaded keep each origin's
// latest time, skip what is no page origin, and at most 50 origins an account.
func TestOriginsSeenKeepTheLatestFifty(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	seen := []map[string]any{
		{"site": "acme", "origin": "https://shop.example", "at": t0},
		{"site": "acme", "origin": "https://shop.example", "at": t0.Add(-time.Hour)}, // older: ignored
		{"site": "acme", "origin": "https://shop.example/path", "at": t0},            // not an origin
		{"site": "acme", "origin": "null", "at": t0},
		{"site": "acme", "origin": "javascript:alert(1)", "at": t0},
		{"site": "nope", "origin": "https://other.example", "at": t0}, // unknown site
		{"site": "acme", "origin": "http://127.0.0.1:5173", "at": t0.Add(time.Minute)},
	}
	if code := e.reportOrigins("wrong", seen); code != 401 {
		t.Fatalf("wrong secret: %d", code)
	}
	if code := e.reportOrigins(e.secret, seen); code != 204 {
		t.Fatalf("report: %d", code)
	}
	got, err := e.st.SiteOrigins(ctx, e.acct.ID)
	must(t, err)
	if len(got) != 2 || got[0].Origin != "http://127.0.0.1:5173" || got[1].Origin != "https://shop.example" || !got[1].LastSeen.Equal(t0) {
		t.Fatalf("origins: %+v", got)
	}
	// A later report moves the time on; an older one never back.
	e.reportOrigins(e.secret, []map[string]any{{"site": "acme", "origin": "https://shop.example", "at": t0.Add(2 * time.Minute)}})
	e.reportOrigins(e.secret, []map[string]any{{"site": "acme", "origin": "https://shop.example", "at": t0.Add(-time.Minute)}})
	got, _ = e.st.SiteOrigins(ctx, e.acct.ID)
	if got[0].Origin != "https://shop.example" || !got[0].LastSeen.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("after later reports: %+v", got)
	}
	// Sixty more: the fifty latest stay.
	var many []map[string]any
	for i := range 60 {
		many = append(many, map[string]any{"site": "acme", "origin": fmt.Sprintf("https://s%d.example", i), "at": t0.Add(time.Duration(10+i) * time.Minute)})
	}
	e.reportOrigins(e.secret, many)
	got, _ = e.st.SiteOrigins(ctx, e.acct.ID)
	if len(got) != 50 || got[0].Origin != "https://s59.example" || got[49].Origin != "https://s10.example" {
		t.Fatalf("%d origins, first %v last %v", len(got), got[0], got[len(got)-1])
	}
}

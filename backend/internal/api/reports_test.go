package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// GET /reports: the figures of a range as JSON and CSV, the range checked
// field by field, another account's inbox refused.
func TestReportOverREST(t *testing.T) {
	e := setup(t)
	cf := e.create("/api/v1/chatflows", `{"name":"Web","inbox_id":`+itoa(e.inbox)+`}`)
	conv := e.conversation(cf, "hello")
	e.st.DB().MustExec(`UPDATE conversations SET created_at = '2026-03-10 12:00Z', status = 'closed', closed_at = '2026-03-10 12:10Z' WHERE id = $1`, conv)

	code, p := e.do("GET", "/api/v1/reports?from=2026-03-01&to=2026-03-31&inbox_id="+itoa(e.inbox), "")
	if code != 200 || num(p["conversations"]) != 1 || len(p["days"].([]any)) != 31 || p["timezone"] != "UTC" {
		t.Fatalf("report: %d %v", code, p)
	}
	res := p["resolution"].(map[string]any)
	if res["median_seconds"].(float64) != 600 || num(res["count"]) != 1 {
		t.Errorf("resolution: %v", res)
	}
	day := p["days"].([]any)[9].(map[string]any)
	if day["date"] != "2026-03-10" || num(day["conversations"]) != 1 {
		t.Errorf("10 March: %v", day)
	}
	hours := p["hours"].([]any)[1].([]any) // 10 March 2026 is a Tuesday
	if num(hours[12]) != 1 {
		t.Errorf("Tuesday 12:00: %v", hours)
	}

	// Without a range: the last 30 days up to today.
	if code, p := e.do("GET", "/api/v1/reports", ""); code != 200 || len(p["days"].([]any)) != 30 {
		t.Errorf("default range: %d %v", code, p)
	}

	for q, field := range map[string]string{
		"?from=2026-13-01":               "from",
		"?from=2026-03-10&to=2026-03-01": "to",
		"?from=2024-01-01&to=2026-01-01": "from",
		"?inbox_id=x":                    "inbox_id",
		"?inbox_id=999999":               "inbox_id",
		"?format=xml":                    "format",
		"?since=2026-01-01":              "since",
	} {
		if code, p := e.do("GET", "/api/v1/reports"+q, ""); code != http.StatusBadRequest || !strings.Contains(fieldsOf(p), field) {
			t.Errorf("%s: %d %v, want 400 naming %s", q, code, p, field)
		}
	}
	otherInbox := e.createWith(e.other, "/api/v1/inboxes", `{"name":"Theirs"}`)
	if code, p := e.do("GET", "/api/v1/reports?inbox_id="+itoa(otherInbox), ""); code != http.StatusBadRequest {
		t.Errorf("another account's inbox: %d %v", code, p)
	}

	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/reports?from=2026-03-09&to=2026-03-11&format=csv", nil)
	req.Header.Set("Authorization", "Bearer "+e.key)
	r, err := http.DefaultClient.Do(req)
	must(t, err)
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") || len(lines) != 4 ||
		!strings.HasPrefix(lines[0], "date,conversations,") || !strings.HasPrefix(lines[2], "2026-03-10,1,") {
		t.Errorf("csv: %d %s\n%s", r.StatusCode, r.Header.Get("Content-Type"), b)
	}
}

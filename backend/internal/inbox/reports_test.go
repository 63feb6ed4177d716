package inbox_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/parleychat/parley/backend/internal/inbox"
	"github.com/parleychat/parley/backend/internal/store"
)

// The reports page: admins only; charts drawn as SVG with one bar per day
// of the range; a bad date named beside its field with what was typed; the
// CSV downloads.
func TestReportsPage(t *testing.T) {
	e := setup(t, inbox.Config{})
	agent := e.withRole(e.alice, store.RoleAgent)
	admin := e.withRole(e.bob, store.RoleAdmin)
	if p := agent.get("/inbox/reports"); p.status != http.StatusForbidden {
		t.Errorf("an agent opened the reports: %d", p.status)
	}
	if p := agent.get("/inbox"); strings.Contains(p.body, `id="reports-link"`) {
		t.Error("an agent sees the Reports link")
	}
	if p := admin.get("/inbox"); !strings.Contains(p.body, `id="reports-link"`) {
		t.Error("an admin does not see the Reports link")
	}
	c, _ := e.conversation(e.inboxA, "Vera")
	e.db.MustExec(`UPDATE conversations SET created_at = '2026-11-03 09:30Z', status = 'closed', closed_at = '2026-11-03 10:00Z' WHERE id = $1`, c)

	p := admin.get("/inbox/reports?from=2026-11-01&to=2026-11-14&inbox_id=" + itoa(e.inboxA))
	if p.status != 200 {
		t.Fatalf("reports: %d %s", p.status, p.body)
	}
	chart := regexp.MustCompile(`(?s)<figure class="chart" id="chart-conversations">.*?</figure>`).FindString(p.body)
	if n := strings.Count(chart, `<rect class="bar `); n != 14 {
		t.Errorf("%d bars for 14 days:\n%s", n, chart)
	}
	for _, id := range []string{"chart-first-response", "chart-resolution", "chart-csat", "chart-hours", "report-agents"} {
		if !strings.Contains(p.body, `id="`+id+`"`) {
			t.Errorf("no %s", id)
		}
	}
	if !strings.Contains(p.body, `<dd id="total-res-median">30m 0s</dd>`) || strings.Contains(p.body, "style=") {
		t.Errorf("resolution median missing, or an inline style:\n%s", p.body)
	}

	p = admin.get("/inbox/reports?from=2026-11-31&to=2026-11-14")
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="err-from"`) || !strings.Contains(p.body, `value="2026-11-31"`) {
		t.Errorf("bad date: %d %s", p.status, p.body)
	}

	p = admin.get("/inbox/reports.csv?" + url.Values{"from": {"2026-11-01"}, "to": {"2026-11-03"}}.Encode())
	if p.status != 200 || !strings.HasPrefix(p.resp.Header.Get("Content-Type"), "text/csv") || !strings.Contains(p.body, "\n2026-11-03,1,") {
		t.Errorf("csv: %d %s", p.status, p.body)
	}
	p = admin.get("/inbox/reports.csv?from=2026-11-01&to=2026-11-03&table=agents")
	if p.status != 200 || !strings.HasPrefix(p.body, "agent,conversations,") || !strings.Contains(p.body, "Unassigned,1,") {
		t.Errorf("agents csv: %d %s", p.status, p.body)
	}
}

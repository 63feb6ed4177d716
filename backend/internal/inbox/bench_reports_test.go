package inbox_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/parleychat/parley/backend/internal/inbox"
	"github.com/parleychat/parley/backend/internal/store"
)

// reportsTargetMS is the reports page's budget over 100,000 conversations.
const reportsTargetMS = 500

// seedReports puts n conversations started across November 2026 into the
// two inboxes (two thirds closed, four fifths answered, half the
// closed ones with a survey answer, assigned to alice, bob or nobody), in
// a few statements.
func (e *env) seedReports(n int) {
	e.t.Helper()
	var survey int64
	if err := e.db.Get(&survey, `INSERT INTO surveys (account_id, name, question) VALUES ($1, 'Bench', 'How did we do?') RETURNING id`, e.account); err != nil {
		e.t.Fatal(err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO visitors (account_id, token_hash) SELECT $1, decode(md5('rv' || g), 'hex') FROM generate_series(1, $2) g`, []any{e.account, n}},
		{`INSERT INTO conversations (account_id, public_id, inbox_id, visitor_id, status, assignee_id, created_at, last_message_at, closed_at, first_response_at)
			SELECT $1, 'rep_' || v.id, CASE WHEN v.id % 2 = 0 THEN $2::bigint ELSE $3::bigint END, v.id,
				CASE WHEN v.id % 3 = 0 THEN 'open' ELSE 'closed' END,
				CASE v.id % 3 WHEN 1 THEN $4::bigint WHEN 2 THEN $5::bigint END, v.t, v.t,
				CASE WHEN v.id % 3 <> 0 THEN v.t + make_interval(secs => (v.id * 7919) % 20000) END,
				CASE WHEN v.id % 5 <> 0 THEN v.t + make_interval(secs => 10 + (v.id * 104729) % 900) END
			FROM (SELECT id, timestamptz '2026-11-01 00:00Z' + make_interval(secs => (id * 2654435761) % (30 * 86400)) AS t
				FROM visitors WHERE account_id = $1) v`, []any{e.account, e.inboxA, e.inboxB, e.alice.ID, e.bob.ID}},
		{`INSERT INTO survey_responses (survey_id, conversation_id, score)
			SELECT $2, id, 1 + id % 5 FROM conversations WHERE account_id = $1 AND status = 'closed' AND id % 3 = 1`, []any{e.account, survey}},
		{`ANALYZE`, nil},
	} {
		if _, err := e.db.Exec(q.sql, q.args...); err != nil {
			e.t.Fatal(err)
		}
	}
}

// BenchmarkReports100k measures the server time of the reports page (the
// REST report computed in PostgreSQL, the SVG charts drawn, HTTP on
// loopback) over a month of 100,000 conversations, against the 500 ms target:
// go test ./backend/internal/inbox -run '^$' -bench Reports100k -benchtime 10x
func BenchmarkReports100k(b *testing.B) {
	e := setup(b, inbox.Config{})
	e.seedReports(100_000)
	admin := e.withRole(e.alice, store.RoleAdmin)
	for _, p := range []struct{ name, path string }{
		{"month", "/inbox/reports?from=2026-11-01&to=2026-11-30"},
		{"month_one_inbox", "/inbox/reports?from=2026-11-01&to=2026-11-30&inbox_id=" + itoa(e.inboxA)},
	} {
		b.Run(p.name, func(b *testing.B) {
			pg := admin.get(p.path)
			if pg.status != http.StatusOK || !strings.Contains(pg.body, `id="total-conversations">`) {
				b.Fatalf("%s: %d", p.path, pg.status)
			}
			for b.Loop() {
				if pg := admin.get(p.path); pg.status != http.StatusOK {
					b.Fatalf("%s: %d", p.path, pg.status)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/page")
			b.ReportMetric(reportsTargetMS, "target-ms")
		})
	}
}

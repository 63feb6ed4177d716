package inbox_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/parleychat/parley/backend/internal/inbox"
)

// seedMany puts n open conversations (one visitor message each, a quarter
// assigned to alice, a tenth closed) into inbox A, in one statement each.
func (e *env) seedMany(n int) {
	e.t.Helper()
	for _, q := range []string{
		`INSERT INTO visitors (account_id, token_hash, name) SELECT $1, decode(md5('v' || g), 'hex'), 'Visitor ' || g FROM generate_series(1, $2) g`,
		`INSERT INTO conversations (account_id, public_id, inbox_id, visitor_id, last_seq, status, assignee_id, last_message_at)
			SELECT $1, 'bench_' || v.id, $3, v.id, 1, CASE WHEN v.id % 10 = 0 THEN 'closed' ELSE 'open' END,
			CASE WHEN v.id % 4 = 0 THEN $4::bigint END, now() - make_interval(secs => v.id)
			FROM visitors v WHERE v.account_id = $1 AND v.name LIKE 'Visitor %' LIMIT $2`,
		`INSERT INTO messages (conversation_id, seq, author_type, body)
			SELECT c.id, 1, 'visitor', 'Hello, I have a question about order ' || c.id FROM conversations c WHERE c.account_id = $1 AND c.public_id LIKE 'bench_%' LIMIT $2`,
		`ANALYZE`,
	} {
		var args []any
		switch {
		case q == `ANALYZE`:
		case len(q) > 30 && q[:20] == "INSERT INTO visitors":
			args = []any{e.account, n}
		case q[:25] == "INSERT INTO conversations":
			args = []any{e.account, n, e.inboxA, e.alice.ID}
		default:
			args = []any{e.account, n}
		}
		if _, err := e.db.Exec(q, args...); err != nil {
			e.t.Fatal(err)
		}
	}
}

// BenchmarkList10k measures the server time of the agent's list page over
// 10,000 conversations, per view:
// go test ./backend/inbox -run '^$' -bench List10k -benchtime 20x
func BenchmarkList10k(b *testing.B) {
	e := setup(b, inbox.Config{})
	e.seedMany(10000)
	a := e.signedIn(e.alice)
	for _, view := range []string{"open", "mine", "unassigned", "closed", "search"} {
		path := "/inbox?view=" + view
		if view == "search" {
			path = "/inbox?q=question"
		}
		b.Run(view, func(b *testing.B) {
			for b.Loop() {
				if p := a.get(path); p.status != http.StatusOK {
					b.Fatalf("%s: %d", path, p.status)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/page")
		})
	}
}

// BenchmarkSwitch10k measures the server time of switching conversation in
// the workspace, over 10,000 conversations: the thread partial the page
// fetches (messages, side panel, saved replies), against a 50 ms target:
// go test ./backend/internal/inbox -run '^$' -bench Switch10k -benchtime 50x
func BenchmarkSwitch10k(b *testing.B) {
	e := setup(b, inbox.Config{})
	e.seedMany(10000)
	a := e.signedIn(e.alice)
	var ids []int64
	if err := e.db.Select(&ids, `SELECT id FROM conversations WHERE account_id = $1 AND status = 'open' ORDER BY id LIMIT 20`, e.account); err != nil || len(ids) == 0 {
		b.Fatalf("conversations: %v", err)
	}
	hdr := map[string]string{inbox.PartialHeader: "thread"}
	i := 0
	for b.Loop() {
		path := "/inbox/conversations/" + strconv.FormatInt(ids[i%len(ids)], 10)
		i++
		if p := a.do("GET", path, nil, hdr); p.status != http.StatusOK {
			b.Fatalf("%s: %d", path, p.status)
		}
	}
	ms := float64(b.Elapsed().Microseconds()) / float64(b.N) / 1000
	b.ReportMetric(ms, "ms/switch")
	b.ReportMetric(50, "target_ms")
	b.Logf("switching conversation with 10,000 conversations: %.1f ms per switch (target: under 50 ms)", ms)
}

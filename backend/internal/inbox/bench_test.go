package inbox_test

import (
	"bytes"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleychat/parley/backend/internal/inbox"
	"github.com/parleychat/parley/backend/internal/store"
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

// BenchmarkCounts100k measures the reads behind the view counts over
// 100,000 conversations: the account's counts the live row feed reads
// (account), one agent's view counts the page reads (agent), the account's
// counts after 100 changes since the last read (changed), and for
// comparison the scans of every conversation they replace (scan-*, on a
// vacuumed table, so at their best). Besides wall time it reports the CPU
// of the PostgreSQL process serving the reads (from /proc, in ticks of
// 10 ms, so run enough reads), which a loaded machine disturbs less:
// go test ./backend/internal/inbox -run '^$' -bench Counts100k -benchtime 500x
func BenchmarkCounts100k(b *testing.B) {
	e := setup(b, inbox.Config{})
	e.seedMany(100000)
	if _, err := e.db.Exec(`VACUUM (ANALYZE) conversations`); err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	// One connection, so that one PostgreSQL process serves every read.
	db, err := sqlx.Open("postgres", e.dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	st := store.New(db)
	var pid int
	if err := db.Get(&pid, `SELECT pg_backend_pid()`); err != nil {
		b.Fatal(err)
	}
	read := map[string]func() error{
		"account": func() error { _, err := st.ConversationCounts(ctx, e.account); return err },
		"agent":   func() error { _, err := st.ViewCounts(ctx, e.alice.ID); return err },
		"scan-account": func() error {
			_, err := db.ExecContext(ctx, `SELECT inbox_id, status, COALESCE(assignee_id, 0) AS assignee_id, count(*) AS n
				FROM conversations WHERE account_id = $1 GROUP BY 1, 2, 3`, e.account)
			return err
		},
		"scan-agent": func() error {
			_, err := db.ExecContext(ctx, `SELECT i.inbox_id,
				count(c.id) FILTER (WHERE c.status = 'open'),
				count(c.id) FILTER (WHERE c.status = 'open' AND c.assignee_id IS NULL),
				count(c.id) FILTER (WHERE c.status = 'open' AND c.assignee_id = $1),
				count(c.id) FILTER (WHERE c.status = 'closed')
				FROM inbox_members i LEFT JOIN conversations c ON c.inbox_id = i.inbox_id
				WHERE i.user_id = $1 GROUP BY i.inbox_id`, e.alice.ID)
			return err
		},
	}
	for _, name := range []string{"account", "agent", "changed", "scan-account", "scan-agent"} {
		b.Run(name, func(b *testing.B) {
			f := read[name]
			if name == "changed" {
				f = read["account"]
			}
			var cpu time.Duration
			i := 0
			for b.Loop() {
				if name == "changed" {
					b.StopTimer()
					i++
					if _, err := e.db.ExecContext(ctx, `UPDATE conversations SET assignee_id = CASE WHEN assignee_id IS NULL THEN $2::bigint END
						WHERE id IN (SELECT id FROM conversations WHERE account_id = $1 AND status = 'open' ORDER BY id OFFSET $3 LIMIT 100)`,
						e.account, e.alice.ID, (i*100)%80000); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				before := procCPU(b, pid)
				if err := f(); err != nil {
					b.Fatal(err)
				}
				cpu += procCPU(b, pid) - before
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/read")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N)/1000, "pg-cpu-ms/read")
		})
	}
}

// procCPU is the CPU time process pid has used so far (Linux, 100 ticks a second).
func procCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

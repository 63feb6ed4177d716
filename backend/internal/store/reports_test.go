package store_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/migrations"
)

// seedReportMonth writes conversations started from a little before to a
// little after November 2026 (Amsterdam time) into two inboxes of f's
// account, with agents' replies (and notes and bot messages before them,
// which are no response), closings and survey answers at known times, all
// as plain SQL. It returns how many start on each Amsterdam day.
func seedReportMonth(t *testing.T, db *sqlx.DB, f *fixture, agents []int64, inboxes []int64) map[string]int {
	t.Helper()
	ams, err := time.LoadLocation("Europe/Amsterdam")
	check(t, err)
	var survey int64
	check(t, db.Get(&survey, `INSERT INTO surveys (account_id, name, question) VALUES ($1, 'CSAT', 'How did we do?') RETURNING id`, f.account.ID))
	rng := rand.New(rand.NewPCG(16, 8))
	start := time.Date(2026, 10, 31, 20, 0, 0, 0, time.UTC)
	span := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC).Sub(start)
	perDay := map[string]int{}
	tx := db.MustBegin()
	for i := range 400 {
		at := start.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Second)
		perDay[at.In(ams).Format(time.DateOnly)]++
		var assignee *int64
		if k := rng.IntN(len(agents) + 1); k < len(agents) {
			assignee = &agents[k]
		}
		var visitor, conv int64
		check(t, tx.Get(&visitor, `INSERT INTO visitors (account_id, token_hash) VALUES ($1, $2) RETURNING id`, f.account.ID, store.HashToken(fmt.Sprint(f.account.PublicID, "rv", i))))
		check(t, tx.Get(&conv, `INSERT INTO conversations (account_id, public_id, inbox_id, visitor_id, assignee_id, created_at, last_message_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`, f.account.ID, fmt.Sprint(f.account.PublicID, "rc", i), inboxes[i%len(inboxes)], visitor, assignee, at))
		seq := 0
		msg := func(author string, internal bool, after time.Duration) {
			seq++
			tx.MustExec(`INSERT INTO messages (conversation_id, seq, author_type, author_id, internal, body, created_at)
				VALUES ($1, $2, $3, $4, $5, 'text', $6)`, conv, seq, author, assignee, internal, at.Add(after))
		}
		msg(store.AuthorVisitor, false, 0)
		if rng.IntN(4) == 0 {
			msg(store.AuthorBot, false, 2*time.Second)
		}
		if rng.IntN(5) == 0 {
			msg(store.AuthorAgent, true, 5*time.Second) // a note: no answer to the visitor
		}
		if rng.IntN(6) != 0 {
			first := time.Duration(10+rng.IntN(900)) * time.Second
			msg(store.AuthorAgent, false, first)
			msg(store.AuthorAgent, false, first+time.Minute) // later replies change nothing
		}
		if rng.IntN(3) != 0 {
			closed := at.Add(time.Duration(60+rng.IntN(20000)) * time.Second)
			tx.MustExec(`UPDATE conversations SET status = 'closed', closed_at = $2 WHERE id = $1`, conv, closed)
			if rng.IntN(2) == 0 {
				tx.MustExec(`INSERT INTO survey_responses (survey_id, conversation_id, score) VALUES ($1, $2, $3)`, survey, conv, 1+rng.IntN(5))
			}
		}
	}
	check(t, tx.Commit())
	return perDay
}

// The report of a seeded month equals the same figures computed by hand:
// counts per day from the seed itself, and times, percentiles, CSAT and the
// week's hours by direct SQL over the messages and answers (not the
// conversations' first_response_at the report reads).
func TestReportFiguresMatchDirectSQL(t *testing.T) {
	db := dbtest.New(t)
	st := store.New(db)
	ctx := context.Background()
	f := newFixture(t, st, "reports")
	check(t, db.Get(&f.account.Timezone, `UPDATE accounts SET timezone = 'Europe/Amsterdam' WHERE id = $1 RETURNING timezone`, f.account.ID))
	other := &store.Inbox{AccountID: f.account.ID, Name: "Sales", HasChatChannel: true}
	check(t, st.CreateInbox(ctx, other))
	var agents []int64
	for _, name := range []string{"Ana", "Ben", "Cas"} {
		u := &store.User{AccountID: f.account.ID, Email: name + "@example.com", Name: name}
		check(t, st.CreateUser(ctx, u))
		agents = append(agents, u.ID)
	}
	perDay := seedReportMonth(t, db, f, agents, []int64{f.inbox.ID, other.ID})
	// Another account's conversations in the same month count nowhere.
	g := newFixture(t, st, "reports-other")
	seedReportMonth(t, db, g, nil, []int64{g.inbox.ID})

	from, to := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	rep, err := st.Report(ctx, store.ReportFilter{AccountID: f.account.ID, From: from, To: to})
	check(t, err)

	// Days: all thirty, counted as the seed counted them.
	if len(rep.Days) != 30 || rep.Days[0].Date != "2026-11-01" || rep.Days[29].Date != "2026-11-30" {
		t.Fatalf("days %d: %v … %v", len(rep.Days), rep.Days[0].Date, rep.Days[len(rep.Days)-1].Date)
	}
	total := 0
	for _, d := range rep.Days {
		if d.Conversations != perDay[d.Date] {
			t.Errorf("%s: %d conversations, seeded %d", d.Date, d.Conversations, perDay[d.Date])
		}
		total += perDay[d.Date]
	}
	if rep.Conversations != total || total < 300 || len(rep.Agents) != 4 || rep.TimeZone != "Europe/Amsterdam" {
		t.Fatalf("total %d, seeded %d in the month; %d agents; zone %q", rep.Conversations, total, len(rep.Agents), rep.TimeZone)
	}
	matchDirect(t, db, st, f.account.ID, other.ID, "seeded")

	// Changes after the fact move the figures as they move the direct
	// computation: conversations reassigned, reopened, closed again later
	// (at a time with microseconds), deleted; surveys answered later or
	// changed, a survey deleted with its answers; an agent deleted (their
	// conversations become nobody's); an answer to one never answered.
	var convs []int64
	check(t, db.Select(&convs, `SELECT id FROM conversations WHERE account_id = $1 ORDER BY id`, f.account.ID))
	var survey2 int64
	check(t, db.Get(&survey2, `INSERT INTO surveys (account_id, name, question) VALUES ($1, 'Later', 'And now?') RETURNING id`, f.account.ID))
	tx := db.MustBegin()
	for i, id := range convs {
		switch i % 11 {
		case 0:
			tx.MustExec(`UPDATE conversations SET assignee_id = $2 WHERE id = $1`, id, agents[i%len(agents)])
		case 1:
			tx.MustExec(`UPDATE conversations SET status = 'open', closed_at = NULL WHERE id = $1`, id)
		case 2:
			tx.MustExec(`UPDATE conversations SET status = 'closed', closed_at = created_at + interval '1234.567891 seconds' WHERE id = $1`, id)
		case 3:
			tx.MustExec(`DELETE FROM conversations WHERE id = $1`, id)
		case 4:
			tx.MustExec(`INSERT INTO survey_responses (survey_id, conversation_id, score) VALUES ($1, $2, 4)
				ON CONFLICT (conversation_id) DO UPDATE SET score = 1 + survey_responses.score % 5`, survey2, id)
		case 5:
			tx.MustExec(`INSERT INTO messages (conversation_id, seq, author_type, internal, body, created_at)
				SELECT id, last_seq + 100, 'agent', false, 'late', created_at + interval '3 hours 0.25 seconds' FROM conversations WHERE id = $1`, id)
		case 6:
			tx.MustExec(`UPDATE conversations SET assignee_id = NULL WHERE id = $1`, id)
		}
	}
	check(t, tx.Commit())
	db.MustExec(`DELETE FROM surveys WHERE id = (SELECT min(id) FROM surveys WHERE account_id = $1)`, f.account.ID)
	db.MustExec(`DELETE FROM users WHERE id = $1`, agents[0])
	// Read while the changes are still pending (another compaction holds
	// the lock), and after they are folded in.
	conn, err := db.Connx(ctx)
	check(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(ctx, `SELECT pg_advisory_lock(7442, $1::int)`, f.account.ID)
	check(t, err)
	var pending int
	check(t, db.Get(&pending, `SELECT count(*) FROM report_deltas WHERE account_id = $1`, f.account.ID))
	if pending == 0 {
		t.Fatal("the changes left nothing pending")
	}
	matchDirect(t, db, st, f.account.ID, other.ID, "changes pending")
	_, err = conn.ExecContext(ctx, `SELECT pg_advisory_unlock(7442, $1::int)`, f.account.ID)
	check(t, err)
	matchDirect(t, db, st, f.account.ID, other.ID, "changes folded in")
	check(t, db.Get(&pending, `SELECT count(*) FROM report_deltas WHERE account_id = $1`, f.account.ID))
	if pending != 0 {
		t.Errorf("%d changes still pending after a report", pending)
	}

	// Housekeeping folds changes in without a report.
	db.MustExec(`UPDATE conversations SET assignee_id = $2 WHERE account_id = $1 AND id % 7 = 0`, f.account.ID, agents[1])
	sw, err := st.BeginSweep(ctx)
	check(t, err)
	folded, err := sw.FoldReportChanges(ctx)
	sw.Close()
	check(t, err)
	check(t, db.Get(&pending, `SELECT count(*) FROM report_deltas`))
	if folded == 0 || pending != 0 {
		t.Errorf("housekeeping folded %d changes, left %d", folded, pending)
	}
	matchDirect(t, db, st, f.account.ID, other.ID, "folded by housekeeping")

	// Another time zone (half an hour off UTC) moves hours and days.
	db.MustExec(`UPDATE accounts SET timezone = 'Asia/Kolkata' WHERE id = $1`, f.account.ID)
	matchDirect(t, db, st, f.account.ID, other.ID, "Kolkata")
	db.MustExec(`UPDATE accounts SET timezone = 'America/New_York' WHERE id = $1`, f.account.ID)
	matchDirect(t, db, st, f.account.ID, other.ID, "New York")
}

// matchDirect compares the account's November report (all inboxes, and
// inbox alone) with the same figures computed by hand: each conversation
// of the month with its first answer found in its messages and its score
// in the survey answers (not the columns the report's totals come from),
// in the account's time zone.
func matchDirect(t *testing.T, db *sqlx.DB, st *store.Store, account, inbox int64, when string) {
	t.Helper()
	ctx := context.Background()
	from, to := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	for _, in := range []int64{0, inbox} {
		rep, err := st.Report(ctx, store.ReportFilter{AccountID: account, From: from, To: to, InboxID: in})
		check(t, err)
		what := fmt.Sprintf("%s, inbox %d: ", when, in)
		direct := `WITH m AS (
		SELECT c.id, c.assignee_id, c.status, c.created_at, c.closed_at,
			(SELECT min(x.created_at) FROM messages x WHERE x.conversation_id = c.id AND x.author_type = 'agent' AND x.internal = false) AS answered,
			(SELECT r.score FROM survey_responses r WHERE r.conversation_id = c.id) AS score,
			date_trunc('day', c.created_at AT TIME ZONE a.timezone) AS day,
			c.created_at AT TIME ZONE a.timezone AS local
		FROM conversations c JOIN accounts a ON a.id = c.account_id
		WHERE c.account_id = $1 AND ($2 = 0 OR c.inbox_id = $2) AND (c.created_at AT TIME ZONE a.timezone) >= '2026-11-01'
			AND (c.created_at AT TIME ZONE a.timezone) < '2026-12-01')`
		type row struct {
			Key    string   `db:"key"`
			N      int      `db:"n"`
			Closed int      `db:"closed"`
			FRN    int      `db:"fr_n"`
			FRMed  *float64 `db:"fr_med"`
			FRP90  *float64 `db:"fr_p90"`
			ResN   int      `db:"res_n"`
			ResMed *float64 `db:"res_med"`
			ResP90 *float64 `db:"res_p90"`
			CN     int      `db:"c_n"`
			CAvg   *float64 `db:"c_avg"`
		}
		agg := func(key string) string {
			return `SELECT ` + key + ` AS key, count(*) AS n, count(*) FILTER (WHERE status = 'closed') AS closed,
			count(answered) AS fr_n,
			percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM answered - created_at)) AS fr_med,
			percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM answered - created_at)) AS fr_p90,
			count(closed_at) FILTER (WHERE status = 'closed') AS res_n,
			percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - created_at)) FILTER (WHERE status = 'closed') AS res_med,
			percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - created_at)) FILTER (WHERE status = 'closed') AS res_p90,
			count(score) AS c_n, avg(score)::float8 AS c_avg FROM m`
		}
		var all row
		check(t, db.Get(&all, direct+agg("'all'"), account, in))
		if rep.Conversations != all.N || rep.Closed != all.Closed || all.N < 100 {
			t.Errorf("%stotals: report %d/%d closed, direct %d/%d", what, rep.Conversations, rep.Closed, all.N, all.Closed)
		}
		same(t, what+"first response", rep.FirstResponse, all.FRN, all.FRMed, all.FRP90)
		same(t, what+"resolution", rep.Resolution, all.ResN, all.ResMed, all.ResP90)
		sameCSAT(t, what+"CSAT", rep.CSAT, all.CN, all.CAvg)

		var days []row
		check(t, db.Select(&days, direct+agg("to_char(day, 'YYYY-MM-DD')")+` GROUP BY day ORDER BY day`, account, in))
		byDay := map[string]row{}
		for _, d := range days {
			byDay[d.Key] = d
		}
		if len(rep.Days) != 30 {
			t.Fatalf("%s%d days", what, len(rep.Days))
		}
		for _, d := range rep.Days {
			want := byDay[d.Date]
			if d.Conversations != want.N {
				t.Errorf("%s%s: %d conversations, direct %d", what, d.Date, d.Conversations, want.N)
			}
			same(t, what+d.Date+" first response", d.FirstResponse, want.FRN, want.FRMed, want.FRP90)
			same(t, what+d.Date+" resolution", d.Resolution, want.ResN, want.ResMed, want.ResP90)
			sameCSAT(t, what+d.Date+" CSAT", d.CSAT, want.CN, want.CAvg)
		}

		var agentRows []row
		check(t, db.Select(&agentRows, direct+agg("COALESCE(assignee_id, 0)::text")+` GROUP BY assignee_id`, account, in))
		if len(rep.Agents) != len(agentRows) {
			t.Fatalf("%sagents: report %d rows, direct %d", what, len(rep.Agents), len(agentRows))
		}
		for _, want := range agentRows {
			var got *store.ReportAgent
			for i := range rep.Agents {
				if fmt.Sprint(rep.Agents[i].UserID) == want.Key {
					got = &rep.Agents[i]
				}
			}
			if got == nil || got.Conversations != want.N {
				t.Fatalf("%sagent %s: report %+v, direct %d conversations", what, want.Key, got, want.N)
			}
			same(t, what+"agent "+got.Name+" first response", got.FirstResponse, want.FRN, want.FRMed, want.FRP90)
			sameCSAT(t, what+"agent "+got.Name+" CSAT", got.CSAT, want.CN, want.CAvg)
		}
		for i := 1; i < len(rep.Agents); i++ {
			if rep.Agents[i].Conversations > rep.Agents[i-1].Conversations {
				t.Errorf("%sagents not by conversations: %+v", what, rep.Agents)
			}
		}

		// The week's hours, by local weekday (Monday first) and hour.
		var hours []struct {
			Dow  int `db:"dow"`
			Hour int `db:"hour"`
			N    int `db:"n"`
		}
		check(t, db.Select(&hours, direct+` SELECT (extract(dow FROM local)::int + 6) % 7 AS dow,
		extract(hour FROM local)::int AS hour, count(*) AS n FROM m GROUP BY 1, 2`, account, in))
		var want [7][24]int
		for _, h := range hours {
			want[h.Dow][h.Hour] = h.N
		}
		if rep.Hours != want {
			t.Errorf("%shours of the week:\n report %v\n direct %v", what, rep.Hours, want)
		}
	}
}

func same(t *testing.T, what string, got store.Durations, n int, med, p90 *float64) {
	t.Helper()
	if got.Count != n || !near(got.Median, med) || !near(got.P90, p90) {
		t.Errorf("%s: report %d %v %v, direct %d %v %v", what, got.Count, deref(got.Median), deref(got.P90), n, deref(med), deref(p90))
	}
}

func sameCSAT(t *testing.T, what string, got store.CSAT, n int, avg *float64) {
	t.Helper()
	if got.Responses != n || !near(got.Average, avg) {
		t.Errorf("%s: report %d %v, direct %d %v", what, got.Responses, deref(got.Average), n, deref(avg))
	}
}

func near(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return math.Abs(*a-*b) < 1e-6
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// Migration 0042 fills the totals of the conversations already there: its
// objects are taken away, a month is seeded as before it, and the
// migration's own text runs again.
func TestReportMigrationFillsTotals(t *testing.T) {
	db := dbtest.New(t)
	st := store.New(db)
	ctx := context.Background()
	f := newFixture(t, st, "reports-migration")
	db.MustExec(`UPDATE accounts SET timezone = 'Europe/Amsterdam' WHERE id = $1`, f.account.ID)
	other := &store.Inbox{AccountID: f.account.ID, Name: "Sales", HasChatChannel: true}
	check(t, st.CreateInbox(ctx, other))
	var agents []int64
	for _, name := range []string{"Ana", "Ben"} {
		u := &store.User{AccountID: f.account.ID, Email: name + "@example.com", Name: name}
		check(t, st.CreateUser(ctx, u))
		agents = append(agents, u.ID)
	}
	db.MustExec(`DROP TABLE report_totals, report_deltas;
		DROP FUNCTION report_conversations_added, report_conversations_removed, report_conversation_changed,
			report_survey_answers, report_timezone_changed CASCADE;
		DROP FUNCTION report_rebuild, report_facts;
		DROP INDEX conversations_report_first_response, conversations_report_resolution;
		DROP FUNCTION report_bucket;
		ALTER TABLE conversations DROP COLUMN csat_score`)
	seedReportMonth(t, db, f, agents, []int64{f.inbox.ID, other.ID})
	all, err := migrations.All()
	check(t, err)
	var ran bool
	for _, m := range all {
		if m.Version == 42 {
			db.MustExec(m.SQL)
			ran = true
		}
	}
	var pending, totals int
	check(t, db.Get(&pending, `SELECT count(*) FROM report_deltas`))
	check(t, db.Get(&totals, `SELECT count(*) FROM report_totals WHERE account_id = $1`, f.account.ID))
	if !ran || pending != 0 || totals == 0 {
		t.Fatalf("migration ran %v: %d changes pending, %d totals", ran, pending, totals)
	}
	matchDirect(t, db, st, f.account.ID, other.ID, "migrated")
}

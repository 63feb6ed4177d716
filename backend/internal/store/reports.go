package store

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// ReportFilter selects what a report covers: the conversations the account
// started from the day From to the day To, both included, as days in the
// account's time zone (only the dates of From and To count); InboxID 0 is
// every inbox.
type ReportFilter struct {
	AccountID int64
	From, To  time.Time
	InboxID   int64
}

// Durations summarises a set of times in seconds.
type Durations struct {
	Count  int      `json:"count"`          // how many conversations had one
	Median *float64 `json:"median_seconds"` // nil when Count is 0
	P90    *float64 `json:"p90_seconds"`    // 90th percentile (interpolated)
}

// CSAT summarises survey answers (scores 1 to 5).
type CSAT struct {
	Responses int      `json:"responses"`
	Average   *float64 `json:"average"` // nil without responses
}

// ReportDay is one day of a report, in the account's time zone.
type ReportDay struct {
	Date          string    `json:"date"` // YYYY-MM-DD
	Conversations int       `json:"conversations"`
	FirstResponse Durations `json:"first_response"`
	Resolution    Durations `json:"resolution"`
	CSAT          CSAT      `json:"csat"`
}

// ReportAgent is one agent's part of a report: the conversations assigned
// to them now. UserID 0 is the conversations nobody is assigned to.
type ReportAgent struct {
	UserID        int64     `json:"user_id"`
	Name          string    `json:"name"`
	Conversations int       `json:"conversations"`
	FirstResponse Durations `json:"first_response"`
	CSAT          CSAT      `json:"csat"`
}

// Report holds the figures over the conversations a ReportFilter selects.
// First response is the time from a conversation's start to an agent's
// first message to the visitor (notes and bots do not count); resolution
// the time from its start to its closing, for closed ones. A conversation's
// survey answer counts on the day it started.
type Report struct {
	From          string        `json:"from"`
	To            string        `json:"to"`
	TimeZone      string        `json:"timezone"` // the account's, which decides the days
	InboxID       int64         `json:"inbox_id,omitempty"`
	Conversations int           `json:"conversations"`
	Closed        int           `json:"closed"`
	FirstResponse Durations     `json:"first_response"`
	Resolution    Durations     `json:"resolution"`
	CSAT          CSAT          `json:"csat"`
	Days          []ReportDay   `json:"days"`   // every day of the range, oldest first
	Agents        []ReportAgent `json:"agents"` // most conversations first
	// Hours counts the conversations started per weekday (0 Monday … 6
	// Sunday) and hour of the day (0 … 23).
	Hours [7][24]int `json:"hours"`
}

// reportLockClass is the first key of the per-account advisory lock held
// by whoever writes report_totals: CompactReport, and migration 0042's
// rebuild when an account's time zone changes.
const reportLockClass = 7442

// errReportDrift says the report totals and the conversations disagree,
// which the triggers of migration 0042 are there to prevent.
var errReportDrift = errors.New("store: report totals disagree with the conversations")

// CompactReport folds the account's pending report changes (report_deltas)
// into its totals in one statement, so a report reads few rows. It does
// nothing while another compaction of the account runs: a report reads
// what is still pending as well.
func (s *Store) CompactReport(ctx context.Context, accountID int64) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		_, err := compactReport(ctx, tx, accountID)
		return err
	})
}

// FoldReportChanges folds every account's pending report changes into its
// totals, as CompactReport does, so that they do not pile up between
// reports, and says how many changes it folded.
func (w *Sweep) FoldReportChanges(ctx context.Context) (int64, error) {
	var accounts []int64
	if err := w.conn.SelectContext(ctx, &accounts, `SELECT DISTINCT account_id FROM report_deltas`); err != nil {
		return 0, err
	}
	var folded int64
	for _, a := range accounts {
		tx, err := w.conn.BeginTxx(ctx, nil)
		if err != nil {
			return folded, err
		}
		n, err := compactReport(ctx, tx, a)
		if err == nil {
			err = tx.Commit()
		} else {
			tx.Rollback()
		}
		if err != nil {
			return folded, err
		}
		folded += n
	}
	return folded, nil
}

// compactReport folds the account's changes in tx unless another
// transaction is folding them, and says how many it folded.
func compactReport(ctx context.Context, tx *sqlx.Tx, accountID int64) (int64, error) {
	var got bool
	if err := tx.GetContext(ctx, &got, `SELECT pg_try_advisory_xact_lock($1, ($2 % 2147483647)::int)`,
		reportLockClass, accountID); err != nil || !got {
		return 0, err
	}
	// The account's time zone decides the hour and day a change counts
	// in; an account gone takes its changes with it.
	if _, err := tx.ExecContext(ctx, `SET LOCAL enable_bitmapscan = off`); err != nil {
		return 0, err
	}
	var n int64
	err := tx.GetContext(ctx, &n, `WITH d AS (
			DELETE FROM report_deltas WHERE account_id = $1
			RETURNING created_at, kind, inbox_id, assignee_id, bucket, n, total),
		folded AS (
			INSERT INTO report_totals (account_id, at, kind, inbox_id, assignee_id, bucket, n, total)
			SELECT $1, date_trunc(CASE WHEN d.kind = 'c' THEN 'hour' ELSE 'day' END, d.created_at AT TIME ZONE a.timezone),
				d.kind, d.inbox_id, d.assignee_id, d.bucket, sum(d.n), sum(d.total)
			FROM d JOIN accounts a ON a.id = $1
			GROUP BY 2, 3, 4, 5, 6
			ORDER BY 2, 3, 4, 5, 6
			ON CONFLICT (account_id, at, kind, inbox_id, assignee_id, bucket)
				DO UPDATE SET n = report_totals.n + EXCLUDED.n, total = report_totals.total + EXCLUDED.total)
		SELECT count(*) FROM d`, accountID)
	return n, err
}

// reportBuild gathers a report's figures before they are put in order.
type reportBuild struct {
	accountID int64
	rep       *Report
	days      map[string]*ReportDay
	agents    map[int64]*ReportAgent
	names     map[int64]sql.NullString
}

func (b *reportBuild) day(d string) *ReportDay {
	if b.days[d] == nil {
		b.days[d] = &ReportDay{Date: d}
	}
	return b.days[d]
}

func (b *reportBuild) agent(id int64) *ReportAgent {
	if b.agents[id] == nil {
		b.agents[id] = &ReportAgent{UserID: id}
	}
	return b.agents[id]
}

// Report computes the figures of f from the totals the database keeps
// (migration 0042): the account's pending changes are folded in first
// (CompactReport), then one read-only snapshot reads the range's totals
// (a row per local hour, or per local day and duration bucket, inbox and
// agent) and, for each median and 90th percentile, the durations of the
// one bucket its rank falls in. The figures equal a direct computation
// over the conversations, percentiles included.
func (s *Store) Report(ctx context.Context, f ReportFilter) (*Report, error) {
	if err := s.CompactReport(ctx, f.AccountID); err != nil {
		return nil, err
	}
	from, to := f.From.Format(time.DateOnly), f.To.Format(time.DateOnly)
	rep := &Report{From: from, To: to, InboxID: f.InboxID, Agents: []ReportAgent{}}
	b := &reportBuild{accountID: f.AccountID, rep: rep, days: map[string]*ReportDay{}, agents: map[int64]*ReportAgent{}, names: map[int64]sql.NullString{}}
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	// Changes just folded leave dead rows in report_deltas until vacuum:
	// a plain index scan marks them so the next report skips them (a
	// bitmap scan would read them again each time).
	if _, err := tx.ExecContext(ctx, `SET LOCAL jit = off; SET LOCAL enable_bitmapscan = off`); err != nil {
		return nil, err
	}
	if err := tx.GetContext(ctx, &rep.TimeZone, `SELECT timezone FROM accounts WHERE id = $1`, f.AccountID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	args := []any{f.AccountID, rep.TimeZone, from, to}
	inbox := ""
	if f.InboxID > 0 {
		args = append(args, f.InboxID)
		inbox = " AND inbox_id = $5"
	}
	// The range's totals, with the changes not folded in yet keyed the same way.
	rangeCTE := `WITH t AS MATERIALIZED (
		SELECT at, kind, assignee_id, bucket, n, total FROM report_totals
		WHERE account_id = $1 AND at >= $3::date AND at < $4::date + 1` + inbox + `
		UNION ALL
		SELECT date_trunc(CASE WHEN kind = 'c' THEN 'hour' ELSE 'day' END, created_at AT TIME ZONE $2), kind, assignee_id, bucket, n, total
		FROM report_deltas
		WHERE account_id = $1 AND created_at >= ($3::date)::timestamp AT TIME ZONE $2
			AND created_at < ($4::date + 1)::timestamp AT TIME ZONE $2` + inbox + `)`
	groups, err := b.readTotals(ctx, tx, rangeCTE, args)
	if err != nil {
		return nil, err
	}
	if err := b.percentiles(ctx, tx, groups); err != nil {
		return nil, err
	}
	b.finish(f)
	return rep, nil
}

// readTotals reads the range's totals in one statement: conversations,
// closings and survey scores per day, per agent, per hour of the week and
// in total; and of each group of durations (a day's, an agent's, the
// range's first response or resolution) its count and the buckets that
// hold the ranks percentile_cont interpolates between.
func (b *reportBuild) readTotals(ctx context.Context, tx *sqlx.Tx, rangeCTE string, args []any) (map[durGroup][]*durBucket, error) {
	rows, err := tx.QueryContext(ctx, rangeCTE+`, g AS (
		SELECT x.kind, GROUPING(x.day) AS g_day, GROUPING(x.assignee_id) AS g_agent, GROUPING(x.how) AS g_how,
			x.day, x.assignee_id, x.how, sum(x.n) AS n, sum(x.total) AS total
		FROM (SELECT kind, at::date AS day, assignee_id,
				CASE WHEN kind = 'c' THEN (extract(isodow FROM at)::int - 1) * 24 + extract(hour FROM at)::int END AS how, n, total
			FROM t WHERE kind IN ('c', 'x', 's')) x
		GROUP BY GROUPING SETS ((x.kind, x.day), (x.kind, x.assignee_id), (x.kind, x.how), (x.kind))
		HAVING sum(x.n) <> 0),
	h AS (
		SELECT x.kind, GROUPING(x.day) AS g_day, GROUPING(x.assignee_id) AS g_agent, x.day, x.assignee_id, x.bucket, sum(x.n) AS n
		FROM (SELECT kind, at::date AS day, assignee_id, bucket, n FROM t WHERE kind IN ('f', 'r')) x
		GROUP BY GROUPING SETS ((x.kind, x.day, x.bucket), (x.kind, x.assignee_id, x.bucket), (x.kind, x.bucket))
		HAVING sum(x.n) <> 0 AND (GROUPING(x.assignee_id) = 1 OR x.kind = 'f')),
	c AS (
		SELECT h.kind, h.g_day, h.g_agent, h.day, h.assignee_id, h.bucket, h.n,
			(sum(h.n) OVER (PARTITION BY h.kind, h.g_day, h.g_agent, h.day, h.assignee_id ORDER BY h.bucket) - h.n)::float8 AS before,
			(sum(h.n) OVER (PARTITION BY h.kind, h.g_day, h.g_agent, h.day, h.assignee_id))::float8 AS cnt
		FROM h)
	SELECT false, g.kind::text, g.g_day, g.g_agent, g.g_how, COALESCE(to_char(g.day, 'YYYY-MM-DD'), ''), COALESCE(g.assignee_id, 0),
		COALESCE(g.how, -1), 0, 0::bigint, g.n::bigint, 0::bigint, g.total::float8, u.name
	FROM g LEFT JOIN users u ON u.id = g.assignee_id AND g.g_agent = 0
	UNION ALL
	SELECT true, c.kind::text, c.g_day, c.g_agent, 1, COALESCE(to_char(c.day, 'YYYY-MM-DD'), ''), COALESCE(c.assignee_id, 0),
		-1, c.bucket, c.before::bigint, c.n::bigint, c.cnt::bigint, 0, NULL
	FROM c
	-- percentile_cont's ranks, computed as it does (float8)
	WHERE EXISTS (SELECT 1 FROM unnest(ARRAY[floor(0.5::float8 * (c.cnt - 1)), ceil(0.5::float8 * (c.cnt - 1)),
		floor(0.9::float8 * (c.cnt - 1)), ceil(0.9::float8 * (c.cnt - 1))]) r WHERE r >= c.before AND r < c.before + c.n)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	groups := map[durGroup][]*durBucket{}
	rep := b.rep
	for rows.Next() {
		var (
			dur                bool
			kind               string
			gDay, gAgent, gHow int
			day                string
			agent, how         int64
			x                  durBucket
			total              float64
			name               sql.NullString
		)
		if err := rows.Scan(&dur, &kind, &gDay, &gAgent, &gHow, &day, &agent, &how, &x.bucket, &x.before, &x.n, &x.cnt,
			&total, &name); err != nil {
			return nil, err
		}
		n := x.n
		if dur {
			k := durGroup{kind: kind, g: 2}
			switch {
			case gDay == 0:
				k.g, k.day = 0, day
			case gAgent == 0:
				k.g, k.agent = 1, agent
			}
			x.first, x.last = x.n, -1
			groups[k] = append(groups[k], &x)
			continue
		}
		switch {
		case gDay == 0:
			d := b.day(day)
			switch kind {
			case "c":
				d.Conversations = int(n)
			case "s":
				d.CSAT = csat(n, total)
			}
		case gAgent == 0:
			if kind == "x" {
				continue
			}
			a := b.agent(agent)
			b.names[agent] = name
			switch kind {
			case "c":
				a.Conversations = int(n)
			case "s":
				a.CSAT = csat(n, total)
			}
		case gHow == 0:
			if kind == "c" && how >= 0 && how < 7*24 {
				rep.Hours[how/24][how%24] = int(n)
			}
		default:
			switch kind {
			case "c":
				rep.Conversations = int(n)
			case "x":
				rep.Closed = int(n)
			case "s":
				rep.CSAT = csat(n, total)
			}
		}
	}
	return groups, rows.Err()
}

func csat(n int64, sum float64) CSAT {
	avg := sum / float64(n)
	return CSAT{Responses: int(n), Average: &avg}
}

// reportPercentiles are the ones a report shows, as percentile_cont takes them.
var reportPercentiles = [2]float64{0.5, 0.9}

// durGroup is one set of durations a report summarises: kind f (first
// response) or r (resolution) of a day, an agent or the whole range.
type durGroup struct {
	kind  string
	g     int    // 0 a day, 1 an agent, 2 the range
	day   string // g 0
	agent int64  // g 1
}

// durBucket is one bucket of a group's histogram that holds a rank wanted.
type durBucket struct {
	bucket         int
	before, n, cnt int64
	first, last    int64 // the ranks wanted in it, within the bucket
	values         []float64
}

// percentiles reads, for each group of durations, the durations of the
// ranks percentile_cont interpolates between from the conversations (one
// index range per bucket) and computes median and 90th percentile as
// percentile_cont does.
func (b *reportBuild) percentiles(ctx context.Context, tx *sqlx.Tx, groups map[durGroup][]*durBucket) error {
	order := make([]durGroup, 0, len(groups))
	for k := range groups {
		order = append(order, k)
	}
	// The ranks wanted, by bucket.
	at := func(k durGroup, rank int64) *durBucket {
		for _, x := range groups[k] {
			if rank >= x.before && rank < x.before+x.n {
				return x
			}
		}
		return nil
	}
	for _, k := range order {
		cnt := groups[k][0].cnt
		for _, p := range reportPercentiles {
			pos := p * float64(cnt-1)
			for _, r := range []int64{int64(math.Floor(pos)), int64(math.Ceil(pos))} {
				x := at(k, r)
				if x == nil {
					return errReportDrift
				}
				x.first, x.last = min(x.first, r-x.before), max(x.last, r-x.before)
			}
		}
	}
	// One look-up per bucket: its durations in the group's days, ordered,
	// from the first rank wanted to the last.
	var (
		ids, buckets, offs, lims []int64
		kinds, froms, tos        []string
		agents                   []int64
		wanted                   []*durBucket
	)
	for _, k := range order {
		for _, x := range groups[k] {
			if x.last < 0 {
				continue
			}
			ids = append(ids, int64(len(wanted)))
			wanted = append(wanted, x)
			kinds, buckets, offs, lims = append(kinds, k.kind), append(buckets, int64(x.bucket)), append(offs, x.first), append(lims, x.last-x.first+1)
			agent, dFrom, dTo := int64(-1), b.rep.From, b.rep.To
			switch k.g {
			case 0:
				dFrom, dTo = k.day, k.day
			case 1:
				agent = k.agent
			}
			agents, froms, tos = append(agents, agent), append(froms, dFrom), append(tos, dTo)
		}
	}
	if len(wanted) == 0 {
		return nil
	}
	inbox := ""
	if b.rep.InboxID > 0 {
		inbox = " AND c.inbox_id = $11"
	}
	lookArgs := []any{b.accountID, pq.Array(ids), pq.Array(kinds), pq.Array(buckets), pq.Array(agents), pq.Array(froms), pq.Array(tos),
		pq.Array(offs), pq.Array(lims), b.rep.TimeZone}
	if b.rep.InboxID > 0 {
		lookArgs = append(lookArgs, b.rep.InboxID)
	}
	rows, err := tx.QueryContext(ctx, `SELECT l.i, v.x
		FROM unnest($2::bigint[], $3::text[], $4::int[], $5::bigint[], $6::date[], $7::date[], $8::bigint[], $9::bigint[])
			AS l(i, kind, bucket, assignee, d_from, d_to, off, lim)
		CROSS JOIN LATERAL (
			SELECT y.x FROM (
				SELECT extract(epoch FROM c.first_response_at - c.created_at)::float8 AS x FROM conversations c
				WHERE l.kind = 'f' AND c.account_id = $1 AND c.first_response_at IS NOT NULL
					AND report_bucket(extract(epoch FROM c.first_response_at - c.created_at)::float8) = l.bucket
					AND c.created_at >= l.d_from::timestamp AT TIME ZONE $10 AND c.created_at < (l.d_to + 1)::timestamp AT TIME ZONE $10
					AND (l.assignee < 0 OR COALESCE(c.assignee_id, 0) = l.assignee)`+inbox+`
				UNION ALL
				SELECT extract(epoch FROM c.closed_at - c.created_at)::float8 FROM conversations c
				WHERE l.kind = 'r' AND c.account_id = $1 AND c.status = 'closed' AND c.closed_at IS NOT NULL
					AND report_bucket(extract(epoch FROM c.closed_at - c.created_at)::float8) = l.bucket
					AND c.created_at >= l.d_from::timestamp AT TIME ZONE $10 AND c.created_at < (l.d_to + 1)::timestamp AT TIME ZONE $10`+inbox+`
			) y ORDER BY y.x OFFSET l.off LIMIT l.lim) v
		ORDER BY l.i, v.x`, lookArgs...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			i int64
			v float64
		)
		if err := rows.Scan(&i, &v); err != nil {
			return err
		}
		wanted[i].values = append(wanted[i].values, v)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, x := range wanted {
		if int64(len(x.values)) != x.last-x.first+1 {
			return errReportDrift
		}
	}
	value := func(k durGroup, r int64) float64 {
		x := at(k, r)
		return x.values[r-x.before-x.first]
	}
	for _, k := range order {
		cnt := groups[k][0].cnt
		d := Durations{Count: int(cnt)}
		for i, p := range reportPercentiles {
			// As percentile_cont: the rank's value, or the interpolation
			// between the two ranks around it.
			pos := p * float64(cnt-1)
			lo, hi := math.Floor(pos), math.Ceil(pos)
			v := value(k, int64(lo))
			if hi > lo {
				v += (pos - lo) * (value(k, int64(hi)) - v)
			}
			if i == 0 {
				d.Median = &v
			} else {
				d.P90 = &v
			}
		}
		switch {
		case k.g == 0 && k.kind == "f":
			b.day(k.day).FirstResponse = d
		case k.g == 0:
			b.day(k.day).Resolution = d
		case k.g == 1:
			b.agent(k.agent).FirstResponse = d
		case k.kind == "f":
			b.rep.FirstResponse = d
		default:
			b.rep.Resolution = d
		}
	}
	return nil
}

// finish puts the days (every day of the range, the quiet ones too) and
// the agents (most conversations first) in order.
func (b *reportBuild) finish(f ReportFilter) {
	for d := f.From; !d.After(f.To); d = d.AddDate(0, 0, 1) {
		b.rep.Days = append(b.rep.Days, *b.day(d.Format(time.DateOnly)))
	}
	for id, a := range b.agents {
		if a.Conversations == 0 {
			continue
		}
		a.Name = b.names[id].String
		if id == 0 {
			a.Name = "Unassigned"
		}
		b.rep.Agents = append(b.rep.Agents, *a)
	}
	// Most conversations first, then by name (nobody's last), then id.
	sort.Slice(b.rep.Agents, func(i, j int) bool {
		x, y := b.rep.Agents[i], b.rep.Agents[j]
		if x.Conversations != y.Conversations {
			return x.Conversations > y.Conversations
		}
		if (x.UserID == 0) != (y.UserID == 0) {
			return y.UserID == 0
		}
		if x.Name != y.Name {
			return x.Name < y.Name
		}
		return x.UserID < y.UserID
	})
}

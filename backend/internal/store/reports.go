package store

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
)

// ReportFilter selects what a report covers: the conversations the account
// started from the day From to the day To, both included, as days in
// TimeZone (only the dates of From and To count); InboxID 0 is every inbox.
type ReportFilter struct {
	AccountID int64
	From, To  time.Time
	TimeZone  string // IANA name; "" is UTC
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
	TimeZone      string        `json:"timezone"`
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

// reportRow is one group of the report query: a day, an agent, an hour of
// the week or the whole range, told apart by the GROUPING flags.
type reportRow struct {
	GDay, GAgent, GHour          int
	Day, AgentName               sql.NullString
	Agent, How                   sql.NullInt64 // How: hour of the week, Monday 00:00 is 0
	N, Closed, frN, resN, csatN  int
	frMed, frP90, resMed, resP90 sql.NullFloat64
	csatAvg                      sql.NullFloat64
}

// Report computes the figures of f in PostgreSQL in one statement over the
// conversations of the range (read once): per day, per agent and in total
// as grouping sets, and per hour of the week.
func (s *Store) Report(ctx context.Context, f ReportFilter) (*Report, error) {
	tz := f.TimeZone
	if tz == "" {
		tz = "UTC"
	}
	from, to := f.From.Format(time.DateOnly), f.To.Format(time.DateOnly)
	args := []any{f.AccountID, tz, from, to}
	inbox := ""
	if f.InboxID > 0 {
		args = append(args, f.InboxID)
		inbox = " AND c.inbox_id = $" + strconv.Itoa(len(args))
	}
	// One row per conversation, narrow: every grouping below sorts it.
	q := `WITH c AS MATERIALIZED (
		SELECT c.assignee_id, c.status = 'closed' AS closed,
			l.local::date AS day,
			(extract(isodow FROM l.local)::int - 1) * 24 + extract(hour FROM l.local)::int AS how,
			extract(epoch FROM c.first_response_at - c.created_at)::float8 AS fr,
			CASE WHEN c.status = 'closed' THEN extract(epoch FROM c.closed_at - c.created_at)::float8 END AS res,
			r.score
		FROM conversations c
		CROSS JOIN LATERAL (SELECT c.created_at AT TIME ZONE $2 AS local) l
		LEFT JOIN (SELECT r.conversation_id, r.score FROM survey_responses r JOIN surveys sv ON sv.id = r.survey_id
			WHERE sv.account_id = $1) r ON r.conversation_id = c.id
		WHERE c.account_id = $1` + inbox + `
			AND c.created_at >= ($3::date)::timestamp AT TIME ZONE $2
			AND c.created_at < ($4::date + 1)::timestamp AT TIME ZONE $2
	), g AS (
		SELECT GROUPING(day) AS g_day, GROUPING(assignee_id) AS g_agent, 1 AS g_hour,
			to_char(day, 'YYYY-MM-DD') AS day, assignee_id, NULL::int AS how,
			count(*) AS n, count(*) FILTER (WHERE closed) AS closed,
			count(fr) AS fr_n,
			-- Median and 90th percentile from one sort each.
			percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY fr) AS fr_pc,
			count(res) AS res_n,
			percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY res) AS res_pc,
			count(score) AS csat_n, avg(score)::float8 AS csat_avg
		FROM c
		GROUP BY GROUPING SETS ((day), (assignee_id), ())
		UNION ALL
		-- The week's hours need counts only: no percentile sorts for them.
		SELECT 1, 1, 0, NULL, NULL, how, count(*), 0, 0, NULL, 0, NULL, 0, NULL
		FROM c GROUP BY how
	)
	SELECT g.g_day, g.g_agent, g.g_hour, g.day, g.assignee_id, COALESCE(u.name, ''), g.how, g.n, g.closed,
		g.fr_n, g.fr_pc[1], g.fr_pc[2], g.res_n, g.res_pc[1], g.res_pc[2], g.csat_n, g.csat_avg
	FROM g LEFT JOIN users u ON u.id = g.assignee_id AND g.g_agent = 0
	ORDER BY g.day, g.n DESC, u.name, g.assignee_id`
	var list []reportRow
	// Sorting a range's conversations in memory, not on disk, and no JIT
	// compile for a statement that runs once: both for this one transaction.
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SET LOCAL work_mem = '64MB'; SET LOCAL jit = off`); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r reportRow
			if err := rows.Scan(&r.GDay, &r.GAgent, &r.GHour, &r.Day, &r.Agent, &r.AgentName, &r.How, &r.N, &r.Closed,
				&r.frN, &r.frMed, &r.frP90, &r.resN, &r.resMed, &r.resP90, &r.csatN, &r.csatAvg); err != nil {
				return err
			}
			list = append(list, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	rep := &Report{From: from, To: to, TimeZone: tz, InboxID: f.InboxID, Agents: []ReportAgent{}}
	days := map[string]ReportDay{}
	for _, r := range list {
		fr := Durations{Count: r.frN, Median: nullFloat(r.frMed), P90: nullFloat(r.frP90)}
		res := Durations{Count: r.resN, Median: nullFloat(r.resMed), P90: nullFloat(r.resP90)}
		csat := CSAT{Responses: r.csatN, Average: nullFloat(r.csatAvg)}
		switch {
		case r.GDay == 0:
			days[r.Day.String] = ReportDay{Date: r.Day.String, Conversations: r.N, FirstResponse: fr, Resolution: res, CSAT: csat}
		case r.GAgent == 0:
			a := ReportAgent{UserID: r.Agent.Int64, Name: r.AgentName.String, Conversations: r.N, FirstResponse: fr, CSAT: csat}
			if !r.Agent.Valid {
				a.Name = "Unassigned"
			}
			rep.Agents = append(rep.Agents, a)
		case r.GHour == 0:
			if h := r.How.Int64; h >= 0 && h < 7*24 {
				rep.Hours[h/24][h%24] = r.N
			}
		default:
			rep.Conversations, rep.Closed, rep.FirstResponse, rep.Resolution, rep.CSAT = r.N, r.Closed, fr, res, csat
		}
	}
	// Every day of the range, the quiet ones too.
	for d := f.From; !d.After(f.To); d = d.AddDate(0, 0, 1) {
		k := d.Format(time.DateOnly)
		day, ok := days[k]
		if !ok {
			day = ReportDay{Date: k}
		}
		rep.Days = append(rep.Days, day)
	}
	return rep, nil
}

func nullFloat(v sql.NullFloat64) *float64 {
	if !v.Valid {
		return nil
	}
	return &v.Float64
}

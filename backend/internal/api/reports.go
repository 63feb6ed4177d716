package api

import (
	"bytes"
	"encoding/csv"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
)

// Reports: figures over the conversations an account started in a date
// range, per day, per agent and per hour of the week. They name each
// agent's figures, so admins only, like the users they are about.
func (a *API) registerReports(v1 *gin.RouterGroup) {
	v1.GET("/reports", a.report)
}

// Report ranges: by default the last DefaultReportDays days up to today;
// at most MaxReportDays days.
const (
	DefaultReportDays = 30
	MaxReportDays     = 366
)

// ReportQuery reads a report's range and inbox from ?from=&to=&inbox_id=
// (dates as YYYY-MM-DD in the account's time zone, both included; no
// inbox_id is every inbox), naming each bad field. now is the time the
// default range ends at.
func ReportQuery(get func(string) (string, bool), tz *time.Location, now time.Time) (from, to time.Time, inbox int64, e problem.Errors) {
	today := now.In(tz)
	to = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	date := func(name string, def time.Time) time.Time {
		v, ok := get(name)
		if !ok || v == "" {
			return def
		}
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			e.Add(name, "must be a date as YYYY-MM-DD")
			return def
		}
		return d
	}
	to = date("to", to)
	from = date("from", to.AddDate(0, 0, 1-DefaultReportDays))
	if len(e) == 0 {
		switch days := int(to.Sub(from).Hours()/24) + 1; {
		case days < 1:
			e.Add("to", "must not be before from")
		case days > MaxReportDays:
			e.Add("from", "the range is "+strconv.Itoa(days)+" days; at most "+strconv.Itoa(MaxReportDays))
		}
	}
	if v, ok := get("inbox_id"); ok && v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			e.Add("inbox_id", "must be a positive id")
		}
		inbox = n
	}
	return from, to, inbox, e
}

// report: GET /reports?from=&to=&inbox_id=&format= — the figures as JSON,
// or format=csv (one row per day) or format=agents.csv (one per agent).
func (a *API) report(c *gin.Context) {
	acct := account(c)
	var e problem.Errors
	for k := range c.Request.URL.Query() {
		switch k {
		case "from", "to", "inbox_id", "format":
		default:
			e.Add(k, "is not a parameter here; use from, to, inbox_id and format")
		}
	}
	tz, err := time.LoadLocation(acct.Timezone)
	if err != nil {
		tz = time.UTC
	}
	from, to, inbox, qe := ReportQuery(c.GetQuery, tz, time.Now())
	e = append(e, qe...)
	format := c.Query("format")
	if format != "" && format != "json" && format != "csv" && format != "agents.csv" {
		e.Add("format", `must be "json", "csv" or "agents.csv"`)
	}
	if inbox > 0 && len(e) == 0 {
		if _, err := a.st.Inbox(c, acct.ID, inbox); errors.Is(err, store.ErrNotFound) {
			e.Add("inbox_id", "is not an inbox of this account")
		} else if err != nil {
			a.fail(c, err)
			return
		}
	}
	if err := e.Err(); err != nil {
		a.fail(c, err)
		return
	}
	rep, err := a.st.Report(c, store.ReportFilter{AccountID: acct.ID, From: from, To: to, InboxID: inbox})
	if err != nil {
		a.fail(c, err)
		return
	}
	switch format {
	case "csv", "agents.csv":
		name := "report-" + rep.From + "-" + rep.To
		if format == "agents.csv" {
			name += "-agents"
		}
		c.Header("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		c.Data(http.StatusOK, "text/csv; charset=utf-8", ReportCSV(rep, format == "agents.csv"))
	default:
		c.JSON(http.StatusOK, rep)
	}
}

// ReportCSV writes rep as CSV: one row per day, or per agent; times in
// seconds, empty where there is nothing to measure.
func ReportCSV(rep *store.Report, agents bool) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	num := func(f *float64) string {
		if f == nil {
			return ""
		}
		return strconv.FormatFloat(*f, 'f', 1, 64)
	}
	if agents {
		w.Write([]string{"agent", "conversations", "first_response_answered", "first_response_median_s", "first_response_p90_s", "csat_responses", "csat_average"})
		for _, ag := range rep.Agents {
			w.Write([]string{csvText(ag.Name), strconv.Itoa(ag.Conversations), strconv.Itoa(ag.FirstResponse.Count),
				num(ag.FirstResponse.Median), num(ag.FirstResponse.P90), strconv.Itoa(ag.CSAT.Responses), num(ag.CSAT.Average)})
		}
	} else {
		w.Write([]string{"date", "conversations", "first_response_answered", "first_response_median_s", "first_response_p90_s",
			"resolved", "resolution_median_s", "resolution_p90_s", "csat_responses", "csat_average"})
		for _, d := range rep.Days {
			w.Write([]string{d.Date, strconv.Itoa(d.Conversations), strconv.Itoa(d.FirstResponse.Count), num(d.FirstResponse.Median),
				num(d.FirstResponse.P90), strconv.Itoa(d.Resolution.Count), num(d.Resolution.Median), num(d.Resolution.P90),
				strconv.Itoa(d.CSAT.Responses), num(d.CSAT.Average)})
		}
	}
	w.Flush()
	return b.Bytes()
}

// csvText keeps a name from being read as a formula by a spreadsheet.
func csvText(s string) string {
	if s != "" && bytes.ContainsRune([]byte("=+-@\t\r"), rune(s[0])) {
		return "'" + s
	}
	return s
}

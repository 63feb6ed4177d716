package inbox

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/store"
)

// Reports: /inbox/reports shows the REST report of a date range and inbox
// as charts drawn here as SVG (no script; colours come from classes in
// inbox.css and presentation attributes, so the page's CSP holds), and
// /inbox/reports.csv downloads it. Admins only, as over REST: the report
// names each agent's figures.

func (h *Handler) registerReports(authed *gin.RouterGroup) {
	authed.GET("/reports", RequireAdmin, h.reportsPage)
	authed.GET("/reports.csv", RequireAdmin, h.reportsCSV)
}

// reportQuery passes the page's filters on to REST as they were typed.
func reportQuery(c *gin.Context, extra ...string) string {
	q := url.Values{}
	for _, k := range []string{"from", "to", "inbox_id"} {
		if v := strings.TrimSpace(c.Query(k)); v != "" {
			q.Set(k, v)
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return "/api/v1/reports?" + q.Encode()
}

type reportsData struct {
	basePage
	Errors   formErrors
	From, To string // the form, as typed or as the report's range
	InboxID  string
	Inboxes  []store.Inbox
	Report   *store.Report
	CSV      string // the downloads' query string
	Charts   []chart
	Heat     *heatmap
	Agents   []agentRow
	Totals   []figure
}

// figure is one headline number.
type figure struct{ Label, Value, ID string }

type agentRow struct {
	Name, Conversations, FirstResponse, CSAT string
	Bar                                      string // the conversations bar's width, of 100
}

func (h *Handler) reportsPage(c *gin.Context) {
	u := user(c)
	d := reportsData{basePage: h.base(c, "Reports"), Errors: formErrors{},
		From: c.Query("from"), To: c.Query("to"), InboxID: c.Query("inbox_id")}
	var err error
	if d.Inboxes, err = h.st.Inboxes(c, u.AccountID); err != nil {
		h.fail(c, "reports", err)
		return
	}
	r := h.rest(c, http.MethodGet, reportQuery(c), nil, 0)
	if r.Status == http.StatusForbidden {
		h.restDeny(c, r)
		return
	}
	if !r.OK() {
		d.Errors = fromProblem(r.Problem())
		placeErrors(d.Errors, "from", "to", "inbox_id")
		status := http.StatusUnprocessableEntity
		if r.Status >= 500 {
			status = r.Status
		}
		h.render(c, status, "reports.html", d)
		return
	}
	var rep store.Report
	if err := r.Decode(&rep); err != nil {
		h.fail(c, "reports", err)
		return
	}
	d.Report, d.From, d.To = &rep, rep.From, rep.To
	if rep.InboxID > 0 {
		d.InboxID = strconv.FormatInt(rep.InboxID, 10)
	}
	q := url.Values{"from": {rep.From}, "to": {rep.To}}
	if d.InboxID != "" {
		q.Set("inbox_id", d.InboxID)
	}
	d.CSV = q.Encode()
	d.build()
	h.render(c, http.StatusOK, "reports.html", d)
}

// reportsCSV downloads the days (or ?table=agents the agents) as CSV.
func (h *Handler) reportsCSV(c *gin.Context) {
	format := "csv"
	if c.Query("table") == "agents" {
		format = "agents.csv"
	}
	r := h.rest(c, http.MethodGet, reportQuery(c, "format", format), nil, 0)
	if !r.OK() {
		h.restDeny(c, r)
		return
	}
	c.Header("Content-Disposition", r.Header.Get("Content-Disposition"))
	c.Data(http.StatusOK, "text/csv; charset=utf-8", r.Body)
}

// build turns the report into what the page draws.
func (d *reportsData) build() {
	rep := d.Report
	d.Totals = []figure{
		{"Conversations", strconv.Itoa(rep.Conversations), "total-conversations"},
		{"Closed", strconv.Itoa(rep.Closed), "total-closed"},
		{"First response, median", duration(rep.FirstResponse.Median), "total-fr-median"},
		{"First response, 90th percentile", duration(rep.FirstResponse.P90), "total-fr-p90"},
		{"Resolution, median", duration(rep.Resolution.Median), "total-res-median"},
		{"Resolution, 90th percentile", duration(rep.Resolution.P90), "total-res-p90"},
		{"CSAT", csatText(rep.CSAT), "total-csat"},
	}
	n := len(rep.Days)
	counts := make([]float64, n)
	frMed, frP90 := make([]*float64, n), make([]*float64, n)
	resMed, resP90 := make([]*float64, n), make([]*float64, n)
	csat := make([]*float64, n)
	labels := make([]string, n)
	for i, day := range rep.Days {
		counts[i] = float64(day.Conversations)
		frMed[i], frP90[i] = day.FirstResponse.Median, day.FirstResponse.P90
		resMed[i], resP90[i] = day.Resolution.Median, day.Resolution.P90
		csat[i] = day.CSAT.Average
		labels[i] = day.Date
	}
	count := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	secs := func(v float64) string { return duration(&v) }
	d.Charts = []chart{
		barsChart("chart-conversations", "Conversations per day", "Conversations started each day.", labels,
			[]series{{Class: "bar-count", Name: "Conversations", Values: ptrs(counts)}}, count),
		barsChart("chart-first-response", "First response time", "Median and 90th percentile of the time to an agent's first answer, per day.", labels,
			[]series{{Class: "bar-p90", Name: "90th percentile", Values: frP90}, {Class: "bar-median", Name: "Median", Values: frMed}}, secs),
		barsChart("chart-resolution", "Resolution time", "Median and 90th percentile of the time to closing, per day.", labels,
			[]series{{Class: "bar-p90", Name: "90th percentile", Values: resP90}, {Class: "bar-median", Name: "Median", Values: resMed}}, secs),
		lineChart("chart-csat", "CSAT trend", "Average survey score (1 to 5) of each day's conversations.", labels, csat),
	}
	d.Heat = heat(rep.Hours)
	most := 1
	for _, a := range rep.Agents {
		most = max(most, a.Conversations)
	}
	for _, a := range rep.Agents {
		d.Agents = append(d.Agents, agentRow{Name: a.Name, Conversations: strconv.Itoa(a.Conversations),
			FirstResponse: duration(a.FirstResponse.Median), CSAT: csatText(a.CSAT),
			Bar: num(100 * float64(a.Conversations) / float64(most))})
	}
}

// duration writes seconds for people: "45s", "3m 20s", "2h 5m", "3d 4h".
func duration(s *float64) string {
	if s == nil {
		return "—"
	}
	t := time.Duration(math.Round(*s)) * time.Second
	switch {
	case t < time.Minute:
		return fmt.Sprintf("%ds", int(t.Seconds()))
	case t < time.Hour:
		return fmt.Sprintf("%dm %ds", int(t.Minutes()), int(t.Seconds())%60)
	case t < 24*time.Hour:
		return fmt.Sprintf("%dh %dm", int(t.Hours()), int(t.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(t.Hours())/24, int(t.Hours())%24)
}

func csatText(c store.CSAT) string {
	if c.Average == nil {
		return "—"
	}
	return strconv.FormatFloat(*c.Average, 'f', 2, 64) + " (" + strconv.Itoa(c.Responses) + ")"
}

// Charts. Coordinates are in the SVG's own units (its viewBox); the page
// scales it to its width.
const (
	chartW, chartH   = 720, 220
	padL, padR       = 56, 8
	padT, padB       = 10, 26
	maxXLabels       = 10
	heatCell, heatL  = 26, 40
	heatTop, heatRow = 18, 22
)

type chart struct {
	ID, Title, Desc string
	W, H            int
	Grid            []gridLine
	Bars            []rect
	Lines           []string // polyline points
	Dots            []dot
	XLabels         []text
	Legend          []series
}

type gridLine struct{ Y, Label string }
type rect struct{ Class, X, Y, W, H, Tip string }
type dot struct{ X, Y, Tip string }
type text struct{ X, Label string }

// series is one set of values per day; nil where there is nothing to draw.
type series struct {
	Class, Name string
	Values      []*float64
}

func ptrs(v []float64) []*float64 {
	out := make([]*float64, len(v))
	for i := range v {
		out[i] = &v[i]
	}
	return out
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// niceMax rounds v up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// frame draws the grid (0, half, top) and the day labels common to every chart.
func frame(id, title, desc string, days []string, top float64, label func(float64) string) chart {
	c := chart{ID: id, Title: title, Desc: desc, W: chartW, H: chartH}
	plotH := float64(chartH - padT - padB)
	for _, f := range []float64{0, 0.5, 1} {
		c.Grid = append(c.Grid, gridLine{Y: num(padT + plotH*(1-f)), Label: label(top * f)})
	}
	slot := float64(chartW-padL-padR) / float64(max(len(days), 1))
	every := (len(days) + maxXLabels - 1) / maxXLabels
	for i, d := range days {
		if i%max(every, 1) != 0 {
			continue
		}
		t, _ := time.Parse(time.DateOnly, d)
		c.XLabels = append(c.XLabels, text{X: num(padL + slot*(float64(i)+0.5)), Label: t.Format("Jan 2")})
	}
	return c
}

// barsChart draws one bar per day and series, the later series in front.
func barsChart(id, title, desc string, days []string, ss []series, label func(float64) string) chart {
	top := 0.0
	for _, s := range ss {
		for _, v := range s.Values {
			if v != nil {
				top = math.Max(top, *v)
			}
		}
	}
	top = niceMax(top)
	c := frame(id, title, desc, days, top, label)
	plotH := float64(chartH - padT - padB)
	slot := float64(chartW-padL-padR) / float64(max(len(days), 1))
	w := math.Max(slot*0.8, 1)
	for _, s := range ss {
		for i, v := range s.Values {
			if v == nil {
				continue
			}
			h := plotH * *v / top
			c.Bars = append(c.Bars, rect{Class: "bar " + s.Class, X: num(padL + slot*float64(i) + (slot-w)/2), Y: num(padT + plotH - h),
				W: num(w), H: num(h), Tip: days[i] + ": " + s.Name + " " + label(*v)})
		}
	}
	if len(ss) > 1 {
		c.Legend = ss
	}
	return c
}

// lineChart draws the days' values on a 1 to 5 scale as a line, broken
// where a day has none.
func lineChart(id, title, desc string, days []string, vs []*float64) chart {
	c := frame(id, title, desc, days, 5, func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) })
	plotH := float64(chartH - padT - padB)
	slot := float64(chartW-padL-padR) / float64(max(len(days), 1))
	var seg []string
	flush := func() {
		if len(seg) > 1 {
			c.Lines = append(c.Lines, strings.Join(seg, " "))
		}
		seg = nil
	}
	for i, v := range vs {
		if v == nil {
			flush()
			continue
		}
		x, y := num(padL+slot*(float64(i)+0.5)), num(padT+plotH*(1-*v/5))
		seg = append(seg, x+","+y)
		c.Dots = append(c.Dots, dot{X: x, Y: y, Tip: days[i] + ": " + strconv.FormatFloat(*v, 'f', 2, 64)})
	}
	flush()
	return c
}

type heatmap struct {
	W, H  int
	Cells []heatCellView
	Rows  []heatLabel
	Cols  []heatLabel
}

type heatCellView struct{ X, Y, W, H, Opacity, Tip string }
type heatLabel struct{ X, Y, Label string }

var weekdays = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// heat draws the week's hours as 7 rows of 24 cells, darker for more conversations.
func heat(hours [7][24]int) *heatmap {
	m := &heatmap{W: heatL + 24*heatCell, H: heatTop + 7*heatRow}
	most := 1
	for _, row := range hours {
		for _, n := range row {
			most = max(most, n)
		}
	}
	for d, row := range hours {
		y := heatTop + d*heatRow
		m.Rows = append(m.Rows, heatLabel{X: "0", Y: strconv.Itoa(y + heatRow/2 + 4), Label: weekdays[d]})
		for hr, n := range row {
			op := 0.0
			if n > 0 {
				op = 0.12 + 0.88*float64(n)/float64(most)
			}
			m.Cells = append(m.Cells, heatCellView{X: strconv.Itoa(heatL + hr*heatCell), Y: strconv.Itoa(y), W: strconv.Itoa(heatCell - 2), H: strconv.Itoa(heatRow - 2),
				Opacity: strconv.FormatFloat(op, 'f', 2, 64),
				Tip:     fmt.Sprintf("%s %02d:00–%02d:00: %d conversations", weekdays[d], hr, (hr+1)%24, n)})
		}
	}
	for hr := 0; hr < 24; hr += 3 {
		m.Cols = append(m.Cols, heatLabel{X: strconv.Itoa(heatL + hr*heatCell), Y: "12", Label: fmt.Sprintf("%02d", hr)})
	}
	return m
}

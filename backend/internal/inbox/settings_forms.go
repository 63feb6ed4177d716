package inbox

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/api"
)

// Helpers shared by the console's resource pages (account, users, teams,
// inboxes, API keys, knowledge bases, surveys, bots, subscription types):
// reading REST answers into pages and posted forms into REST bodies.

// settingsNotices are the sentences a page shows after a redirect
// (?done=<key>); a fixed list, so a link cannot put words on the page.
var settingsNotices = map[string]string{
	"saved":       "Saved.",
	"created":     "Created.",
	"deleted":     "Deleted.",
	"revoked":     "The API key is revoked; calls with it are refused from now on.",
	"published":   "Published: visitors can read it now.",
	"unpublished": "Unpublished: visitors no longer see it.",
}

// settingsPageFor is settingsBase with the notice a redirect asked for.
func (h *Handler) settingsPageFor(c *gin.Context, section, title string) settingsPage {
	p := h.settingsBase(c, section, title)
	p.Notice = settingsNotices[c.Query("done")]
	return p
}

// doneRedirect answers a successful save: back to path with a notice.
func doneRedirect(c *gin.Context, path, done string) {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	c.Redirect(http.StatusSeeOther, path+sep+"done="+url.QueryEscape(done))
}

// restGet reads path from REST into v. On an error answer it shows the
// API's own sentence with its status and returns false.
func (h *Handler) restGet(c *gin.Context, path string, v any) bool {
	r := h.rest(c, http.MethodGet, path, nil, 0)
	if !r.OK() {
		h.restDeny(c, r)
		return false
	}
	if err := r.Decode(v); err != nil {
		h.fail(c, "settings "+path, err)
		return false
	}
	return true
}

// restDeny shows an error answer that is about the page, not a field (404, 403 ...).
func (h *Handler) restDeny(c *gin.Context, r *api.Result) {
	p := r.Problem()
	msg := p.Detail
	if msg == "" {
		msg = p.Title
	}
	h.deny(c, r.Status, msg)
}

// formProblem turns a refused save into the page's errors: a stale edit
// gets staleMessage, anything else the API's field errors. It returns the
// HTTP status to re-render the form with.
func formProblem(r *api.Result, errs *formErrors, conflict *bool) int {
	if r.Status == http.StatusPreconditionFailed {
		*errs = formErrors{"": staleMessage}
		if conflict != nil {
			*conflict = true
		}
		return http.StatusConflict
	}
	*errs = fromProblem(r.Problem())
	if r.Status >= 500 {
		return r.Status
	}
	return http.StatusUnprocessableEntity
}

// placeErrors makes every error show somewhere a person sees it: an error
// below a field the form has (e.g. "allowed_domains[2]" under
// "allowed_domains", "steps[1].options[0].label" under "steps[1].options")
// joins that field's message, and an error naming no field of the form
// joins the sentence at the top.
func placeErrors(e formErrors, fields ...string) {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	has := map[string]bool{}
	for _, f := range fields {
		has[f] = true
	}
	add := func(k, msg string) {
		if old, ok := e[k]; ok && old != msg {
			e[k] = old + " " + msg
		} else {
			e[k] = msg
		}
	}
	for _, k := range keys {
		if k == "" || has[k] {
			continue
		}
		msg := e[k]
		delete(e, k)
		best := ""
		for _, f := range fields {
			if len(f) > len(best) && (strings.HasPrefix(k, f+"[") || strings.HasPrefix(k, f+".")) {
				best = f
			}
		}
		if best != "" {
			add(best, strings.TrimPrefix(k[len(best):], ".")+": "+msg)
		} else {
			add("", k+" "+msg)
		}
	}
}

// formNumber is a typed number as REST should see it: a JSON number when
// it reads as one, else the text itself, so REST names the field that is
// not a number.
func formNumber(s string) any {
	s = strings.TrimSpace(s)
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return json.Number(s)
	}
	return s
}

// formLines splits a textarea into its non-empty trimmed lines.
func formLines(s string) []string {
	out := []string{}
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// formIDs reads the checked ids of a checkbox group as numbers for REST.
func formIDs(c *gin.Context, name string) []any {
	out := []any{}
	for _, v := range c.PostFormArray(name) {
		out = append(out, formNumber(v))
	}
	return out
}

// pathInt64 reads the :id of a console URL; 0 when it is not one.
func pathInt64(c *gin.Context, name string) int64 {
	n, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// confirmData is a page asking whether to delete something: the delete
// itself is a POST from its button, so a link alone never deletes.
type confirmData struct {
	settingsPage
	What   string // e.g. `the team "Sales"`
	Action string // the form's URL
	Back   string // where "Cancel" goes
	Button string // e.g. "Delete team"
	Detail string // what else goes with it
}

// confirm renders the delete question.
func (h *Handler) confirm(c *gin.Context, section string, d confirmData) {
	d.settingsPage = h.settingsBase(c, section, "Delete "+d.What+"?")
	h.render(c, http.StatusOK, "settings_confirm.html", d)
}

// restDelete deletes path through REST and redirects to back, or shows
// REST's reason on a console page (e.g. an inbox still in use, the
// account's last admin key).
func (h *Handler) restDelete(c *gin.Context, path, back, done string) {
	r := h.rest(c, http.MethodDelete, path, nil, 0)
	if r.OK() {
		doneRedirect(c, back, done)
		return
	}
	if r.Status == http.StatusNotFound || r.Status == http.StatusForbidden {
		h.restDeny(c, r)
		return
	}
	section := ""
	for _, s := range settingsSections {
		if strings.HasPrefix(back, s.Path) {
			section = s.Key
		}
	}
	d := confirmData{settingsPage: h.settingsBase(c, section, "Not deleted"), Back: back}
	d.Errors = fromProblem(r.Problem())
	placeErrors(d.Errors)
	h.render(c, r.Status, "settings_confirm.html", d)
}

package inbox

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/bot"
)

// Bots: a step editor without JavaScript. Each step is a fieldset named by
// the REST paths (steps[2].text ...), so REST's errors land beside the
// field they are about; lists inside a step (quick replies, branch cases,
// ticket properties) are typed one a line. "Update form" redraws the form
// for a changed step type or a new step without saving; fields another
// type uses stay in the form, hidden, so nothing typed is lost.

func (h *Handler) botSettings(g *gin.RouterGroup) {
	g.GET("/bots", h.botsPage)
	g.GET("/bots/new", h.newBotPage)
	g.POST("/bots", h.requireCSRF, h.createBotForm)
	g.GET("/bots/:id", h.botPage)
	g.POST("/bots/:id", h.requireCSRF, h.saveBotForm)
	g.GET("/bots/:id/delete", h.confirmDeleteBot)
	g.POST("/bots/:id/delete", h.requireCSRF, h.deleteBotForm)
}

// botDoc is a bot as REST shows it.
type botDoc struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Version   int64     `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
	bot.Flow
}

// stepView is one step as the editor shows it: every field as typed text.
type stepView struct {
	P          string // the REST path of the step, "steps[3]"
	ID, Type   string
	Text, Next string
	// question
	Input, Options, Min, Max, Retry, SaveObject, SaveName string
	// branch
	On, Cases, Default string
	// handover
	UserID, TeamID string
	// create_ticket
	Subject, Properties string
}

// Uses reports whether a step of its type has field f.
func (s stepView) Uses(f string) bool {
	for _, u := range stepFields[s.Type] {
		if u == f {
			return true
		}
	}
	return false
}

// stepFields are the fields each type of step has.
var stepFields = map[string][]string{
	bot.TypeMessage:      {"text", "next"},
	bot.TypeQuestion:     {"text", "input", "options", "min", "max", "retry", "save_to", "next"},
	bot.TypeBranch:       {"on", "cases", "default"},
	bot.TypeHandover:     {"text", "user_id", "team_id"},
	bot.TypeCreateTicket: {"subject", "properties", "next"},
	bot.TypeEnd:          {"text"},
}

var (
	stepTypes  = []string{bot.TypeMessage, bot.TypeQuestion, bot.TypeBranch, bot.TypeHandover, bot.TypeCreateTicket, bot.TypeEnd}
	stepInputs = []string{bot.InputText, bot.InputQuickReplies, bot.InputEmail, bot.InputNumber}
	stepKeys   = []string{"id", "type", "text", "next", "input", "options", "min", "max", "retry", "save_to.object",
		"save_to.name", "on", "cases", "default", "user_id", "team_id", "subject", "properties"}
)

type botEditorData struct {
	settingsPage
	ID        int64
	Name      string
	Start     string
	Version   int64
	Steps     []stepView
	Types     []string
	Inputs    []string
	Users     []userForm
	Teams     []groupForm
	Templates []bot.Template
}

type botsListData struct {
	settingsPage
	Bots      []botDoc
	Templates []bot.Template
}

func (h *Handler) botsPage(c *gin.Context) {
	var list struct {
		Bots []botDoc `json:"bots"`
	}
	var ts struct {
		Templates []bot.Template `json:"templates"`
	}
	if !h.restGet(c, "/api/v1/bots", &list) || !h.restGet(c, "/api/v1/bot-templates", &ts) {
		return
	}
	h.render(c, http.StatusOK, "settings_bots.html", botsListData{settingsPage: h.settingsPageFor(c, "bots", "Bots"),
		Bots: list.Bots, Templates: ts.Templates})
}

// viewSteps turns a flow into the editor's steps.
func viewSteps(f bot.Flow) []stepView {
	out := make([]stepView, len(f.Steps))
	num := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
	id := func(n int64) string {
		if n == 0 {
			return ""
		}
		return strconv.FormatInt(n, 10)
	}
	for i, s := range f.Steps {
		v := stepView{ID: s.ID, Type: s.Type, Text: s.Text, Next: s.Next, Input: s.Input, Min: num(s.Min), Max: num(s.Max),
			Retry: s.Retry, On: s.On, Default: s.Default, UserID: id(s.UserID), TeamID: id(s.TeamID), Subject: s.Subject}
		var lines []string
		for _, o := range s.Options {
			lines = append(lines, o.Label+" | "+o.Value)
		}
		v.Options = strings.Join(lines, "\n")
		lines = nil
		for _, c := range s.Cases {
			lines = append(lines, c.Op+" | "+c.Value+" | "+c.Next)
		}
		v.Cases = strings.Join(lines, "\n")
		lines = nil
		for k, val := range s.Properties {
			lines = append(lines, k+" = "+val)
		}
		sort.Strings(lines)
		v.Properties = strings.Join(lines, "\n")
		if s.SaveTo != nil {
			v.SaveObject, v.SaveName = s.SaveTo.Object, s.SaveTo.Name
		}
		out[i] = v
	}
	return numberSteps(out)
}

func numberSteps(steps []stepView) []stepView {
	for i := range steps {
		steps[i].P = "steps[" + strconv.Itoa(i) + "]"
	}
	return steps
}

// stepsFromForm reads the editor's steps, leaving out those ticked for
// removal and adding a blank one when asked.
func stepsFromForm(c *gin.Context) []stepView {
	n, _ := strconv.Atoi(c.PostForm("step_count"))
	if n > bot.MaxSteps+1 {
		n = bot.MaxSteps + 1
	}
	var out []stepView
	for i := 0; i < n; i++ {
		p := "steps[" + strconv.Itoa(i) + "]."
		if c.PostForm(p+"remove") != "" {
			continue
		}
		f := func(k string) string { return c.PostForm(p + k) }
		out = append(out, stepView{ID: strings.TrimSpace(f("id")), Type: f("type"), Text: f("text"), Next: strings.TrimSpace(f("next")),
			Input: f("input"), Options: f("options"), Min: f("min"), Max: f("max"), Retry: f("retry"),
			SaveObject: f("save_to.object"), SaveName: strings.TrimSpace(f("save_to.name")), On: strings.TrimSpace(f("on")), Cases: f("cases"),
			Default: strings.TrimSpace(f("default")), UserID: f("user_id"), TeamID: f("team_id"), Subject: f("subject"), Properties: f("properties")})
	}
	if c.PostForm("action") == "add" {
		t := c.PostForm("new_type")
		if _, ok := stepFields[t]; !ok {
			t = bot.TypeMessage
		}
		out = append(out, stepView{ID: "step_" + strconv.Itoa(len(out)+1), Type: t})
	}
	return numberSteps(out)
}

// splitLine splits "a | b | c" into at most n trimmed parts.
func splitLine(l string, n int) []string {
	parts := strings.SplitN(l, "|", n)
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// flowBody is the REST body of the editor's steps: each step with the
// fields its type has.
func flowBody(name, start string, steps []stepView) map[string]any {
	out := make([]map[string]any, 0, len(steps))
	for _, s := range steps {
		m := map[string]any{"id": s.ID, "type": s.Type}
		for _, f := range stepFields[s.Type] {
			switch f {
			case "text":
				m["text"] = s.Text
			case "next":
				m["next"] = s.Next
			case "input":
				m["input"] = s.Input
			case "retry":
				if s.Retry != "" {
					m["retry"] = s.Retry
				}
			case "min":
				if strings.TrimSpace(s.Min) != "" {
					m["min"] = formNumber(s.Min)
				}
			case "max":
				if strings.TrimSpace(s.Max) != "" {
					m["max"] = formNumber(s.Max)
				}
			case "options":
				var opts []map[string]any
				for _, l := range formLines(s.Options) {
					p := splitLine(l, 2)
					if len(p) == 1 {
						p = append(p, p[0])
					}
					opts = append(opts, map[string]any{"label": p[0], "value": p[1]})
				}
				if len(opts) > 0 {
					m["options"] = opts
				}
			case "save_to":
				if s.SaveName != "" || s.SaveObject != "" {
					m["save_to"] = map[string]any{"object": s.SaveObject, "name": s.SaveName}
				}
			case "on":
				m["on"] = s.On
			case "default":
				m["default"] = s.Default
			case "cases":
				cases := []map[string]any{}
				for _, l := range formLines(s.Cases) {
					p := append(splitLine(l, 3), "", "")
					cases = append(cases, map[string]any{"op": p[0], "value": p[1], "next": p[2]})
				}
				m["cases"] = cases
			case "user_id":
				if strings.TrimSpace(s.UserID) != "" {
					m["user_id"] = formNumber(s.UserID)
				}
			case "team_id":
				if strings.TrimSpace(s.TeamID) != "" {
					m["team_id"] = formNumber(s.TeamID)
				}
			case "subject":
				m["subject"] = s.Subject
			case "properties":
				props := map[string]any{}
				for _, l := range formLines(s.Properties) {
					k, v, _ := strings.Cut(l, "=")
					props[strings.TrimSpace(k)] = strings.TrimSpace(v)
				}
				if len(props) > 0 {
					m["properties"] = props
				}
			}
		}
		out = append(out, m)
	}
	return map[string]any{"name": name, "start": start, "steps": out}
}

// botFields are the editor's fields for placing REST's errors.
func botFields(steps []stepView) []string {
	fields := []string{"name", "start", "steps", "template"}
	for _, s := range steps {
		for _, k := range stepKeys {
			fields = append(fields, s.P+"."+k)
		}
	}
	return fields
}

func (h *Handler) renderBotEditor(c *gin.Context, status int, d botEditorData) {
	var us struct {
		Users []userForm `json:"users"`
	}
	var ts struct {
		Teams []groupForm `json:"teams"`
	}
	if !h.restGet(c, "/api/v1/users", &us) || !h.restGet(c, "/api/v1/teams", &ts) {
		return
	}
	d.Users, d.Teams, d.Types, d.Inputs = us.Users, ts.Teams, stepTypes, stepInputs
	h.render(c, status, "settings_bot.html", d)
}

// newBotPage opens the editor on a template's flow (?template=) or on one
// blank message step; nothing is stored until Save.
func (h *Handler) newBotPage(c *gin.Context) {
	d := botEditorData{settingsPage: h.settingsBase(c, "bots", "New bot")}
	if t := c.Query("template"); t != "" {
		var tpl bot.Template
		if !h.restGet(c, "/api/v1/bot-templates/"+url.PathEscape(t), &tpl) {
			return
		}
		d.Name, d.Start, d.Steps = tpl.Name, tpl.Start, viewSteps(tpl.Flow)
	} else {
		d.Start, d.Steps = "welcome", numberSteps([]stepView{{ID: "welcome", Type: bot.TypeMessage}})
	}
	if n := strings.TrimSpace(c.Query("name")); n != "" {
		d.Name = n
	}
	h.renderBotEditor(c, http.StatusOK, d)
}

// editorFromForm reads the posted editor.
func editorFromForm(c *gin.Context, d *botEditorData) {
	d.Name, d.Start, d.Steps = c.PostForm("name"), strings.TrimSpace(c.PostForm("start")), stepsFromForm(c)
	d.Version, _ = strconv.ParseInt(c.PostForm("version"), 10, 64)
}

func (h *Handler) createBotForm(c *gin.Context) {
	d := botEditorData{settingsPage: h.settingsBase(c, "bots", "New bot")}
	editorFromForm(c, &d)
	if c.PostForm("action") != "save" {
		h.renderBotEditor(c, http.StatusOK, d)
		return
	}
	r := h.rest(c, http.MethodPost, "/api/v1/bots", flowBody(d.Name, d.Start, d.Steps), 0)
	if r.OK() {
		var made botDoc
		if err := r.Decode(&made); err != nil {
			h.fail(c, "create bot", err)
			return
		}
		doneRedirect(c, "/inbox/settings/bots/"+strconv.FormatInt(made.ID, 10), "created")
		return
	}
	status := formProblem(r, &d.Errors, nil)
	placeErrors(d.Errors, botFields(d.Steps)...)
	h.renderBotEditor(c, status, d)
}

func botAPI(c *gin.Context) (string, int64) {
	id := pathInt64(c, "id")
	return "/api/v1/bots/" + strconv.FormatInt(id, 10), id
}

func (h *Handler) botPage(c *gin.Context) {
	path, id := botAPI(c)
	var b botDoc
	if id == 0 || !h.restGet(c, path, &b) {
		if id == 0 {
			h.deny(c, http.StatusNotFound, "There is no such bot.")
		}
		return
	}
	h.renderBotEditor(c, http.StatusOK, botEditorData{settingsPage: h.settingsPageFor(c, "bots", b.Name), ID: b.ID, Name: b.Name,
		Start: b.Start, Version: b.Version, Steps: viewSteps(b.Flow)})
}

func (h *Handler) saveBotForm(c *gin.Context) {
	path, id := botAPI(c)
	if id == 0 {
		h.deny(c, http.StatusNotFound, "There is no such bot.")
		return
	}
	d := botEditorData{settingsPage: h.settingsBase(c, "bots", "Bot"), ID: id}
	editorFromForm(c, &d)
	if c.PostForm("action") != "save" {
		h.renderBotEditor(c, http.StatusOK, d)
		return
	}
	r := h.rest(c, http.MethodPut, path, flowBody(d.Name, d.Start, d.Steps), d.Version)
	if r.OK() {
		doneRedirect(c, "/inbox/settings/bots/"+strconv.FormatInt(id, 10), "saved")
		return
	}
	if r.Status == http.StatusNotFound {
		h.restDeny(c, r)
		return
	}
	status := formProblem(r, &d.Errors, &d.Conflict)
	if d.Conflict { // a second Save, after checking, overwrites the newer version
		var cur botDoc
		if h.rest(c, http.MethodGet, path, nil, 0).Decode(&cur) == nil {
			d.Version = cur.Version
		}
	}
	placeErrors(d.Errors, botFields(d.Steps)...)
	h.renderBotEditor(c, status, d)
}

func (h *Handler) confirmDeleteBot(c *gin.Context) {
	path, id := botAPI(c)
	var b botDoc
	if id == 0 || !h.restGet(c, path, &b) {
		if id == 0 {
			h.deny(c, http.StatusNotFound, "There is no such bot.")
		}
		return
	}
	p := "/inbox/settings/bots/" + strconv.FormatInt(id, 10)
	h.confirm(c, "bots", confirmData{What: "the bot " + strconv.Quote(b.Name), Action: p + "/delete", Back: p,
		Button: "Delete bot"})
}

func (h *Handler) deleteBotForm(c *gin.Context) {
	path, id := botAPI(c)
	if id == 0 {
		h.deny(c, http.StatusNotFound, "There is no such bot.")
		return
	}
	h.restDelete(c, path, "/inbox/settings/bots", "deleted")
}

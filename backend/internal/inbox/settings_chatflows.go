package inbox

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/store"
)

// The console's chatflow pages: the list (publish switch, priority order,
// delete), the creation steps and the tabbed editor. Every change is a REST
// call made as the signed-in person (h.rest); these handlers only turn forms
// into REST bodies and REST answers back into pages.

// chatflowSettings mounts the chatflow list, creation steps and editor.
func (h *Handler) chatflowSettings(g *gin.RouterGroup) {
	g.GET("/chatflows", h.chatflowList)
	g.GET("/chatflows/new", h.chatflowNew)
	g.POST("/chatflows/new", h.requireCSRF, h.chatflowCreate)
	g.POST("/chatflows/:id/enabled", h.requireCSRF, h.chatflowPublish)
	g.POST("/chatflows/:id/priority", h.requireCSRF, h.chatflowPriority)
	g.GET("/chatflows/:id/delete", h.chatflowDeletePage)
	g.POST("/chatflows/:id/delete", h.requireCSRF, h.chatflowDelete)
	g.GET("/chatflows/:id", h.chatflowEdit)
	g.POST("/chatflows/:id", h.requireCSRF, h.chatflowSave)
	g.POST("/chatflows/:id/draft", h.requireCSRF, h.chatflowDraft)
}

// Labels people read for the REST API's values.
var (
	channelLabels = map[string]string{chatflow.ChannelWebsite: "Website", chatflow.ChannelMobile: "Mobile"}
	typeLabels    = map[string]string{chatflow.TypeLiveAgent: "Live agent", chatflow.TypeCustomerAgent: "Customer agent",
		chatflow.TypeRuleBot: "Rule-based bot"}
	languageLabels = map[string]string{"en": "English", "nl": "Dutch", "de": "German", "fr": "French", "es": "Spanish"}
)

// chatflowRow is one line of the list.
type chatflowRow struct {
	ID                                   int64
	Name, Channel, Type, Inbox, Language string
	Priority                             int
	Enabled                              bool
	Version                              int64
	Edited                               time.Time
	First, Last                          bool // no "move up" / "move down"
	PriorityErr                          string
}

type chatflowListPage struct {
	settingsPage
	Chatflows []chatflowRow
	First     bool // the account has no chatflow yet: offer the setup dialog
}

// notices are the fixed sentences a redirect may ask a page to show (never
// text from the URL itself).
var notices = map[string]string{
	"created":   "The chatflow was created. Check each tab, preview it and publish it when it is ready.",
	"saved":     "Saved.",
	"deleted":   "The chatflow was deleted.",
	"published": "Published: visitors see it on the pages it targets.",
	"hidden":    "Unpublished: visitors no longer see it.",
	"moved":     "The priority order was changed.",
	"stale":     "Someone changed this chatflow meanwhile; the list shows its current state. Try again if you still want the change.",
}

// loadChatflows lists the account's chatflows (top-level fields only),
// highest priority first. A read straight from the store: the list is
// the console's busiest page and REST would decode every settings
// document only for the page to drop them; every change goes through REST.
func (h *Handler) loadChatflows(c *gin.Context) ([]store.ChatflowRow, bool) {
	rows, err := h.st.ChatflowList(c, user(c).AccountID)
	if err != nil {
		h.fail(c, "chatflows", err)
		return nil, false
	}
	return rows, true
}

// firstChatflow reports whether the account has no chatflow yet.
func (h *Handler) firstChatflow(c *gin.Context) (bool, bool) {
	has, err := h.st.HasChatflows(c, user(c).AccountID)
	if err != nil {
		h.fail(c, "chatflows", err)
		return false, false
	}
	return !has, true
}

func (h *Handler) chatflowList(c *gin.Context) {
	h.renderChatflowList(c, http.StatusOK, notices[c.Query("notice")], formErrors{})
}

func (h *Handler) renderChatflowList(c *gin.Context, status int, notice string, errs formErrors) {
	cfs, ok := h.loadChatflows(c)
	if !ok {
		return
	}
	names, err := h.inboxNames(c)
	if err != nil {
		h.fail(c, "chatflows", err)
		return
	}
	d := chatflowListPage{settingsPage: h.settingsBase(c, "chatflows", "Chatflows"), First: len(cfs) == 0}
	d.Notice, d.Errors = notice, errs
	for i, cf := range cfs {
		d.Chatflows = append(d.Chatflows, chatflowRow{ID: cf.ID, Name: cf.Name, Channel: channelLabels[cf.Channel],
			Type: typeLabels[cf.Type], Inbox: names[cf.InboxID], Language: languageLabels[cf.Language],
			Priority: cf.Priority, Enabled: cf.Enabled, Version: cf.Version, Edited: cf.UpdatedAt,
			First: i == 0, Last: i == len(cfs)-1, PriorityErr: errs["priority-"+strconv.FormatInt(cf.ID, 10)]})
	}
	h.render(c, status, "settings_chatflows.html", d)
}

func (h *Handler) inboxNames(c *gin.Context) (map[int64]string, error) {
	ins, err := h.st.Inboxes(c, user(c).AccountID)
	names := map[int64]string{}
	for _, in := range ins {
		names[in.ID] = in.Name
	}
	return names, err
}

// chatflowPath is the REST path of chatflow :id.
func chatflowPath(c *gin.Context) (string, int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return "", 0, false
	}
	return "/api/v1/chatflows/" + strconv.FormatInt(id, 10), id, true
}

func formVersion(c *gin.Context) int64 {
	v, _ := strconv.ParseInt(c.PostForm("version"), 10, 64)
	return v
}

// chatflowPublish is the list's (and the editor's) published switch.
func (h *Handler) chatflowPublish(c *gin.Context) {
	path, id, ok := chatflowPath(c)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such chatflow.")
		return
	}
	on := c.PostForm("enabled") == "1"
	res := h.rest(c, "PATCH", path, map[string]any{"enabled": on}, formVersion(c))
	back := "/inbox/settings/chatflows"
	if c.PostForm("from") == "editor" {
		back += "/" + strconv.FormatInt(id, 10)
	}
	switch {
	case res.Status == http.StatusPreconditionFailed:
		c.Redirect(http.StatusSeeOther, back+"?notice=stale")
	case !res.OK():
		h.renderChatflowList(c, res.Status, "", fromProblem(res.Problem()))
	case on:
		c.Redirect(http.StatusSeeOther, back+"?notice=published")
	default:
		c.Redirect(http.StatusSeeOther, back+"?notice=hidden")
	}
}

// chatflowPriority sets one chatflow's priority (field "priority"), or
// moves it one place up or down the list ("move"): the list is renumbered
// in steps of 10 so the order is exactly the one shown.
func (h *Handler) chatflowPriority(c *gin.Context) {
	path, id, ok := chatflowPath(c)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such chatflow.")
		return
	}
	move := c.PostForm("move")
	if move == "" {
		var body any = c.PostForm("priority")
		if n, err := strconv.Atoi(strings.TrimSpace(c.PostForm("priority"))); err == nil {
			body = n
		}
		res := h.rest(c, "PATCH", path, map[string]any{"priority": body}, formVersion(c))
		switch {
		case res.Status == http.StatusPreconditionFailed:
			c.Redirect(http.StatusSeeOther, "/inbox/settings/chatflows?notice=stale")
		case !res.OK():
			errs := formErrors{}
			for k, v := range fromProblem(res.Problem()) {
				if k == "priority" {
					k = "priority-" + strconv.FormatInt(id, 10)
				}
				errs[k] = v
			}
			h.renderChatflowList(c, res.Status, "", errs)
		default:
			c.Redirect(http.StatusSeeOther, "/inbox/settings/chatflows?notice=moved")
		}
		return
	}
	cfs, ok := h.loadChatflows(c)
	if !ok {
		return
	}
	at := -1
	for i := range cfs {
		if cfs[i].ID == id {
			at = i
		}
	}
	to := at - 1
	if move == "down" {
		to = at + 1
	}
	if at < 0 || to < 0 || to >= len(cfs) {
		c.Redirect(http.StatusSeeOther, "/inbox/settings/chatflows")
		return
	}
	if cfs[at].Version != formVersion(c) {
		c.Redirect(http.StatusSeeOther, "/inbox/settings/chatflows?notice=stale")
		return
	}
	cfs[at], cfs[to] = cfs[to], cfs[at]
	for i := range cfs {
		want := (len(cfs) - i) * 10
		if cfs[i].Priority == want {
			continue
		}
		res := h.rest(c, "PATCH", "/api/v1/chatflows/"+strconv.FormatInt(cfs[i].ID, 10), map[string]any{"priority": want}, cfs[i].Version)
		if res.Status == http.StatusPreconditionFailed {
			c.Redirect(http.StatusSeeOther, "/inbox/settings/chatflows?notice=stale")
			return
		}
		if !res.OK() {
			h.renderChatflowList(c, res.Status, "", fromProblem(res.Problem()))
			return
		}
	}
	c.Redirect(http.StatusSeeOther, "/inbox/settings/chatflows?notice=moved")
}

type chatflowDeletePage struct {
	settingsPage
	CF chatflow.Chatflow
}

// chatflowDeletePage asks before deleting: it cannot be undone.
func (h *Handler) chatflowDeletePage(c *gin.Context) {
	cf, ok := h.getChatflow(c)
	if !ok {
		return
	}
	d := chatflowDeletePage{settingsPage: h.settingsBase(c, "chatflows", "Delete "+cf.Name), CF: *cf}
	h.render(c, http.StatusOK, "settings_chatflow_delete.html", d)
}

func (h *Handler) chatflowDelete(c *gin.Context) {
	path, _, ok := chatflowPath(c)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such chatflow.")
		return
	}
	res := h.rest(c, "DELETE", path, nil, 0)
	if !res.OK() && res.Status != http.StatusNotFound {
		h.renderChatflowList(c, res.Status, "", fromProblem(res.Problem()))
		return
	}
	c.Redirect(http.StatusSeeOther, "/inbox/settings/chatflows?notice=deleted")
}

// getChatflow reads chatflow :id through REST; false when it answered the request.
func (h *Handler) getChatflow(c *gin.Context) (*chatflow.Chatflow, bool) {
	path, _, ok := chatflowPath(c)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such chatflow.")
		return nil, false
	}
	res := h.rest(c, "GET", path, nil, 0)
	var cf chatflow.Chatflow
	if res.Status == http.StatusNotFound {
		h.deny(c, http.StatusNotFound, "There is no such chatflow.")
		return nil, false
	}
	if !res.OK() || res.Decode(&cf) != nil {
		h.deny(c, res.Status, "The chatflow could not be read.")
		return nil, false
	}
	return &cf, true
}

// ---- Creation: the reference's steps ----

// wizard is the creation steps' state, carried from step to step in the
// forms (hidden fields), so nothing is stored before "Create".
type wizard struct {
	Step    string // setup, workspace, type, kb
	First   bool   // the account has no chatflow: the "set up your chat" step comes first
	Channel string
	// Set up your chat (first time only).
	Accent, Brand, Welcome, Mode string
	// Workspace.
	Name, Language, MobileTag string
	InboxID                   int64
	// Chatflow type.
	Type  string
	BotID int64
	// Knowledge base.
	Help bool
	KBID int64
}

// wizardSteps are the steps in order; setup only the first time, for a website.
func (w wizard) steps() []string {
	if w.First && w.Channel == chatflow.ChannelWebsite {
		return []string{"setup", "workspace", "type", "kb"}
	}
	return []string{"workspace", "type", "kb"}
}

func readWizard(c *gin.Context) wizard {
	_ = c.Request.ParseForm()
	f := c.Request.Form
	num := func(k string) int64 { n, _ := strconv.ParseInt(f.Get(k), 10, 64); return n }
	w := wizard{Step: f.Get("step"), Channel: f.Get("channel"), Accent: f.Get("accent"), Brand: f.Get("brand"),
		Welcome: f.Get("welcome"), Mode: f.Get("mode"), Name: f.Get("name"), Language: f.Get("language"),
		MobileTag: f.Get("mobile_tag"), InboxID: num("inbox_id"), Type: f.Get("type"), BotID: num("bot_id"),
		Help: f.Get("help") == "1", KBID: num("kb_id")}
	if w.Channel != chatflow.ChannelMobile {
		w.Channel = chatflow.ChannelWebsite
	}
	return w
}

type wizardPage struct {
	settingsPage
	W            wizard
	Steps        []string
	StepNo       int
	Next, Prev   string
	Inboxes      []store.Inbox
	Bots         []store.BotRow
	KBs          []store.KnowledgeBase
	Languages    []option
	Types        []option
	Modes        []option
	ChannelLabel string
	StepTitles   map[string]string
}

// option is one choice of a select or radio group.
type option struct{ Value, Label string }

var wizardTitles = map[string]string{"setup": "Set up your chat", "workspace": "Workspace", "type": "Chatflow", "kb": "Knowledge base"}

func languageOptions() []option {
	var out []option
	for _, l := range chatflow.Languages {
		out = append(out, option{l, languageLabels[l]})
	}
	return out
}

var (
	typeOptions = []option{{chatflow.TypeLiveAgent, "Live agent: visitors chat with your team"},
		{chatflow.TypeCustomerAgent, "Customer agent: an agent answers from your knowledge base"},
		{chatflow.TypeRuleBot, "Rule-based bot: a bot asks first, then hands over to your team"}}
	modeOptions = []option{{chatflow.ModeUserAvailability, "Based on the availability of the assigned users"},
		{chatflow.ModeOfficeHours, "Based on chat opening hours"}, {chatflow.ModeAlways, "Chat is available 24/7"}}
)

// chatflowNew shows one creation step.
func (h *Handler) chatflowNew(c *gin.Context) {
	w := readWizard(c)
	first, ok := h.firstChatflow(c)
	if !ok {
		return
	}
	w.First = first
	h.renderWizard(c, http.StatusOK, w, formErrors{})
}

func (h *Handler) renderWizard(c *gin.Context, status int, w wizard, errs formErrors) {
	steps := w.steps()
	at := 0
	for i, s := range steps {
		if s == w.Step {
			at = i
		}
	}
	w.Step = steps[at]
	if w.Accent == "" {
		w.Accent = chatflow.Default().Look.AccentColor
	}
	if w.Mode == "" {
		w.Mode = chatflow.ModeAlways
	}
	if w.Language == "" {
		w.Language = "en"
	}
	if w.Type == "" {
		w.Type = chatflow.TypeLiveAgent
	}
	if w.Name == "" {
		w.Name = channelLabels[w.Channel] + " chat"
	}
	acct := user(c).AccountID
	d := wizardPage{settingsPage: h.settingsBase(c, "chatflows", "Create a chatflow"), W: w, Steps: steps, StepNo: at + 1,
		Languages: languageOptions(), Types: typeOptions, Modes: modeOptions, ChannelLabel: channelLabels[w.Channel],
		StepTitles: wizardTitles}
	d.Errors = errs
	if at+1 < len(steps) {
		d.Next = steps[at+1]
	}
	if at > 0 {
		d.Prev = steps[at-1]
	}
	var err error
	if d.Inboxes, err = h.st.Inboxes(c, acct); err == nil {
		if d.Bots, err = h.st.Bots(c, acct); err == nil {
			d.KBs, err = h.st.KBs(c, acct)
		}
	}
	if err != nil {
		h.fail(c, "chatflow steps", err)
		return
	}
	h.render(c, status, "settings_chatflow_new.html", d)
}

// PrevHref is the link back one step, with everything chosen so far.
func (d wizardPage) PrevHref() string {
	w := d.W
	v := url.Values{"step": {d.Prev}, "channel": {w.Channel}, "accent": {w.Accent}, "brand": {w.Brand}, "welcome": {w.Welcome},
		"mode": {w.Mode}, "name": {w.Name}, "language": {w.Language}, "mobile_tag": {w.MobileTag},
		"inbox_id": {strconv.FormatInt(w.InboxID, 10)}, "type": {w.Type}, "bot_id": {strconv.FormatInt(w.BotID, 10)},
		"kb_id": {strconv.FormatInt(w.KBID, 10)}}
	if w.Help {
		v.Set("help", "1")
	}
	return "/inbox/settings/chatflows/new?" + v.Encode()
}

// stepOf says which creation step shows a REST field.
func stepOf(field string) string {
	switch {
	case strings.HasPrefix(field, "look.") || strings.HasPrefix(field, "welcome.") || strings.HasPrefix(field, "availability."):
		return "setup"
	case field == "type" || field == "options.bot_id":
		return "type"
	case strings.HasPrefix(field, "options."):
		return "kb"
	}
	return "workspace"
}

// chatflowCreate is the last step's "Create": one POST to REST.
func (h *Handler) chatflowCreate(c *gin.Context) {
	w := readWizard(c)
	first, ok := h.firstChatflow(c)
	if !ok {
		return
	}
	w.First = first
	body := map[string]any{"name": w.Name, "channel": w.Channel, "inbox_id": w.InboxID, "language": w.Language, "type": w.Type}
	if w.Channel == chatflow.ChannelMobile {
		body["mobile_tag"] = w.MobileTag
	}
	opts := map[string]any{"help_tab": w.Help}
	if w.BotID != 0 && w.Type == chatflow.TypeRuleBot {
		opts["bot_id"] = w.BotID
	}
	if w.KBID != 0 {
		opts["knowledge_base_id"] = w.KBID
	}
	body["options"] = opts
	if w.First && w.Channel == chatflow.ChannelWebsite {
		body["look"] = map[string]any{"accent_color": w.Accent, "heading": map[string]any{"kind": "brand", "brand_name": w.Brand}}
		if strings.TrimSpace(w.Welcome) != "" {
			body["welcome"] = map[string]any{"messages": map[string]string{w.Language: w.Welcome}}
		}
		avail := map[string]any{"mode": w.Mode}
		if w.Mode == chatflow.ModeOfficeHours {
			var hours []chatflow.TimeRange
			for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday"} {
				hours = append(hours, chatflow.TimeRange{Day: d, Start: "09:00", End: "17:00"})
			}
			avail["office_hours"] = hours
		}
		body["availability"] = avail
	}
	res := h.rest(c, "POST", "/api/v1/chatflows", body, 0)
	if !res.OK() {
		errs := fromProblem(res.Problem())
		// Show the first step with a problem, its messages beside its fields.
		for _, s := range w.steps() {
			found := false
			for f := range errs {
				if f != "" && stepOf(f) == s {
					found = true
				}
			}
			if found {
				w.Step = s
				break
			}
		}
		h.renderWizard(c, res.Status, w, errs)
		return
	}
	var cf chatflow.Chatflow
	if err := res.Decode(&cf); err != nil {
		h.fail(c, "chatflow create", err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/inbox/settings/chatflows/"+strconv.FormatInt(cf.ID, 10)+"?notice=created")
}

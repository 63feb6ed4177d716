package inbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// The chatflow editor: the reference's tabs, each a form of its own that
// saves the whole chatflow (PUT with the version the page showed, so a
// save over someone else's is refused). Inputs are named by their REST
// JSON path, so each REST error lands beside its input. "Add" and
// "remove" buttons re-render the form with a row more or less, keeping
// everything typed, without saving.

// editorTabs are the editor's tabs; "mobile" only for mobile chatflows.
var editorTabs = []option{{"build", "Build"}, {"target", "Target"}, {"display", "Display"}, {"options", "Options"}, {"mobile", "Mobile details"}}

// tabOf says which tab shows a REST field.
func tabOf(field string) string {
	has := func(p ...string) bool {
		for _, x := range p {
			if field == x || strings.HasPrefix(field, x+".") || strings.HasPrefix(field, x+"[") {
				return true
			}
		}
		return false
	}
	switch {
	case has("options.bot_id", "name", "type", "look", "welcome", "email_capture", "assignment", "availability"):
		return "build"
	case has("targeting"):
		return "target"
	case has("display"):
		return "display"
	case has("language", "inbox_id", "priority", "tickets", "options"):
		return "options"
	case has("mobile_tag"):
		return "mobile"
	}
	return ""
}

// propRow is one ticket property of the form (a map in REST; rows here so
// a new empty row can exist and the order stays put).
type propRow struct{ Name, Value string }

// editPage is the editor's page data: the values shown (saved or typed),
// typed numbers that are not numbers (Raw, sent to REST as typed so its
// message names the field) and the choices of the selects.
type editPage struct {
	settingsPage
	CF        chatflow.Chatflow
	Version   int64 // the version the form edits (If-Match)
	Raw       map[string]string
	Props     []propRow
	Tab       string
	Tabs      []option
	Other     []string // messages about fields of other tabs
	Users     []store.User
	Teams     []store.Team
	Inboxes   []store.Inbox
	Surveys   []store.Survey
	KBs       []store.KnowledgeBase
	Bots      []store.BotRow
	SubTypes  []store.SubscriptionType
	Languages []option
	Published bool
	Image     ImageField // the heading image's upload (settings_images.go)
}

// field is one input as the partials render it.
type field struct {
	Path, Label, Value, Err string
	Checked                 bool
	Opts                    []option
}

// F is a text-like input at path.
func (d *editPage) F(path, label string, value any) field {
	v := fmt.Sprint(value)
	if r, ok := d.Raw[path]; ok {
		v = r
	}
	return field{Path: path, Label: label, Value: v, Err: d.Errors[path]}
}

// Sel is a select at path.
func (d *editPage) Sel(path, label string, value any, opts []option) field {
	f := d.F(path, label, value)
	f.Opts = opts
	return f
}

// C is a checkbox at path.
func (d *editPage) C(path, label string, on bool) field {
	return field{Path: path, Label: label, Checked: on, Err: d.Errors[path]}
}

// N counts from one for labels.
func (d *editPage) N(i int) int { return i + 1 }

// Under lists the messages of fields under prefix (e.g. the ids of a
// checkbox list), for one block beside the list.
func (d *editPage) Under(prefix string) []string {
	var out []string
	for k, v := range d.Errors {
		if k == prefix || strings.HasPrefix(k, prefix+"[") || strings.HasPrefix(k, prefix+".") {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// HasUser and HasTeam check the assignment checkboxes.
func (d *editPage) HasUser(id int64) bool { return slices.Contains(d.CF.Assignment.UserIDs, id) }
func (d *editPage) HasTeam(id int64) bool { return slices.Contains(d.CF.Assignment.TeamIDs, id) }

// Welcome and Prompt read the per-language texts.
func (d *editPage) Welcome(lang string) string { return d.CF.Welcome.Messages[lang] }
func (d *editPage) Prompt(lang string) string  { return d.CF.EmailCapture.Prompt[lang] }

// Option lists of the selects.
var (
	days = []option{{"monday", "Monday"}, {"tuesday", "Tuesday"}, {"wednesday", "Wednesday"}, {"thursday", "Thursday"},
		{"friday", "Friday"}, {"saturday", "Saturday"}, {"sunday", "Sunday"}}
	headingOpts  = []option{{widget.HeadingBrand, "Custom branding: a team name and image"}, {widget.HeadingAgent, "A specific user"}}
	emailOpts    = []option{{widget.EmailNever, "Never"}, {widget.EmailAlways, "Always, before the chat starts"}, {widget.EmailWhenOffline, "Only when the team is offline"}}
	replyOpts    = []option{{"", "Do not show"}, {"few_minutes", "Usually replies in a few minutes"}, {"hour", "Usually replies in an hour"}, {"day", "Usually replies in a day"}}
	offlineOpts  = []option{{chatflow.OfflineBackAt, "Show when the team is back"}, {chatflow.OfflineAwayMessage, "Show an away message"}, {chatflow.OfflineHideLauncher, "Hide the chat launcher"}}
	botOpts      = []option{{chatflow.BotAlways, "The bot answers around the clock"}, {chatflow.BotOfficeHours, "The bot follows the office hours (outside them the chat is offline)"}}
	langChoice   = []option{{widget.LanguageChatflow, "Always the chatflow's language"}, {widget.LanguageVisitor, "The visitor's browser language, when this chatflow has a welcome message in it"}}
	capacityOpts = []option{{chatflow.CapacityWaitMessage, "Show a wait message"}, {chatflow.CapacityHideLauncher, "Hide the chat launcher"}, {chatflow.CapacityNothing, "Do nothing"}}
	desktopOpts  = []option{{widget.DisplayPrompt, "Pop open the welcome message as a prompt"}, {widget.DisplayLauncherOnly, "Only show the chat launcher"}, {widget.DisplayOpenOnTrigger, "Show the welcome message and open the chat when a trigger fires"}}
	mobileOpts   = []option{{widget.DisplayPrompt, "Pop open the welcome message as a prompt"}, {widget.DisplayLauncherOnly, "Only show the chat launcher"}}
	ruleKindOpts = []option{{widget.RuleURL, "Website URL"}, {widget.RuleQueryParam, "Query parameter"}, {widget.RuleDevice, "Device (desktop, tablet, mobile)"}, {widget.RuleVisitor, "Visitor (known or unknown)"}, {widget.RuleContactProperty, "Contact property"},
		{widget.RuleReferrer, "Referrer (the page that brought the visitor)"}, {widget.RulePageViews, "Pages viewed in this visit"}}
	ruleOpOpts = []option{{widget.OpIs, "is"}, {widget.OpIsNot, "is not"}, {widget.OpContains, "contains"}, {widget.OpNotContains, "does not contain"}, {widget.OpStartsWith, "starts with"}, {widget.OpEndsWith, "ends with"}, {widget.OpWildcard, "matches (* is anything)"},
		{widget.OpGreaterThan, "is more than (pages viewed)"}, {widget.OpLessThan, "is fewer than (pages viewed)"}}
	cookieWhen   = []option{{widget.ConsentBeforeChat, "Before the visitor starts a chat"}, {widget.ConsentExitIntent, "When the visitor is about to leave"}}
	dataTypes    = []option{{widget.ConsentExplicit, "Ask for explicit consent"}, {widget.ConsentLegitimateInterest, "Legitimate interest (a notice)"}}
	priorityOpts = []option{{"low", "Low"}, {"medium", "Medium"}, {"high", "High"}, {"urgent", "Urgent"}}
)

// Opts exposes the option lists to the template by name.
func (d *editPage) Opts(name string) []option {
	switch name {
	case "days":
		return days
	case "heading":
		return headingOpts
	case "email":
		return emailOpts
	case "reply":
		return replyOpts
	case "offline":
		return offlineOpts
	case "capacity":
		return capacityOpts
	case "bot":
		return botOpts
	case "language_choice":
		return langChoice
	case "mode":
		return modeOptions
	case "type":
		return typeOptions
	case "desktop":
		return desktopOpts
	case "mobile":
		return mobileOpts
	case "kind":
		return ruleKindOpts
	case "op":
		return ruleOpOpts
	case "cookie":
		return cookieWhen
	case "data":
		return dataTypes
	case "priority":
		return priorityOpts
	case "language":
		return d.Languages
	case "users":
		var out []option
		for _, u := range d.Users {
			out = append(out, option{strconv.FormatInt(u.ID, 10), u.Name})
		}
		return append([]option{{"0", "Choose a user"}}, out...)
	case "inboxes":
		out := []option{{"0", "Choose an inbox"}}
		for _, in := range d.Inboxes {
			l := in.Name
			if !in.HasChatChannel {
				l += " (no chat channel)"
			}
			out = append(out, option{strconv.FormatInt(in.ID, 10), l})
		}
		return out
	case "surveys":
		out := []option{{"0", "No survey"}}
		for _, s := range d.Surveys {
			out = append(out, option{strconv.FormatInt(s.ID, 10), s.Name})
		}
		return out
	case "kbs":
		out := []option{{"0", "None"}}
		for _, k := range d.KBs {
			out = append(out, option{strconv.FormatInt(k.ID, 10), k.Name})
		}
		return out
	case "bots":
		out := []option{{"0", "No bot"}}
		for _, b := range d.Bots {
			out = append(out, option{strconv.FormatInt(b.ID, 10), b.Name})
		}
		return out
	case "subtypes":
		out := []option{{"0", "None"}}
		for _, s := range d.SubTypes {
			out = append(out, option{strconv.FormatInt(s.ID, 10), s.Name})
		}
		return out
	}
	return nil
}

// Summary says the targeting in words: OR across groups, AND within one.
func (d *editPage) Summary() []string {
	t := d.CF.Targeting
	label := func(opts []option, v string) string {
		for _, o := range opts {
			if o.Value == v {
				return o.Label
			}
		}
		return v
	}
	rule := func(r widget.Rule) string {
		what := label(ruleKindOpts, r.Kind)
		if r.Name != "" {
			what += " " + strconv.Quote(r.Name)
		}
		return what + " " + label(ruleOpOpts, r.Op) + " " + strconv.Quote(r.Value)
	}
	var out []string
	if len(t.Groups) == 0 {
		out = append(out, "Shows on every page, for every visitor.")
	} else {
		var gs []string
		for _, g := range t.Groups {
			var rs []string
			for _, r := range g.Rules {
				rs = append(rs, rule(r))
			}
			gs = append(gs, "("+strings.Join(rs, " AND ")+")")
		}
		out = append(out, "Shows when "+strings.Join(gs, " OR ")+".")
	}
	if len(t.Exclusions) > 0 {
		var rs []string
		for _, r := range t.Exclusions {
			rs = append(rs, rule(r))
		}
		out = append(out, "Never shows when "+strings.Join(rs, " OR ")+".")
	}
	return out
}

// chatflowEdit shows one tab of the editor.
func (h *Handler) chatflowEdit(c *gin.Context) {
	cf, ok := h.getChatflow(c)
	if !ok {
		return
	}
	d := h.editBase(c, cf, c.Query("tab"))
	d.Notice = notices[c.Query("notice")]
	h.renderEditor(c, http.StatusOK, d)
}

func (h *Handler) editBase(c *gin.Context, cf *chatflow.Chatflow, tab string) *editPage {
	d := &editPage{settingsPage: h.settingsBase(c, "chatflows", cf.Name), CF: *cf, Version: cf.Version, Raw: map[string]string{},
		Published: cf.Enabled, Languages: languageOptions()}
	for _, t := range editorTabs {
		if t.Value != "mobile" || cf.Channel == chatflow.ChannelMobile {
			d.Tabs = append(d.Tabs, t)
		}
	}
	d.Tab = d.Tabs[0].Value
	for _, t := range d.Tabs {
		if t.Value == tab {
			d.Tab = tab
		}
	}
	keys := make([]string, 0, len(cf.Tickets.Properties))
	for k := range cf.Tickets.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		d.Props = append(d.Props, propRow{k, cf.Tickets.Properties[k]})
	}
	return d
}

func (h *Handler) renderEditor(c *gin.Context, status int, d *editPage) {
	acct := user(c).AccountID
	var err error
	if d.Users, err = h.st.Users(c, acct); err == nil {
		if d.Teams, err = h.st.Teams(c, acct); err == nil {
			if d.Inboxes, err = h.st.Inboxes(c, acct); err == nil {
				if d.Surveys, err = h.st.Surveys(c, acct); err == nil {
					if d.KBs, err = h.st.KBs(c, acct); err == nil {
						if d.Bots, err = h.st.Bots(c, acct); err == nil {
							d.SubTypes, err = h.st.SubscriptionTypes(c, acct)
						}
					}
				}
			}
		}
	}
	if err != nil {
		h.fail(c, "chatflow editor", err)
		return
	}
	// Messages about fields this tab does not show go on top, named.
	for k, v := range d.Errors {
		if k != "" && tabOf(k) != d.Tab {
			t := tabOf(k)
			for _, x := range editorTabs {
				if x.Value == t {
					t = x.Label
				}
			}
			d.Other = append(d.Other, fmt.Sprintf("%s tab, %s: %s", t, k, v))
		}
	}
	sort.Strings(d.Other)
	d.Image = h.imageField(c, d.CF.Look.Heading.ImageID, d.CF.ID, d.Version,
		"/inbox/settings/chatflows/"+strconv.FormatInt(d.CF.ID, 10)+"?tab=build", d.Errors)
	h.render(c, status, "settings_chatflow.html", d)
}

// cfForm reads a tab's form onto the chatflow it edits.
type cfForm struct {
	f      url.Values
	d      *editPage
	remove string // the row a "remove" button names, left out
}

func (e *cfForm) str(path string) string { return strings.TrimRight(e.f.Get(path), "\r\n") }
func (e *cfForm) on(path string) bool    { return e.f.Get(path) != "" }

// num reads an integer; what is not one is kept as typed and sent to REST
// as a string, so REST's message names the field.
func (e *cfForm) num(path string) int {
	s := strings.TrimSpace(e.f.Get(path))
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		e.d.Raw[path] = s
	}
	return n
}

func (e *cfForm) id(path string) int64 { return int64(e.num(path)) }

// indices lists the row numbers present under list path (e.g.
// "availability.office_hours" → 0, 1, 3), in order, less the removed one.
func (e *cfForm) indices(list string) []int {
	seen := map[int]bool{}
	for k := range e.f {
		rest, ok := strings.CutPrefix(k, list+"[")
		if !ok {
			continue
		}
		n, _, ok := strings.Cut(rest, "]")
		if i, err := strconv.Atoi(n); ok && err == nil && i >= 0 && i < 1000 && e.remove != list+"["+n+"]" {
			seen[i] = true
		}
	}
	out := make([]int, 0, len(seen))
	for i := range seen {
		out = append(out, i)
	}
	sort.Ints(out)
	return out
}

func (e *cfForm) rule(p string) widget.Rule {
	return widget.Rule{Kind: e.str(p + ".kind"), Op: e.str(p + ".op"), Name: strings.TrimSpace(e.str(p + ".name")), Value: e.str(p + ".value")}
}

func at(list string, i int) string { return list + "[" + strconv.Itoa(i) + "]" }

// read overlays the fields of tab onto d.CF.
func (e *cfForm) read(tab string) {
	cf := &e.d.CF
	switch tab {
	case "build":
		cf.Name = e.str("name")
		cf.Type = e.str("type")
		cf.Options.BotID = e.id("options.bot_id")
		l := &cf.Look
		l.AccentColor = strings.TrimSpace(e.str("look.accent_color"))
		l.Heading.Kind = e.str("look.heading.kind")
		l.Heading.AgentID = e.id("look.heading.agent_id")
		l.Heading.BrandName = e.str("look.heading.brand_name")
		l.Heading.ImageURL = strings.TrimSpace(e.str("look.heading.image_url"))
		if _, ok := e.f["look.heading.image_id"]; ok { // the upload field's hidden input
			l.Heading.ImageID = strings.TrimSpace(e.str("look.heading.image_id"))
		}
		l.BrandAlias = e.on("look.brand_alias")
		l.ShowCloseButton = e.on("look.show_close_button")
		cf.Welcome.Messages = map[string]string{}
		cf.EmailCapture.Prompt = map[string]string{}
		for _, lang := range chatflow.Languages {
			if v := e.str("welcome.messages." + lang); v != "" {
				cf.Welcome.Messages[lang] = v
			}
			if v := e.str("email_capture.prompt." + lang); v != "" {
				cf.EmailCapture.Prompt[lang] = v
			}
		}
		cf.EmailCapture.When = e.str("email_capture.when")
		cf.EmailCapture.TranscriptAtClose = e.on("email_capture.transcript_at_close")
		cf.Assignment.AutoAssign = e.on("assignment.auto_assign")
		cf.Assignment.UserIDs, cf.Assignment.TeamIDs = []int64{}, []int64{}
		for _, s := range e.f["assignment.user_ids"] {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				cf.Assignment.UserIDs = append(cf.Assignment.UserIDs, n)
			}
		}
		for _, s := range e.f["assignment.team_ids"] {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				cf.Assignment.TeamIDs = append(cf.Assignment.TeamIDs, n)
			}
		}
		a := &cf.Availability
		a.Mode = e.str("availability.mode")
		a.OfficeHours = []chatflow.TimeRange{}
		for _, i := range e.indices("availability.office_hours") {
			p := at("availability.office_hours", i)
			a.OfficeHours = append(a.OfficeHours, chatflow.TimeRange{Day: e.str(p + ".day"),
				Start: strings.TrimSpace(e.str(p + ".start")), End: strings.TrimSpace(e.str(p + ".end"))})
		}
		a.Exceptions = []chatflow.DateException{}
		for _, i := range e.indices("availability.exceptions") {
			p := at("availability.exceptions", i)
			a.Exceptions = append(a.Exceptions, chatflow.DateException{Date: strings.TrimSpace(e.str(p + ".date")),
				Name: strings.TrimSpace(e.str(p + ".name")), Closed: e.on(p + ".closed"),
				Start: strings.TrimSpace(e.str(p + ".start")), End: strings.TrimSpace(e.str(p + ".end"))})
		}
		a.ReplyTime = e.str("availability.reply_time")
		a.AwayMessage = e.str("availability.away_message")
		a.Offline = chatflow.Behaviour{Behaviour: e.str("availability.offline.behaviour"), Message: e.str("availability.offline.message")}
		a.AtCapacity = chatflow.Behaviour{Behaviour: e.str("availability.at_capacity.behaviour"), Message: e.str("availability.at_capacity.message")}
		a.Bot = e.str("availability.bot")
	case "target":
		t := widget.Targeting{Groups: []widget.RuleGroup{}, Exclusions: []widget.Rule{}}
		for _, gi := range e.indices("targeting.groups") {
			g := widget.RuleGroup{Rules: []widget.Rule{}}
			gp := at("targeting.groups", gi)
			for _, ri := range e.indices(gp + ".rules") {
				g.Rules = append(g.Rules, e.rule(at(gp+".rules", ri)))
			}
			t.Groups = append(t.Groups, g)
		}
		for _, i := range e.indices("targeting.exclusions") {
			t.Exclusions = append(t.Exclusions, e.rule(at("targeting.exclusions", i)))
		}
		cf.Targeting = t
	case "display":
		cf.Display.Desktop = e.str("display.desktop")
		cf.Display.Mobile = e.str("display.mobile")
		cf.Display.Triggers = widget.Triggers{ExitIntent: e.on("display.triggers.exit_intent"),
			TimeOnPage: e.num("display.triggers.time_on_page"), ScrollPercent: e.num("display.triggers.scroll_percent")}
	case "options":
		cf.Language = e.str("language")
		cf.Options.LanguageChoice = e.str("options.language_choice")
		cf.InboxID = e.id("inbox_id")
		cf.Priority = e.num("priority")
		t := &cf.Tickets
		t.Pipeline, t.Status, t.Priority, t.Category = e.str("tickets.pipeline"), e.str("tickets.status"), e.str("tickets.priority"), e.str("tickets.category")
		e.d.Props = nil
		for _, i := range e.indices("tickets.custom") {
			p := at("tickets.custom", i)
			e.d.Props = append(e.d.Props, propRow{strings.TrimSpace(e.str(p + ".name")), e.str(p + ".value")})
		}
		o := &cf.Options
		o.CookieConsent = widget.CookieConsent{Enabled: e.on("options.cookie_consent.enabled"), When: e.str("options.cookie_consent.when"), Text: e.str("options.cookie_consent.text")}
		o.DataConsent = widget.DataConsent{Enabled: e.on("options.data_consent.enabled"), Type: e.str("options.data_consent.type"),
			Text: e.str("options.data_consent.text"), PrivacyURL: strings.TrimSpace(e.str("options.data_consent.privacy_url"))}
		o.CommunicationConsent = widget.CommunicationConsent{Enabled: e.on("options.communication_consent.enabled"),
			SubscriptionTypeID: e.id("options.communication_consent.subscription_type_id"), Label: e.str("options.communication_consent.label")}
		o.MarketingContacts = e.on("options.marketing_contacts")
		o.SurveyID = e.id("options.survey_id")
		o.KnowledgeBaseID = e.id("options.knowledge_base_id")
		o.HelpTab = e.on("options.help_tab")
		o.Attachments = e.on("options.attachments")
	case "mobile":
		cf.MobileTag = strings.TrimSpace(e.str("mobile_tag"))
	}
}

// readEditor builds the editor's state from a posted tab: the chatflow as
// stored now, the tab's fields over it, then the add/remove/reset button.
func (h *Handler) readEditor(c *gin.Context) (*editPage, bool) {
	cf, ok := h.getChatflow(c)
	if !ok {
		return nil, false
	}
	_ = c.Request.ParseForm()
	d := h.editBase(c, cf, c.PostForm("tab"))
	d.Version = formVersion(c)
	e := &cfForm{f: c.Request.PostForm, d: d, remove: c.PostForm("remove")}
	e.read(d.Tab)
	switch add := c.PostForm("add"); {
	case add == "availability.office_hours":
		d.CF.Availability.OfficeHours = append(d.CF.Availability.OfficeHours, chatflow.TimeRange{Day: "monday", Start: "09:00", End: "17:00"})
	case add == "availability.exceptions":
		d.CF.Availability.Exceptions = append(d.CF.Availability.Exceptions, chatflow.DateException{Closed: true})
	case add == "targeting.groups":
		d.CF.Targeting.Groups = append(d.CF.Targeting.Groups, widget.RuleGroup{Rules: []widget.Rule{{Kind: widget.RuleURL, Op: widget.OpContains}}})
	case add == "targeting.exclusions":
		d.CF.Targeting.Exclusions = append(d.CF.Targeting.Exclusions, widget.Rule{Kind: widget.RuleURL, Op: widget.OpContains})
	case add == "tickets.custom":
		d.Props = append(d.Props, propRow{})
	case strings.HasPrefix(add, "targeting.groups["):
		n, _, _ := strings.Cut(strings.TrimPrefix(add, "targeting.groups["), "]")
		if i, err := strconv.Atoi(n); err == nil && i >= 0 && i < len(d.CF.Targeting.Groups) {
			g := &d.CF.Targeting.Groups[i]
			g.Rules = append(g.Rules, widget.Rule{Kind: widget.RuleURL, Op: widget.OpContains})
		}
	}
	switch c.PostForm("reset") {
	case "options.cookie_consent.text":
		d.CF.Options.CookieConsent.Text = ""
	case "options.data_consent.text":
		d.CF.Options.DataConsent.Text = ""
	case "options.communication_consent.label":
		d.CF.Options.CommunicationConsent.Label = ""
	}
	return d, true
}

// body is the PUT body of the editor's state: the whole chatflow, with the
// typed non-numbers in place of their fields.
func (d *editPage) body() (map[string]any, error) {
	cf := d.CF
	cf.Tickets.Properties = map[string]string{}
	for _, p := range d.Props {
		if p.Name != "" || p.Value != "" {
			cf.Tickets.Properties[p.Name] = p.Value
		}
	}
	raw, err := json.Marshal(cf)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	for path, v := range d.Raw {
		parts := strings.Split(path, ".")
		cur := m
		for _, p := range parts[:len(parts)-1] {
			next, ok := cur[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[p] = next
			}
			cur = next
		}
		cur[parts[len(parts)-1]] = v
	}
	return m, nil
}

// chatflowSave saves a tab, or re-renders it with a row added or removed.
func (h *Handler) chatflowSave(c *gin.Context) {
	d, ok := h.readEditor(c)
	if !ok {
		return
	}
	if c.PostForm("add") != "" || c.PostForm("remove") != "" || c.PostForm("reset") != "" {
		h.renderEditor(c, http.StatusOK, d)
		return
	}
	body, err := d.body()
	if err != nil {
		h.fail(c, "chatflow save", err)
		return
	}
	path, id, _ := chatflowPath(c)
	res := h.rest(c, "PUT", path, body, d.Version)
	switch {
	case res.Status == http.StatusPreconditionFailed:
		// Keep what was typed; the next save goes over the current version
		// (the person has been told and can compare first).
		d.Notice, d.Conflict = staleMessage, true
		if cur, ok := h.getChatflow(c); ok {
			d.Version, d.Published = cur.Version, cur.Enabled
		} else {
			return
		}
		h.renderEditor(c, http.StatusConflict, d)
	case !res.OK():
		d.Errors = fromProblem(res.Problem())
		h.renderEditor(c, res.Status, d)
	default:
		c.Redirect(http.StatusSeeOther, "/inbox/settings/chatflows/"+strconv.FormatInt(id, 10)+"?tab="+d.Tab+"&notice=saved")
	}
}

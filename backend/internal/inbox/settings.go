package inbox

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/api"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
)

// The console: /inbox/settings/..., the REST API's face for people. Its
// forms are server-rendered and work without JavaScript; each save is a
// REST call made in-process (api.Local) as the signed-in person's role, so
// validation, the role table and the stale-edit check have one home.
// Editors and admins configure what visitors see; admins alone the account,
// users, teams, inboxes and API keys.

// settingsSection is one link of the console's menu.
type settingsSection struct {
	Key, Title, Path string
	Admin            bool // admins only; else editors and admins
}

// settingsSections is the console's menu, in order.
var settingsSections = []settingsSection{
	{"chatflows", "Chatflows", "/inbox/settings/chatflows", false},
	{"knowledge-bases", "Knowledge bases", "/inbox/settings/knowledge-bases", false},
	{"surveys", "Surveys", "/inbox/settings/surveys", false},
	{"bots", "Bots", "/inbox/settings/bots", false},
	{"subscription-types", "Subscription types", "/inbox/settings/subscription-types", false},
	{"images", "Brand images", "/inbox/settings/images", false},
	{"labels", "Labels", "/inbox/settings/labels", false},
	{"account", "Account", "/inbox/settings/account", true},
	{"users", "Users", "/inbox/settings/users", true},
	{"teams", "Teams", "/inbox/settings/teams", true},
	{"inboxes", "Inboxes", "/inbox/settings/inboxes", true},
	{"api-keys", "API keys", "/inbox/settings/api-keys", true},
	{"install", "Install", "/inbox/settings/install", true},
}

// registerSettings mounts the console on the signed-in group. Each
// resource's handlers live in a settings_<resource>.go file.
func (h *Handler) registerSettings(g *gin.RouterGroup) {
	ed := g.Group("/settings", RequireChatflowEditor)
	ad := g.Group("/settings", RequireAdmin)
	ed.GET("", h.settingsHome)
	h.chatflowSettings(ed) // settings_chatflows.go
	h.contentSettings(ed)  // settings_content.go: knowledge bases, surveys, bots, subscription types
	h.imageSettings(ed)    // settings_images.go: brand images
	h.labelSettings(ed)    // labels.go
	h.accountSettings(ad)  // settings_account.go: account, users, teams, inboxes, API keys
	h.installSettings(ad)  // settings_install.go
}

// settingsHome opens the first section.
func (h *Handler) settingsHome(c *gin.Context) {
	c.Redirect(http.StatusSeeOther, settingsSections[0].Path)
}

// settingsPage is what every console page needs besides the layout's part.
type settingsPage struct {
	basePage
	Section  string            // the menu entry shown as current
	Menu     []settingsSection // the entries this person may open
	Errors   formErrors        // field path → message, from the REST answer
	Notice   string            // a sentence at the top: saved, or why not
	Conflict bool              // the save was refused as stale
}

func (h *Handler) settingsBase(c *gin.Context, section, title string) settingsPage {
	admin := user(c).Role == store.RoleAdmin
	var menu []settingsSection
	for _, s := range settingsSections {
		if admin || !s.Admin {
			menu = append(menu, s)
		}
	}
	return settingsPage{basePage: h.base(c, title), Section: section, Menu: menu, Errors: formErrors{}}
}

// formErrors maps a REST field path (e.g. "look.accent_color") to its
// message; the key "" holds a sentence about the whole form.
type formErrors map[string]string

// Has reports an error on field.
func (e formErrors) Has(field string) bool { _, ok := e[field]; return ok }

// Any reports any error.
func (e formErrors) Any() bool { return len(e) > 0 }

// fromProblem reads a REST error answer into form errors.
func fromProblem(p *problem.Problem) formErrors {
	e := formErrors{}
	if p == nil {
		return e
	}
	for _, f := range p.Errors {
		if _, dup := e[f.Field]; !dup {
			e[f.Field] = f.Message
		}
	}
	if len(p.Errors) == 0 {
		msg := p.Detail
		if msg == "" {
			msg = p.Title
		}
		e[""] = msg
	}
	return e
}

// fieldError renders the message of one field beside it, with the id its
// input names in aria-describedby ("err-" + field), or nothing.
func fieldError(e formErrors, field string) template.HTML {
	msg, ok := e[field]
	if !ok {
		return ""
	}
	return template.HTML(`<p class="field-error" role="alert" id="err-` + template.HTMLEscapeString(field) + `">` +
		template.HTMLEscapeString(msg) + `</p>`)
}

// rest calls the REST API in-process as the signed-in person. body is
// marshalled to JSON (nil sends none); a version > 0 is sent as If-Match,
// so a save based on a stale page is refused with 412.
func (h *Handler) rest(c *gin.Context, method, path string, body any, version int64) *api.Result {
	if h.cfg.REST == nil {
		return &api.Result{Status: http.StatusServiceUnavailable, Header: http.Header{},
			Body: []byte(`{"status":503,"title":"Service Unavailable","detail":"The console is not connected to the API."}`)}
	}
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return &api.Result{Status: http.StatusBadRequest, Header: http.Header{},
				Body: []byte(`{"status":400,"title":"Bad Request","detail":"The form could not be read."}`)}
		}
	}
	hdr := http.Header{}
	if version > 0 {
		hdr.Set("If-Match", `"`+strconv.FormatInt(version, 10)+`"`)
	}
	u := user(c)
	return h.cfg.REST.Do(c, u.AccountID, u.Role, method, path, raw, hdr)
}

// staleMessage is shown when a save was based on an old version.
const staleMessage = "Someone saved this meanwhile. Your changes are still in the form below and were NOT saved; check the current values (reload in another tab) and save again."

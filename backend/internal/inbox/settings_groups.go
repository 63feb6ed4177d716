package inbox

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
)

// Teams and inboxes: both a name and members (users); an inbox also has
// its chat channel switch, the one channel REST has.

// groupKind says which of the two a page is about.
type groupKind struct {
	Key      string // menu key and URL part: "teams", "inboxes"
	Title    string // "Teams"
	One      string // "team"
	API      string // "/api/v1/teams"
	List     string // the REST list's JSON key
	Channels bool   // inboxes: the chat channel switch
}

var (
	teamKind  = groupKind{Key: "teams", Title: "Teams", One: "team", API: "/api/v1/teams", List: "teams"}
	inboxKind = groupKind{Key: "inboxes", Title: "Inboxes", One: "inbox", API: "/api/v1/inboxes", List: "inboxes", Channels: true}
)

var groupFields = []string{"name", "member_ids", "has_chat_channel"}

func (h *Handler) groupSettings(g *gin.RouterGroup) {
	for _, k := range []groupKind{teamKind, inboxKind} {
		k := k
		base := "/" + k.Key
		g.GET(base, func(c *gin.Context) { h.groupsPage(c, k) })
		g.POST(base, h.requireCSRF, func(c *gin.Context) { h.createGroup(c, k) })
		g.GET(base+"/:id", func(c *gin.Context) { h.groupPage(c, k) })
		g.POST(base+"/:id", h.requireCSRF, func(c *gin.Context) { h.saveGroup(c, k) })
		g.GET(base+"/:id/delete", func(c *gin.Context) { h.confirmDeleteGroup(c, k) })
		g.POST(base+"/:id/delete", h.requireCSRF, func(c *gin.Context) { h.deleteGroup(c, k) })
	}
}

// groupForm is a team or an inbox as REST shows it.
type groupForm struct {
	ID             int64   `json:"id"`
	Name           string  `json:"name"`
	MemberIDs      []int64 `json:"member_ids"`
	HasChatChannel bool    `json:"has_chat_channel"`
}

type groupsPageData struct {
	settingsPage
	Kind    groupKind
	Groups  []groupForm
	Group   groupForm      // the create or edit form, refilled after an error
	Users   []userForm     // who can be a member
	Members map[int64]bool // the form's checked members
	Names   map[int64]string
}

// groupData fills the users and the list (list: the list page's rows too).
func (h *Handler) groupData(c *gin.Context, d *groupsPageData, list bool) bool {
	var us struct {
		Users []userForm `json:"users"`
	}
	if !h.restGet(c, "/api/v1/users", &us) {
		return false
	}
	d.Users, d.Names = us.Users, map[int64]string{}
	for _, u := range us.Users {
		d.Names[u.ID] = u.Name
	}
	d.Members = map[int64]bool{}
	for _, id := range d.Group.MemberIDs {
		d.Members[id] = true
	}
	if list {
		var gs map[string][]groupForm
		if !h.restGet(c, d.Kind.API, &gs) {
			return false
		}
		d.Groups = gs[d.Kind.List]
	}
	return true
}

func (h *Handler) groupsPage(c *gin.Context, k groupKind) {
	d := groupsPageData{settingsPage: h.settingsPageFor(c, k.Key, k.Title), Kind: k, Group: groupForm{HasChatChannel: true}}
	if h.groupData(c, &d, true) {
		h.render(c, http.StatusOK, "settings_groups.html", d)
	}
}

// groupFromForm reads the posted form: the typed values for the page, the body for REST.
func groupFromForm(c *gin.Context, k groupKind) (groupForm, map[string]any) {
	g := groupForm{Name: c.PostForm("name"), HasChatChannel: c.PostForm("has_chat_channel") != ""}
	for _, v := range c.PostFormArray("member_ids") {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			g.MemberIDs = append(g.MemberIDs, id)
		}
	}
	body := map[string]any{"name": g.Name, "member_ids": formIDs(c, "member_ids")}
	if k.Channels {
		body["has_chat_channel"] = g.HasChatChannel
	}
	return g, body
}

func (h *Handler) createGroup(c *gin.Context, k groupKind) {
	g, body := groupFromForm(c, k)
	r := h.rest(c, http.MethodPost, k.API, body, 0)
	if r.OK() {
		doneRedirect(c, "/inbox/settings/"+k.Key, "created")
		return
	}
	d := groupsPageData{settingsPage: h.settingsBase(c, k.Key, k.Title), Kind: k, Group: g}
	status := formProblem(r, &d.Errors, nil)
	placeErrors(d.Errors, groupFields...)
	if h.groupData(c, &d, true) {
		h.render(c, status, "settings_groups.html", d)
	}
}

func groupPath(c *gin.Context, k groupKind) (string, bool) {
	id := pathInt64(c, "id")
	return k.API + "/" + strconv.FormatInt(id, 10), id > 0
}

func (h *Handler) groupPage(c *gin.Context, k groupKind) {
	path, ok := groupPath(c, k)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such "+k.One+".")
		return
	}
	var g groupForm
	if !h.restGet(c, path, &g) {
		return
	}
	d := groupsPageData{settingsPage: h.settingsPageFor(c, k.Key, g.Name), Kind: k, Group: g}
	if h.groupData(c, &d, false) {
		h.render(c, http.StatusOK, "settings_group.html", d)
	}
}

func (h *Handler) saveGroup(c *gin.Context, k groupKind) {
	path, ok := groupPath(c, k)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such "+k.One+".")
		return
	}
	g, body := groupFromForm(c, k)
	r := h.rest(c, http.MethodPatch, path, body, 0)
	if r.OK() {
		doneRedirect(c, "/inbox/settings/"+k.Key, "saved")
		return
	}
	if r.Status == http.StatusNotFound {
		h.restDeny(c, r)
		return
	}
	g.ID = pathInt64(c, "id")
	d := groupsPageData{settingsPage: h.settingsBase(c, k.Key, g.Name), Kind: k, Group: g}
	status := formProblem(r, &d.Errors, nil)
	placeErrors(d.Errors, groupFields...)
	if h.groupData(c, &d, false) {
		h.render(c, status, "settings_group.html", d)
	}
}

func (h *Handler) confirmDeleteGroup(c *gin.Context, k groupKind) {
	path, ok := groupPath(c, k)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such "+k.One+".")
		return
	}
	var g groupForm
	if !h.restGet(c, path, &g) {
		return
	}
	id := strconv.FormatInt(g.ID, 10)
	detail := "Its members stay users of the account."
	if k.Channels {
		detail = "Its conversations and the chatflows that route to it must be moved first, or the API refuses."
	}
	h.confirm(c, k.Key, confirmData{What: "the " + k.One + " " + strconv.Quote(g.Name),
		Action: "/inbox/settings/" + k.Key + "/" + id + "/delete", Back: "/inbox/settings/" + k.Key + "/" + id,
		Button: "Delete " + k.One, Detail: detail})
}

func (h *Handler) deleteGroup(c *gin.Context, k groupKind) {
	path, ok := groupPath(c, k)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such "+k.One+".")
		return
	}
	h.restDelete(c, path, "/inbox/settings/"+k.Key, "deleted")
}

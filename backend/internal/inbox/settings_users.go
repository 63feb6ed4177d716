package inbox

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/store"
)

// The users page: who works in the account, their seat, role, chat limit
// and status, and invitations (a link to set a password, shown once).

func (h *Handler) userSettings(g *gin.RouterGroup) {
	g.GET("/users", h.usersPage)
	g.POST("/users", h.requireCSRF, h.createUserForm)
	g.GET("/users/:id", h.userPage)
	g.POST("/users/:id", h.requireCSRF, h.saveUser)
	g.POST("/users/:id/invitation", h.requireCSRF, h.inviteUserForm)
	g.GET("/users/:id/delete", h.confirmDeleteUser)
	g.POST("/users/:id/delete", h.requireCSRF, h.deleteUserForm)
}

// userForm is a user as the forms show it; MaxOpenChats is text so a typed
// value that is no number comes back as typed.
type userForm struct {
	ID           int64  `json:"id"`
	Email        string `json:"email"`
	Name         string `json:"name"`
	Role         string `json:"role"`
	HasSeat      bool   `json:"has_seat"`
	Status       string `json:"status"`
	MaxOpenChats any    `json:"max_open_chats"`
}

// invitationView is an invitation link, shown on the page that made it and never again.
type invitationView struct {
	UserName  string
	URL       string    `json:"invitation_url"`
	ExpiresAt time.Time `json:"invitation_expires_at"`
}

type usersPageData struct {
	settingsPage
	Users      []userForm
	User       userForm // the create form, refilled after an error
	Invitation *invitationView
	Roles      []string
	Statuses   []string
}

type userPageData struct {
	settingsPage
	User       userForm
	Invitation *invitationView
	Roles      []string
	Statuses   []string
}

var (
	userRoles    = []string{store.RoleAgent, store.RoleEditor, store.RoleAdmin}
	userStatuses = []string{store.UserAvailable, store.UserAway, store.UserOffline}
	userFields   = []string{"email", "name", "role", "has_seat", "status", "max_open_chats"}
)

func (h *Handler) renderUsers(c *gin.Context, status int, d usersPageData) {
	var list struct {
		Users []userForm `json:"users"`
	}
	if !h.restGet(c, "/api/v1/users", &list) {
		return
	}
	d.Users, d.Roles, d.Statuses = list.Users, userRoles, userStatuses
	h.render(c, status, "settings_users.html", d)
}

func (h *Handler) usersPage(c *gin.Context) {
	h.renderUsers(c, http.StatusOK, usersPageData{settingsPage: h.settingsPageFor(c, "users", "Users"),
		User: userForm{Role: store.RoleAgent, Status: store.UserOffline, MaxOpenChats: 5}})
}

// userFromForm reads the posted user form.
func userFromForm(c *gin.Context) userForm {
	return userForm{Email: c.PostForm("email"), Name: c.PostForm("name"), Role: c.PostForm("role"),
		HasSeat: c.PostForm("has_seat") != "", Status: c.PostForm("status"), MaxOpenChats: c.PostForm("max_open_chats")}
}

func (u userForm) body() map[string]any {
	return map[string]any{"email": u.Email, "name": u.Name, "role": u.Role, "has_seat": u.HasSeat,
		"status": u.Status, "max_open_chats": formNumber(u.MaxOpenChats.(string))}
}

// createUserForm adds a user without a password and shows the invitation
// link REST made for them (it is also emailed when Parley sends email).
func (h *Handler) createUserForm(c *gin.Context) {
	u := userFromForm(c)
	r := h.rest(c, http.MethodPost, "/api/v1/users", u.body(), 0)
	d := usersPageData{settingsPage: h.settingsBase(c, "users", "Users")}
	if !r.OK() {
		d.User = u
		status := formProblem(r, &d.Errors, nil)
		placeErrors(d.Errors, userFields...)
		h.renderUsers(c, status, d)
		return
	}
	var inv invitationView
	if err := r.Decode(&inv); err != nil {
		h.fail(c, "create user", err)
		return
	}
	inv.UserName = u.Name
	d.Notice = "Added " + u.Name + "."
	if inv.URL != "" {
		d.Invitation = &inv
	}
	d.User = userForm{Role: store.RoleAgent, Status: store.UserOffline, MaxOpenChats: 5}
	h.renderUsers(c, http.StatusCreated, d)
}

func userPath(c *gin.Context) (string, bool) {
	id := pathInt64(c, "id")
	return "/api/v1/users/" + strconv.FormatInt(id, 10), id > 0
}

func (h *Handler) userPage(c *gin.Context) {
	path, ok := userPath(c)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such user.")
		return
	}
	var u userForm
	if !h.restGet(c, path, &u) {
		return
	}
	h.render(c, http.StatusOK, "settings_user.html", userPageData{settingsPage: h.settingsPageFor(c, "users", u.Name),
		User: u, Roles: userRoles, Statuses: userStatuses})
}

func (h *Handler) saveUser(c *gin.Context) {
	path, ok := userPath(c)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such user.")
		return
	}
	u := userFromForm(c)
	r := h.rest(c, http.MethodPatch, path, u.body(), 0)
	if r.OK() {
		doneRedirect(c, "/inbox/settings/users", "saved")
		return
	}
	if r.Status == http.StatusNotFound {
		h.restDeny(c, r)
		return
	}
	u.ID = pathInt64(c, "id")
	d := userPageData{settingsPage: h.settingsBase(c, "users", u.Name), User: u, Roles: userRoles, Statuses: userStatuses}
	status := formProblem(r, &d.Errors, nil)
	placeErrors(d.Errors, userFields...)
	h.render(c, status, "settings_user.html", d)
}

// inviteUserForm makes a new invitation link (the old ones stop working)
// and shows it once.
func (h *Handler) inviteUserForm(c *gin.Context) {
	path, ok := userPath(c)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such user.")
		return
	}
	var u userForm
	if !h.restGet(c, path, &u) {
		return
	}
	d := userPageData{settingsPage: h.settingsBase(c, "users", u.Name), User: u, Roles: userRoles, Statuses: userStatuses}
	r := h.rest(c, http.MethodPost, path+"/invitation", nil, 0)
	status := http.StatusOK
	if r.OK() {
		inv := invitationView{UserName: u.Name}
		if err := r.Decode(&inv); err != nil {
			h.fail(c, "invite", err)
			return
		}
		d.Invitation = &inv
	} else {
		status = formProblem(r, &d.Errors, nil)
	}
	h.render(c, status, "settings_user.html", d)
}

func (h *Handler) confirmDeleteUser(c *gin.Context) {
	path, ok := userPath(c)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such user.")
		return
	}
	var u userForm
	if !h.restGet(c, path, &u) {
		return
	}
	id := strconv.FormatInt(u.ID, 10)
	h.confirm(c, "users", confirmData{What: "the user " + u.Name + " (" + u.Email + ")",
		Action: "/inbox/settings/users/" + id + "/delete", Back: "/inbox/settings/users/" + id,
		Button: "Delete user", Detail: "They can no longer sign in; their open conversations go back to the queue."})
}

func (h *Handler) deleteUserForm(c *gin.Context) {
	path, ok := userPath(c)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such user.")
		return
	}
	h.restDelete(c, path, "/inbox/settings/users", "deleted")
}

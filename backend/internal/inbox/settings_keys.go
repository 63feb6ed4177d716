package inbox

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/store"
)

// API keys: made with a role, their secret shown once on the page that
// made them (Parley keeps only its hash), revoked by deleting.

func (h *Handler) keySettings(g *gin.RouterGroup) {
	g.GET("/api-keys", h.keysPage)
	g.POST("/api-keys", h.requireCSRF, h.createKeyForm)
	g.GET("/api-keys/:id/revoke", h.confirmRevokeKey)
	g.POST("/api-keys/:id/revoke", h.requireCSRF, h.revokeKey)
}

type keyView struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

type keysPageData struct {
	settingsPage
	Keys   []keyView
	Next   string // the next page's cursor
	Name   string // the create form, refilled after an error
	Role   string
	Roles  []string
	Secret string // the new key's secret: on this one answer only
	Made   *keyView
}

var keyFields = []string{"name", "role"}

func (h *Handler) renderKeys(c *gin.Context, status int, d keysPageData) {
	path := "/api/v1/api-keys?limit=100"
	if cur := c.Query("cursor"); cur != "" {
		path += "&cursor=" + url.QueryEscape(cur)
	}
	var list struct {
		Keys []keyView `json:"api_keys"`
		Next *string   `json:"next_cursor"`
	}
	if !h.restGet(c, path, &list) {
		return
	}
	d.Keys, d.Roles = list.Keys, userRoles
	if list.Next != nil {
		d.Next = *list.Next
	}
	h.render(c, status, "settings_api_keys.html", d)
}

func (h *Handler) keysPage(c *gin.Context) {
	h.renderKeys(c, http.StatusOK, keysPageData{settingsPage: h.settingsPageFor(c, "api-keys", "API keys"), Role: store.RoleAgent})
}

func (h *Handler) createKeyForm(c *gin.Context) {
	name, role := c.PostForm("name"), c.PostForm("role")
	r := h.rest(c, http.MethodPost, "/api/v1/api-keys", map[string]any{"name": name, "role": role}, 0)
	d := keysPageData{settingsPage: h.settingsBase(c, "api-keys", "API keys"), Role: store.RoleAgent}
	if !r.OK() {
		d.Name, d.Role = name, role
		status := formProblem(r, &d.Errors, nil)
		placeErrors(d.Errors, keyFields...)
		h.renderKeys(c, status, d)
		return
	}
	var made struct {
		keyView
		Secret string `json:"secret"`
	}
	if err := r.Decode(&made); err != nil {
		h.fail(c, "create api key", err)
		return
	}
	d.Made, d.Secret = &made.keyView, made.Secret
	h.renderKeys(c, http.StatusCreated, d)
}

func keyPath(c *gin.Context) (string, bool) {
	id := pathInt64(c, "id")
	return "/api/v1/api-keys/" + strconv.FormatInt(id, 10), id > 0
}

func (h *Handler) confirmRevokeKey(c *gin.Context) {
	path, ok := keyPath(c)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such API key.")
		return
	}
	var k keyView
	if !h.restGet(c, path, &k) {
		return
	}
	id := strconv.FormatInt(k.ID, 10)
	h.confirm(c, "api-keys", confirmData{What: "the API key " + strconv.Quote(k.Name) + " (" + k.Prefix + "…)",
		Action: "/inbox/settings/api-keys/" + id + "/revoke", Back: "/inbox/settings/api-keys",
		Button: "Revoke key", Detail: "Programs that call the API with it are refused from then on."})
}

func (h *Handler) revokeKey(c *gin.Context) {
	path, ok := keyPath(c)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such API key.")
		return
	}
	h.restDelete(c, path, "/inbox/settings/api-keys", "revoked")
}

package inbox

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
)

// Subscription types: the lists (newsletter, product news ...) a chatflow
// can ask visitors to join.

func (h *Handler) subscriptionSettings(g *gin.RouterGroup) {
	g.GET("/subscription-types", h.subscriptionsPage)
	g.POST("/subscription-types", h.requireCSRF, h.createSubscription)
	g.GET("/subscription-types/:id", h.subscriptionPage)
	g.POST("/subscription-types/:id", h.requireCSRF, h.saveSubscription)
	g.GET("/subscription-types/:id/delete", h.confirmDeleteSubscription)
	g.POST("/subscription-types/:id/delete", h.requireCSRF, h.deleteSubscription)
}

type subscriptionForm struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

type subscriptionsData struct {
	settingsPage
	Types []subscriptionForm
	Type  subscriptionForm // the create or edit form
}

var subscriptionFields = []string{"name", "description"}

func (h *Handler) renderSubscriptions(c *gin.Context, status int, d subscriptionsData) {
	var list struct {
		Types []subscriptionForm `json:"subscription_types"`
	}
	if !h.restGet(c, "/api/v1/subscription-types", &list) {
		return
	}
	d.Types = list.Types
	h.render(c, status, "settings_subscription_types.html", d)
}

func (h *Handler) subscriptionsPage(c *gin.Context) {
	h.renderSubscriptions(c, http.StatusOK, subscriptionsData{settingsPage: h.settingsPageFor(c, "subscription-types", "Subscription types")})
}

func subscriptionFromForm(c *gin.Context) subscriptionForm {
	return subscriptionForm{Name: c.PostForm("name"), Description: c.PostForm("description")}
}

func (h *Handler) createSubscription(c *gin.Context) {
	t := subscriptionFromForm(c)
	r := h.rest(c, http.MethodPost, "/api/v1/subscription-types", map[string]any{"name": t.Name, "description": t.Description}, 0)
	if r.OK() {
		doneRedirect(c, "/inbox/settings/subscription-types", "created")
		return
	}
	d := subscriptionsData{settingsPage: h.settingsBase(c, "subscription-types", "Subscription types"), Type: t}
	status := formProblem(r, &d.Errors, nil)
	placeErrors(d.Errors, subscriptionFields...)
	h.renderSubscriptions(c, status, d)
}

func subscriptionPath(c *gin.Context) (string, bool) {
	id := pathInt64(c, "id")
	return "/api/v1/subscription-types/" + strconv.FormatInt(id, 10), id > 0
}

func (h *Handler) subscriptionPage(c *gin.Context) {
	path, ok := subscriptionPath(c)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such subscription type.")
		return
	}
	var t subscriptionForm
	if !h.restGet(c, path, &t) {
		return
	}
	h.render(c, http.StatusOK, "settings_subscription_type.html", subscriptionsData{settingsPage: h.settingsPageFor(c, "subscription-types", t.Name), Type: t})
}

func (h *Handler) saveSubscription(c *gin.Context) {
	path, ok := subscriptionPath(c)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such subscription type.")
		return
	}
	t := subscriptionFromForm(c)
	r := h.rest(c, http.MethodPut, path, map[string]any{"name": t.Name, "description": t.Description}, 0)
	if r.OK() {
		doneRedirect(c, "/inbox/settings/subscription-types", "saved")
		return
	}
	if r.Status == http.StatusNotFound {
		h.restDeny(c, r)
		return
	}
	t.ID = pathInt64(c, "id")
	d := subscriptionsData{settingsPage: h.settingsBase(c, "subscription-types", t.Name), Type: t}
	status := formProblem(r, &d.Errors, nil)
	placeErrors(d.Errors, subscriptionFields...)
	h.render(c, status, "settings_subscription_type.html", d)
}

func (h *Handler) confirmDeleteSubscription(c *gin.Context) {
	path, ok := subscriptionPath(c)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such subscription type.")
		return
	}
	var t subscriptionForm
	if !h.restGet(c, path, &t) {
		return
	}
	id := strconv.FormatInt(t.ID, 10)
	h.confirm(c, "subscription-types", confirmData{What: "the subscription type " + strconv.Quote(t.Name),
		Action: "/inbox/settings/subscription-types/" + id + "/delete", Back: "/inbox/settings/subscription-types/" + id,
		Button: "Delete subscription type", Detail: "Contacts' choices about it are deleted with it."})
}

func (h *Handler) deleteSubscription(c *gin.Context) {
	path, ok := subscriptionPath(c)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such subscription type.")
		return
	}
	h.restDelete(c, path, "/inbox/settings/subscription-types", "deleted")
}

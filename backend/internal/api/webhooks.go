package api

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/hooks"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
)

// The account's webhooks (README "Webhooks"): signed POSTs of the events
// each asks for, with a delivery log. Admins only, even to read: they
// carry visitors' messages.
func (a *API) registerWebhooks(v1 *gin.RouterGroup) {
	v1.GET("/webhooks", a.listWebhooks)
	v1.POST("/webhooks", a.createWebhook)
	v1.GET("/webhooks/:id", a.getWebhook)
	v1.PATCH("/webhooks/:id", a.patchWebhook)
	v1.DELETE("/webhooks/:id", a.deleteWebhook)
	v1.GET("/webhooks/:id/deliveries", a.webhookDeliveries)
}

type webhookInput struct {
	URL     *string   `json:"url"`
	Events  *[]string `json:"events"`
	Enabled *bool     `json:"enabled"`
}

// check validates the fields given (all of them when creating).
func (in *webhookInput) check(creating bool) problem.Errors {
	var e problem.Errors
	if in.URL != nil || creating {
		raw := ""
		if in.URL != nil {
			raw = strings.TrimSpace(*in.URL)
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(raw) > maxWebhookURL || u.User != nil {
			e.Add("url", "must be an http or https URL of at most 2000 characters, without credentials")
		} else {
			s := u.String()
			in.URL = &s
		}
	}
	if in.Events != nil || creating {
		if in.Events == nil || len(*in.Events) == 0 {
			e.Add("events", "name at least one of "+strings.Join(hooks.Events, ", "))
		} else {
			for i, ev := range *in.Events {
				if !slices.Contains(hooks.Events, ev) {
					e.Add("events["+strconv.Itoa(i)+"]", "must be one of "+strings.Join(hooks.Events, ", "))
				}
			}
			ev := slices.Clone(*in.Events)
			slices.Sort(ev)
			ev = slices.Compact(ev)
			in.Events = &ev
		}
	}
	return e
}

func (a *API) listWebhooks(c *gin.Context) {
	ws, err := a.st.Webhooks(c, account(c).ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"webhooks": ws})
}

// createWebhook: POST /webhooks {"url", "events"}. The answer carries the
// signing secret this once.
func (a *API) createWebhook(c *gin.Context) {
	b, ok := body(c)
	if !ok {
		return
	}
	var in webhookInput
	if err := chatflow.DecodeStrict(b, &in); err != nil {
		a.fail(c, err)
		return
	}
	e := in.check(true)
	if in.Enabled != nil && !*in.Enabled {
		e.Add("enabled", "a new webhook is on; switch it off with PATCH")
	}
	if err := e.Err(); err != nil {
		a.fail(c, err)
		return
	}
	w := &store.Webhook{AccountID: account(c).ID, URL: *in.URL, Events: *in.Events, Secret: "whsec_" + store.NewToken()}
	if err := a.st.CreateWebhook(c, w); err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"id": w.ID, "url": w.URL, "events": w.Events, "enabled": w.Enabled,
		"consecutive_failures": 0, "disabled_reason": "", "created_at": w.CreatedAt, "updated_at": w.UpdatedAt, "secret": w.Secret})
}

func (a *API) getWebhook(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	w, err := a.st.WebhookByID(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, w)
}

// patchWebhook: PATCH /webhooks/:id {"url", "events", "enabled"}; switching
// a webhook on again clears its failure count.
func (a *API) patchWebhook(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	w, err := a.st.WebhookByID(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	b, ok := body(c)
	if !ok {
		return
	}
	var in webhookInput
	if err := chatflow.DecodeStrict(b, &in); err != nil {
		a.fail(c, err)
		return
	}
	if err := in.check(false).Err(); err != nil {
		a.fail(c, err)
		return
	}
	if in.URL != nil {
		w.URL = *in.URL
	}
	if in.Events != nil {
		w.Events = *in.Events
	}
	if in.Enabled != nil {
		w.Enabled = *in.Enabled
	}
	if err := a.st.UpdateWebhook(c, w); err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, w)
}

func (a *API) deleteWebhook(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	if err := a.st.DeleteWebhook(c, account(c).ID, id); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// webhookDeliveries: GET /webhooks/:id/deliveries?limit=&cursor= — the
// delivery log, newest first: event, status, attempts, the last HTTP
// status and error, and the times.
func (a *API) webhookDeliveries(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	var e problem.Errors
	limit, before := listQuery(c, &e)
	if err := e.Err(); err != nil {
		a.fail(c, err)
		return
	}
	ds, err := a.st.WebhookDeliveries(c, account(c).ID, id, before, limit+1)
	if err != nil {
		a.fail(c, err)
		return
	}
	ds, next := trimPage(ds, limit, func(d *store.WebhookDelivery) int64 { return d.ID })
	c.JSON(http.StatusOK, gin.H{"deliveries": ds, "next_cursor": next})
}

package api

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
)

// The account's push webhook (README "Push notifications"): where Parley
// posts, signed with the secret, when an app visitor with a push token
// gets team messages while the app is not connected.
func (a *API) registerPush(v1 *gin.RouterGroup) {
	v1.GET("/account/push-webhook", a.getPushWebhook)
	v1.PUT("/account/push-webhook", a.putPushWebhook)
	v1.DELETE("/account/push-webhook", a.deletePushWebhook)
}

// Limits of a push webhook.
const (
	maxWebhookURL    = 2000
	minWebhookSecret = 16
	maxWebhookSecret = 200
)

// pushWebhookOut never shows the secret again: it is set, not read.
func pushWebhookOut(w *store.PushWebhook) gin.H {
	return gin.H{"url": w.URL, "secret_set": w.Secret != "", "updated_at": w.UpdatedAt}
}

func (a *API) getPushWebhook(c *gin.Context) {
	w, err := a.st.PushWebhookOf(c, account(c).ID)
	if errors.Is(err, store.ErrNotFound) {
		problem.Status(c.Writer, http.StatusNotFound, "This account has no push webhook.")
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, pushWebhookOut(w))
}

// putPushWebhook sets the URL and the secret: {"url": "https://...",
// "secret": "..."}. Without a secret a random one is made; the answer
// carries the secret this once.
func (a *API) putPushWebhook(c *gin.Context) {
	b, ok := body(c)
	if !ok {
		return
	}
	var in struct {
		URL    string `json:"url"`
		Secret string `json:"secret"`
	}
	if err := chatflow.DecodeStrict(b, &in); err != nil {
		a.fail(c, err)
		return
	}
	var e problem.Errors
	u, err := url.Parse(strings.TrimSpace(in.URL))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(in.URL) > maxWebhookURL || u.User != nil {
		e.Add("url", "must be an http or https URL of at most 2000 characters, without credentials")
	}
	if in.Secret == "" {
		in.Secret = store.NewToken()
	} else if n := utf8.RuneCountInString(in.Secret); n < minWebhookSecret || n > maxWebhookSecret {
		e.Add("secret", "must be 16 to 200 characters (leave it out to get a random one)")
	}
	if len(e) > 0 {
		problem.Invalid(c.Writer, "Invalid push webhook", e)
		return
	}
	w, err := a.st.SetPushWebhook(c, account(c).ID, u.String(), in.Secret)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := pushWebhookOut(w)
	out["secret"] = w.Secret
	c.JSON(http.StatusOK, out)
}

func (a *API) deletePushWebhook(c *gin.Context) {
	ok, err := a.st.DeletePushWebhook(c, account(c).ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	if !ok {
		problem.Status(c.Writer, http.StatusNotFound, "This account has no push webhook.")
		return
	}
	c.Status(http.StatusNoContent)
}

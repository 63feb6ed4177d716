package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/availability"
	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// siteConfig answers the edge with a site's published chatflows (widget.Config).
// The edge caches it; visitors never reach this endpoint directly.
func (a *API) siteConfig(c *gin.Context) {
	acct, ok := a.site(c)
	if !ok {
		return
	}
	rows, err := a.st.EnabledChatflows(c, acct.ID, chatflow.ChannelWebsite)
	if err != nil {
		a.fail(c, err)
		return
	}
	now := time.Now()
	cfg := widget.Config{Site: acct.PublicID, Chatflows: []widget.ChatflowConfig{}}
	for i := range rows {
		pub, err := a.publish(c, acct, &rows[i], now)
		if err != nil {
			a.fail(c, err)
			return
		}
		cfg.Chatflows = append(cfg.Chatflows, pub)
	}
	// The edge enforces the allowed domains and keeps them out of what
	// pages receive.
	allowed, err := a.st.AllowedDomains(c, acct.ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, struct {
		widget.Config
		AllowedDomains []string `json:"allowed_domains"`
	}{cfg, allowed})
}

// site resolves the :site parameter, answering 404 for an unknown one.
func (a *API) site(c *gin.Context) (*store.Account, bool) {
	acct, err := a.st.AccountBySite(c, c.Param("site"))
	if errors.Is(err, store.ErrNotFound) {
		problem.Status(c.Writer, http.StatusNotFound, "No such site.")
		return nil, false
	}
	if err != nil {
		a.fail(c, err)
		return nil, false
	}
	return acct, true
}

// publish turns a stored chatflow into what a widget or app receives, with
// its heading agent and its availability now (in the chatflow's own
// language: the edge caches one answer for every visitor).
func (a *API) publish(c *gin.Context, acct *store.Account, row *store.ChatflowRow, now time.Time) (widget.ChatflowConfig, error) {
	cf, err := chatflow.FromRow(row)
	if err != nil {
		return widget.ChatflowConfig{}, err
	}
	var agent *store.User
	if cf.Look.Heading.Kind == widget.HeadingAgent {
		agent, _ = a.st.User(c, acct.ID, cf.Look.Heading.AgentID)
	}
	presence, err := availability.Compute(c, a.st, acct, cf, "", now)
	if err != nil {
		return widget.ChatflowConfig{}, err
	}
	return chatflow.Publish(cf, acct, agent, presence), nil
}

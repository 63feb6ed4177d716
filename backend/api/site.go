package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/availability"
	"github.com/parleychat/parley/backend/chatflow"
	"github.com/parleychat/parley/backend/problem"
	"github.com/parleychat/parley/backend/store"
	"github.com/parleychat/parley/widget"
)

// siteConfig answers the edge with a site's published chatflows (widget.Config).
// The edge caches it; visitors never reach this endpoint directly.
func (a *API) siteConfig(c *gin.Context) {
	acct, err := a.st.AccountBySite(c, c.Param("site"))
	if errors.Is(err, store.ErrNotFound) {
		problem.Status(c.Writer, http.StatusNotFound, "No such site.")
		return
	}
	if err != nil {
		a.fail(c, err)
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
		cf, err := chatflow.FromRow(&rows[i])
		if err != nil {
			a.fail(c, err)
			return
		}
		var agent *store.User
		if cf.Look.Heading.Kind == widget.HeadingAgent {
			agent, _ = a.st.User(c, acct.ID, cf.Look.Heading.AgentID)
		}
		// The chatflow's own language: the edge caches one config per site.
		presence, err := availability.Compute(c, a.st, acct, cf, "", now)
		if err != nil {
			a.fail(c, err)
			return
		}
		cfg.Chatflows = append(cfg.Chatflows, chatflow.Publish(cf, acct, agent, presence))
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, cfg)
}

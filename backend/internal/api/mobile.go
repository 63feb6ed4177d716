package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
)

// mobileChatflow answers the edge with the chatflow an app gets for a mobile
// tag: of the site's enabled mobile chatflows with that tag, the one of
// highest priority (the oldest on a tie), published as a
// widget.ChatflowConfig. The edge caches it; apps never reach this endpoint
// directly.
func (a *API) mobileChatflow(c *gin.Context) {
	acct, ok := a.site(c)
	if !ok {
		return
	}
	row, err := a.mobileByTag(c, acct.ID, c.Param("tag"))
	if err != nil {
		a.fail(c, err)
		return
	}
	if row == nil {
		problem.Status(c.Writer, http.StatusNotFound, "No enabled mobile chatflow has this tag.")
		return
	}
	pub, err := a.publish(c, acct, row, time.Now())
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, pub)
}

// mobileByTag returns the enabled mobile chatflow of highest priority with
// tag, or nil. The rows come highest priority first; an account has few
// mobile chatflows, so filtering them here costs less than another query.
func (a *API) mobileByTag(c *gin.Context, accountID int64, tag string) (*store.ChatflowRow, error) {
	rows, err := a.st.EnabledChatflows(c, accountID, chatflow.ChannelMobile)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		if rows[i].MobileTag == tag {
			return &rows[i], nil
		}
	}
	return nil, nil
}

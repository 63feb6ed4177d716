package inbox

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/store"
)

type chatflowsData struct {
	basePage
	Chatflows []store.ChatflowRow
	CanEdit   bool
}

// chatflows lists the account's chatflows; admins and editors may turn
// them on and off (the full editor is the REST API).
func (h *Handler) chatflows(c *gin.Context) {
	cs, err := h.st.Chatflows(c, user(c).AccountID)
	if err != nil {
		h.fail(c, "chatflows", err)
		return
	}
	role := user(c).Role
	h.render(c, http.StatusOK, "chatflows.html", chatflowsData{basePage: h.base(c, "Chatflows"), Chatflows: cs,
		CanEdit: role == store.RoleAdmin || role == store.RoleEditor})
}

// setChatflowEnabled publishes or unpublishes a chatflow (behind
// RequireChatflowEditor). The form carries the version it showed, so a
// change made meanwhile is not overwritten.
func (h *Handler) setChatflowEnabled(c *gin.Context) {
	id, _ := strconv.ParseInt(c.Param("id"), 10, 64)
	version, _ := strconv.ParseInt(c.PostForm("version"), 10, 64)
	row, err := h.st.Chatflow(c, user(c).AccountID, id)
	if errors.Is(err, store.ErrNotFound) {
		h.deny(c, http.StatusNotFound, "There is no such chatflow.")
		return
	}
	if err != nil {
		h.fail(c, "chatflow", err)
		return
	}
	row.Enabled = c.PostForm("enabled") == "1"
	err = h.st.UpdateChatflow(c, row, version)
	if errors.Is(err, store.ErrConflict) {
		h.deny(c, http.StatusConflict, "Someone changed this chatflow meanwhile; go back and reload.")
		return
	}
	if err != nil {
		h.fail(c, "chatflow", err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/inbox/chatflows")
}

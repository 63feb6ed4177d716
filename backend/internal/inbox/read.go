package inbox

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/store"
)

// markRead is POST /inbox/conversations/:id/read (seq: the newest message
// the agent has seen): the page's script sends it while the thread is
// visible and its live socket is not open (the socket's read frame does the
// same), so looking at a thread is never a state change made by a GET.
func (h *Handler) markRead(c *gin.Context) {
	conv, ok := h.conversation(c)
	if !ok {
		return
	}
	seq, err := strconv.ParseInt(c.PostForm("seq"), 10, 64)
	if err != nil || seq <= 0 {
		if wantsJSON(c) {
			c.JSON(http.StatusBadRequest, gin.H{"error": "Name the newest message read (seq)."})
			return
		}
		h.deny(c, http.StatusBadRequest, "Name the newest message read (seq).")
		return
	}
	if _, _, err := h.st.MarkRead(c, conv.ID, store.ReadAgent, min(seq, conv.LastSeq)); err != nil {
		h.fail(c, "read", err)
		return
	}
	if wantsJSON(c) {
		c.Status(http.StatusNoContent)
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/inbox/conversations/%d", conv.ID))
}

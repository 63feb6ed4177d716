package inbox

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// chatflowDraft keeps the editor's unsaved form for the live preview: the
// form is read exactly as a save reads it, REST builds and validates the
// chatflow without saving (dry run), and the result is kept under a random
// id the preview frames name (?draft=). A form REST refuses answers its
// messages; the frames keep showing the last good draft.
func (h *Handler) chatflowDraft(c *gin.Context) {
	d, ok := h.readEditor(c)
	if !ok {
		return
	}
	body, err := d.body()
	if err != nil {
		h.fail(c, "chatflow draft", err)
		return
	}
	path, id, _ := chatflowPath(c)
	res := h.rest(c, "PUT", path+"?dry_run=true", body, 0)
	if !res.OK() {
		c.JSON(res.Status, gin.H{"errors": fromProblem(res.Problem())})
		return
	}
	u := user(c)
	draft, err := h.st.PutChatflowDraft(c, u.AccountID, u.ID, id, res.Body)
	if err != nil {
		h.fail(c, "chatflow draft", err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"id": draft})
}

package inbox

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// chatflowDraft keeps the editor's unsaved form for the live preview.
func (h *Handler) chatflowDraft(c *gin.Context) {
	c.JSON(http.StatusNotImplemented, gin.H{"error": "not yet"})
}

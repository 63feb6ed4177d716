package inbox

import "github.com/gin-gonic/gin"

// chatflowSettings mounts the chatflow list, creation steps and editor.
func (h *Handler) chatflowSettings(g *gin.RouterGroup) {}

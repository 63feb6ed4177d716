package inbox

import "github.com/gin-gonic/gin"

// contentSettings mounts knowledge bases, surveys, bots and subscription types.
func (h *Handler) contentSettings(g *gin.RouterGroup) {}

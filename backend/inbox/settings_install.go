package inbox

import "github.com/gin-gonic/gin"

// installSettings mounts the install page.
func (h *Handler) installSettings(g *gin.RouterGroup) {}

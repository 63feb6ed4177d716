package inbox

import "github.com/gin-gonic/gin"

// imageSettings mounts the brand image upload.
func (h *Handler) imageSettings(g *gin.RouterGroup) {}

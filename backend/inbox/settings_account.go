package inbox

import "github.com/gin-gonic/gin"

// accountSettings mounts the account, users, teams, inboxes and API keys.
func (h *Handler) accountSettings(g *gin.RouterGroup) {}

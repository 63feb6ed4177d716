package inbox

import "github.com/gin-gonic/gin"

// contentSettings mounts knowledge bases, surveys, bots and subscription types.
func (h *Handler) contentSettings(g *gin.RouterGroup) {
	h.kbSettings(g)           // settings_kb.go
	h.surveySettings(g)       // settings_surveys.go
	h.botSettings(g)          // settings_bots.go
	h.subscriptionSettings(g) // settings_subscriptions.go
}

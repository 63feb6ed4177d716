package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/problem"
	"github.com/parleychat/parley/backend/store"
)

// roleKey holds the API key's role in the request context.
//
// API keys carry a role (api_keys.role, migration 0006) rather than an
// owner user: a key outlives the person who made it, and a role says what
// it may do without a user's seat or inboxes. Keys made before roles
// existed were account-wide and stay admin.
const roleKey = "role"

// editsChatflows lets only admin and editor keys through: SPEC 1, "only
// users with the chatflow permission may create or edit".
func editsChatflows(c *gin.Context) {
	role, _ := c.Get(roleKey)
	if role != store.RoleAdmin && role != store.RoleEditor {
		problem.Status(c.Writer, http.StatusForbidden, "This API key has the agent role; only admin and editor keys may change chatflows and surveys.")
		c.Abort()
		return
	}
	c.Next()
}

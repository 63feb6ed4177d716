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

// What each role may change. Every role reads; agents also work
// conversations and tickets (assign, close, reopen), as they do in the inbox.
//
// editsChatflows guards what visitors see (chatflows, surveys, bots,
// knowledge bases, subscription types): admin and editor keys, SPEC 1,
// "only users with the chatflow permission may create or edit".
func editsChatflows(c *gin.Context) {
	role, _ := c.Get(roleKey)
	if role != store.RoleAdmin && role != store.RoleEditor {
		problem.Status(c.Writer, http.StatusForbidden, "This API key has the agent role; only admin and editor keys may change chatflows, surveys, bots, knowledge bases and subscription types.")
		c.Abort()
		return
	}
	c.Next()
}

// administers guards the account itself (its settings, users, inboxes,
// teams, API keys)
// and contacts' personal data (export, erasure): admin keys only. A lower
// key that could make users or keys could make itself an admin.
func administers(c *gin.Context) {
	if role, _ := c.Get(roleKey); role != store.RoleAdmin {
		problem.Status(c.Writer, http.StatusForbidden, "This API key is not an admin key; only admin keys may change the account's settings, users, inboxes, teams, API keys and contacts' data.")
		c.Abort()
		return
	}
	c.Next()
}

package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
)

// roleKey holds the API key's role in the request context.
//
// API keys carry a role (api_keys.role, migration 0006) rather than an
// owner user: a key outlives the person who made it, and a role says what
// it may do without a user's seat or inboxes. Keys made before roles
// existed were account-wide and stay admin.
const roleKey = "role"

// rank orders the roles: a key may call a route whose role ranks at most its own.
var rank = map[string]int{store.RoleAgent: 1, store.RoleEditor: 2, store.RoleAdmin: 3}

// routeRoles is the one table of who may call what: the lowest role for
// every route of /api/v1, keyed by method and path as registered. Every
// role reads, and agents also work conversations and tickets (assign,
// close, reopen, ticket fields), as they do in the inbox; editors also
// change what visitors see (chatflows, surveys, bots, knowledge bases,
// subscription types); only admins change the account itself (settings,
// users, inboxes, teams, API keys) and contacts' personal data (export,
// erasure, subscriptions, identification, which names contacts and mints
// tokens that resume their chats). A lower key that could make users or
// keys could make itself an admin. A route missing here answers 403 to
// every key (authorize), and TestRolesGuardEveryRoute fails.
var routeRoles = map[string]string{
	"GET /api/v1/account":   store.RoleAgent,
	"PATCH /api/v1/account": store.RoleAdmin,
	// The push webhook receives visitors' messages: admins only, even to read.
	"GET /api/v1/account/push-webhook":    store.RoleAdmin,
	"PUT /api/v1/account/push-webhook":    store.RoleAdmin,
	"DELETE /api/v1/account/push-webhook": store.RoleAdmin,
	// Webhooks carry visitors' messages: admins only, even to read.
	"GET /api/v1/webhooks":                store.RoleAdmin,
	"POST /api/v1/webhooks":               store.RoleAdmin,
	"GET /api/v1/webhooks/:id":            store.RoleAdmin,
	"PATCH /api/v1/webhooks/:id":          store.RoleAdmin,
	"DELETE /api/v1/webhooks/:id":         store.RoleAdmin,
	"GET /api/v1/webhooks/:id/deliveries": store.RoleAdmin,

	"GET /api/v1/chatflows":        store.RoleAgent,
	"POST /api/v1/chatflows":       store.RoleEditor,
	"GET /api/v1/chatflows/:id":    store.RoleAgent,
	"PUT /api/v1/chatflows/:id":    store.RoleEditor,
	"PATCH /api/v1/chatflows/:id":  store.RoleEditor,
	"DELETE /api/v1/chatflows/:id": store.RoleEditor,

	"GET /api/v1/inboxes":               store.RoleAgent,
	"POST /api/v1/inboxes":              store.RoleAdmin,
	"GET /api/v1/inboxes/:id":           store.RoleAgent,
	"PATCH /api/v1/inboxes/:id":         store.RoleAdmin,
	"DELETE /api/v1/inboxes/:id":        store.RoleAdmin,
	"GET /api/v1/users":                 store.RoleAgent,
	"POST /api/v1/users":                store.RoleAdmin,
	"GET /api/v1/users/:id":             store.RoleAgent,
	"PATCH /api/v1/users/:id":           store.RoleAdmin,
	"DELETE /api/v1/users/:id":          store.RoleAdmin,
	"POST /api/v1/users/:id/invitation": store.RoleAdmin,
	"GET /api/v1/teams":                 store.RoleAgent,
	"POST /api/v1/teams":                store.RoleAdmin,
	"GET /api/v1/teams/:id":             store.RoleAgent,
	"PATCH /api/v1/teams/:id":           store.RoleAdmin,
	"DELETE /api/v1/teams/:id":          store.RoleAdmin,
	"GET /api/v1/api-keys":              store.RoleAdmin,
	"POST /api/v1/api-keys":             store.RoleAdmin,
	"GET /api/v1/api-keys/:id":          store.RoleAdmin,
	"DELETE /api/v1/api-keys/:id":       store.RoleAdmin,

	"GET /api/v1/conversations":                   store.RoleAgent,
	"GET /api/v1/conversations/:id":               store.RoleAgent,
	"GET /api/v1/conversations/:id/messages":      store.RoleAgent,
	"POST /api/v1/conversations/:id/messages":     store.RoleAgent,
	"POST /api/v1/conversations/:id/assign":       store.RoleAgent,
	"POST /api/v1/conversations/:id/close":        store.RoleAgent,
	"POST /api/v1/conversations/:id/reopen":       store.RoleAgent,
	"GET /api/v1/tickets":                         store.RoleAgent,
	"GET /api/v1/tickets/:id":                     store.RoleAgent,
	"PATCH /api/v1/tickets/:id":                   store.RoleAgent,
	"GET /api/v1/surveys":                         store.RoleAgent,
	"POST /api/v1/surveys":                        store.RoleEditor,
	"GET /api/v1/surveys/:id":                     store.RoleAgent,
	"PATCH /api/v1/surveys/:id":                   store.RoleEditor,
	"DELETE /api/v1/surveys/:id":                  store.RoleEditor,
	"GET /api/v1/surveys/:id/responses":           store.RoleAgent,
	"GET /api/v1/bots":                            store.RoleAgent,
	"POST /api/v1/bots":                           store.RoleEditor,
	"GET /api/v1/bots/:id":                        store.RoleAgent,
	"PUT /api/v1/bots/:id":                        store.RoleEditor,
	"DELETE /api/v1/bots/:id":                     store.RoleEditor,
	"GET /api/v1/bot-templates":                   store.RoleAgent,
	"GET /api/v1/bot-templates/:template":         store.RoleAgent,
	"GET /api/v1/knowledge-bases":                 store.RoleAgent,
	"POST /api/v1/knowledge-bases":                store.RoleEditor,
	"GET /api/v1/knowledge-bases/:id":             store.RoleAgent,
	"PATCH /api/v1/knowledge-bases/:id":           store.RoleEditor,
	"DELETE /api/v1/knowledge-bases/:id":          store.RoleEditor,
	"GET /api/v1/knowledge-bases/:id/categories":  store.RoleAgent,
	"POST /api/v1/knowledge-bases/:id/categories": store.RoleEditor,
	"GET /api/v1/knowledge-bases/:id/articles":    store.RoleAgent,
	"POST /api/v1/knowledge-bases/:id/articles":   store.RoleEditor,
	"GET /api/v1/knowledge-bases/:id/search":      store.RoleAgent,
	"GET /api/v1/kb-categories/:id":               store.RoleAgent,
	"PATCH /api/v1/kb-categories/:id":             store.RoleEditor,
	"DELETE /api/v1/kb-categories/:id":            store.RoleEditor,
	"GET /api/v1/kb-articles/:id":                 store.RoleAgent,
	"PUT /api/v1/kb-articles/:id":                 store.RoleEditor,
	"PATCH /api/v1/kb-articles/:id":               store.RoleEditor,
	"DELETE /api/v1/kb-articles/:id":              store.RoleEditor,

	"GET /api/v1/subscription-types":                  store.RoleAgent,
	"POST /api/v1/subscription-types":                 store.RoleEditor,
	"GET /api/v1/subscription-types/:id":              store.RoleAgent,
	"PUT /api/v1/subscription-types/:id":              store.RoleEditor,
	"PATCH /api/v1/subscription-types/:id":            store.RoleEditor,
	"DELETE /api/v1/subscription-types/:id":           store.RoleEditor,
	"GET /api/v1/consents":                            store.RoleAgent,
	"GET /api/v1/contacts":                            store.RoleAgent,
	"GET /api/v1/contacts/:id":                        store.RoleAgent,
	"GET /api/v1/contacts/:id/export":                 store.RoleAdmin,
	"DELETE /api/v1/contacts/:id":                     store.RoleAdmin,
	"PUT /api/v1/contacts/:id/subscriptions/:type_id": store.RoleAdmin,
	"POST /api/v1/visitor-identification":             store.RoleAdmin,

	// Labels sort the agents' work, seen by no visitor: editors keep the
	// account's set, agents put them on the conversations they work.
	"GET /api/v1/labels":                                store.RoleAgent,
	"POST /api/v1/labels":                               store.RoleEditor,
	"GET /api/v1/labels/:id":                            store.RoleAgent,
	"PATCH /api/v1/labels/:id":                          store.RoleEditor,
	"DELETE /api/v1/labels/:id":                         store.RoleEditor,
	"GET /api/v1/conversations/:id/labels":              store.RoleAgent,
	"PUT /api/v1/conversations/:id/labels/:label_id":    store.RoleAgent,
	"DELETE /api/v1/conversations/:id/labels/:label_id": store.RoleAgent,
	// Reports name each agent's figures: admins only, like the users they are about.
	"GET /api/v1/reports": store.RoleAdmin,

	"GET /api/v1/images":     store.RoleAgent,
	"POST /api/v1/images":    store.RoleEditor,
	"GET /api/v1/images/:id": store.RoleAgent,
}

// authorize answers 403 unless the key's role may call the matched route
// (routeRoles); it runs after authenticate on every /api/v1 route.
func authorize(c *gin.Context) {
	role, _ := c.Get(roleKey)
	r, _ := role.(string)
	need, ok := routeRoles[c.Request.Method+" "+c.FullPath()]
	switch {
	case !ok:
		problem.Status(c.Writer, http.StatusForbidden, "No API key may call this endpoint.")
	case rank[r] >= rank[need]:
		c.Next()
		return
	case need == store.RoleAdmin:
		problem.Status(c.Writer, http.StatusForbidden, "This API key is not an admin key; only admin keys may change the account's settings, users, inboxes, teams, API keys and contacts' data.")
	default:
		problem.Status(c.Writer, http.StatusForbidden, "This API key has the agent role; only admin and editor keys may change chatflows, surveys, bots, knowledge bases and subscription types.")
	}
	c.Abort()
}

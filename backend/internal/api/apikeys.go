package api

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
)

// registerAPIKeys mounts /api-keys: making, listing and revoking the
// account's API keys. There is no PATCH: a key's role is changed by making
// a new key and revoking the old one, so no secret ever gains rights.
func (a *API) registerAPIKeys(v1 *gin.RouterGroup) {
	v1.GET("/api-keys", a.listAPIKeys)
	v1.POST("/api-keys", a.createAPIKey)
	v1.GET("/api-keys/:id", a.getAPIKey)
	v1.DELETE("/api-keys/:id", a.deleteAPIKey)
}

// apiKeyInput is the writable part of a key. The secret is not: it is
// always generated, so it is never chosen or reused by a client.
type apiKeyInput struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// newAPIKey is a key as POST answers it: the only time its secret is shown.
type newAPIKey struct {
	*store.APIKey
	Secret string `json:"secret"`
}

// listAPIKeys: GET /api-keys?limit=&cursor= — newest first.
func (a *API) listAPIKeys(c *gin.Context) {
	var e problem.Errors
	limit, cursor := listQuery(c, &e)
	if err := e.Err(); err != nil {
		a.fail(c, err)
		return
	}
	ks, err := a.st.APIKeys(c, account(c).ID, cursor, limit+1)
	if err != nil {
		a.fail(c, err)
		return
	}
	ks, next := trimPage(ks, limit, func(k *store.APIKey) int64 { return k.ID })
	c.JSON(http.StatusOK, gin.H{"api_keys": ks, "next_cursor": next})
}

func (a *API) getAPIKey(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	k, err := a.st.APIKey(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, k)
}

// createAPIKey: POST /api-keys {"name", "role"}; role defaults to agent,
// the least a key can do, as for users.
func (a *API) createAPIKey(c *gin.Context) {
	b, ok := body(c)
	if !ok {
		return
	}
	in := apiKeyInput{Role: store.RoleAgent}
	if err := chatflow.DecodeStrict(b, &in); err != nil {
		a.fail(c, err)
		return
	}
	var e problem.Errors
	checkName(&e, "name", in.Name)
	if !slices.Contains([]string{store.RoleAdmin, store.RoleEditor, store.RoleAgent}, in.Role) {
		e.Add("role", `must be one of: "admin", "editor", "agent"`)
	}
	if err := e.Err(); err != nil {
		a.fail(c, err)
		return
	}
	k, secret, err := a.st.NewAPIKey(c, account(c).ID, in.Name, in.Role)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/api-keys/"+strconv.FormatInt(k.ID, 10))
	c.Header("Cache-Control", "no-store") // a secret
	c.JSON(http.StatusCreated, newAPIKey{k, secret})
}

// deleteAPIKey revokes a key at once. A key may revoke itself: the request
// was authenticated before the row went, so it still completes.
func (a *API) deleteAPIKey(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	if err := a.st.DeleteAPIKey(c, account(c).ID, id); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

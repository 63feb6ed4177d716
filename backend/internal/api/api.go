// Package api is the admin REST API under /api/v1: JSON in and out, API
// keys as Bearer tokens, RFC 9457 problem documents for every error.
package api

import (
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/mail"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/backend/internal/textcheck"
)

// MaxBodyBytes is the largest request body the API reads.
const MaxBodyBytes = 1 << 20

// API serves the admin REST API.
type API struct {
	st         *store.Store
	linkSecret string

	// PublicURL is the edge's public address invitation links are built
	// on; empty uses the address each request came to.
	PublicURL string
	// Mail, when set, emails each invitation to its user (written with the
	// invitation); the link is also in the answer either way.
	Mail *mail.Service
	// InvitationTTL is how long an invitation link works (0: 7 days).
	InvitationTTL time.Duration
	// ImageMaxBytes caps an uploaded brand image (BRAND_IMAGE_MAX_BYTES;
	// 0: DefaultImageMaxBytes).
	ImageMaxBytes int64
}

// New returns the API on st. linkSecret guards the /internal endpoints the edge calls.
func New(st *store.Store, linkSecret string) *API { return &API{st: st, linkSecret: linkSecret} }

// Register mounts the API's routes on r.
func (a *API) Register(r *gin.Engine) {
	v1 := r.Group("/api/v1", checkText, a.authenticate, authorize) // roles.go: who may call what
	a.routes(v1, r)

	r.GET("/internal/sites/:site/config", a.internal, a.siteConfig)
	r.GET("/internal/sites/:site/mobile/:tag", a.internal, a.mobileChatflow)
	r.GET("/internal/sites/:site/images/:id", a.internal, a.siteImage)
	r.POST("/internal/origins-seen", a.internal, a.originsSeen)
	r.NoRoute(func(c *gin.Context) {
		if strings.HasPrefix(c.Request.URL.Path, "/api/") {
			problem.Status(c.Writer, http.StatusNotFound, "No such endpoint.")
			return
		}
		c.String(http.StatusNotFound, "not found")
	})
}

// routes mounts the /api/v1 routes on v1 and the public reads that go
// with them on r.
func (a *API) routes(v1 *gin.RouterGroup, r *gin.Engine) {
	v1.GET("/account", a.getAccount)
	v1.PATCH("/account", a.patchAccount)

	v1.GET("/chatflows", a.listChatflows)
	v1.POST("/chatflows", a.createChatflow)
	v1.GET("/chatflows/:id", a.getChatflow)
	v1.PUT("/chatflows/:id", a.replaceChatflow)
	v1.PATCH("/chatflows/:id", a.patchChatflow)
	v1.DELETE("/chatflows/:id", a.deleteChatflow)

	v1.GET("/inboxes", a.listInboxes)
	v1.POST("/inboxes", a.createInbox)
	v1.GET("/inboxes/:id", a.getInbox)
	v1.PATCH("/inboxes/:id", a.patchInbox)
	v1.DELETE("/inboxes/:id", a.deleteInbox)

	v1.GET("/users", a.listUsers)
	v1.POST("/users", a.createUser)
	v1.GET("/users/:id", a.getUser)
	v1.PATCH("/users/:id", a.patchUser)
	v1.DELETE("/users/:id", a.deleteUser)
	v1.POST("/users/:id/invitation", a.inviteUser)

	v1.GET("/teams", a.listTeams)
	v1.POST("/teams", a.createTeam)
	v1.GET("/teams/:id", a.getTeam)
	v1.PATCH("/teams/:id", a.patchTeam)
	v1.DELETE("/teams/:id", a.deleteTeam)

	a.registerConversations(v1)
	a.registerKB(v1, r)
	a.registerBots(v1)
	a.registerSurveys(v1)
	a.registerPrivacy(v1)
	a.registerPush(v1)
	a.registerWebhooks(v1)
	a.registerAPIKeys(v1)
	a.registerImages(v1)
	a.registerLabels(v1)
	a.registerReports(v1)
}

const accountKey = "account"

// authenticate accepts "Authorization: Bearer <API key>".
func (a *API) authenticate(c *gin.Context) {
	key, ok := bearer(c.Request)
	if !ok {
		c.Header("WWW-Authenticate", `Bearer realm="parley"`)
		problem.Status(c.Writer, http.StatusUnauthorized, "Send an API key as 'Authorization: Bearer <key>'.")
		c.Abort()
		return
	}
	acct, role, err := a.st.APIKeyWithRole(c, key)
	if errors.Is(err, store.ErrNotFound) {
		c.Header("WWW-Authenticate", `Bearer realm="parley", error="invalid_token"`)
		problem.Status(c.Writer, http.StatusUnauthorized, "The API key is not valid.")
		c.Abort()
		return
	}
	if err != nil {
		a.fail(c, err)
		c.Abort()
		return
	}
	c.Set(accountKey, acct)
	c.Set(roleKey, role)
	c.Next()
}

// internal guards endpoints only the edge may call.
func (a *API) internal(c *gin.Context) {
	key, ok := bearer(c.Request)
	if !ok || a.linkSecret == "" || subtle.ConstantTimeCompare([]byte(key), []byte(a.linkSecret)) != 1 {
		problem.Status(c.Writer, http.StatusUnauthorized, "Internal endpoint.")
		c.Abort()
		return
	}
	checkText(c)
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, key, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(key) == "" {
		return "", false
	}
	return strings.TrimSpace(key), true
}

func account(c *gin.Context) *store.Account { return c.MustGet(accountKey).(*store.Account) }

// pathID parses the :id parameter; a malformed id is answered with 404 like an unknown one.
func pathID(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		problem.Status(c.Writer, http.StatusNotFound, "No such object.")
		return 0, false
	}
	return id, true
}

// body reads the request body, refusing non-JSON and oversized bodies.
func body(c *gin.Context) ([]byte, bool) {
	if ct := c.ContentType(); ct != "application/json" && ct != "application/merge-patch+json" {
		problem.Status(c.Writer, http.StatusUnsupportedMediaType, "Send JSON with 'Content-Type: application/json'.")
		return nil, false
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		problem.Status(c.Writer, http.StatusRequestEntityTooLarge, "The body is larger than "+strconv.Itoa(MaxBodyBytes)+" bytes.")
		return nil, false
	}
	if err != nil {
		problem.Status(c.Writer, http.StatusBadRequest, "Could not read the body.")
		return nil, false
	}
	if field, ok := textcheck.JSON(b); !ok {
		problem.Invalid(c.Writer, "Invalid input", problem.Errors{{Field: field, Message: textcheck.Problem}})
		return nil, false
	}
	return b, true
}

// checkText refuses a request whose query or path parameters are not valid
// text (invalid UTF-8, a NUL), naming the parameter; bodies are checked
// where they are read (body).
func checkText(c *gin.Context) {
	name, ok := textcheck.Values(c.Request.URL.Query())
	for _, p := range c.Params {
		if ok && !textcheck.Valid(p.Value) {
			name, ok = p.Key, false
		}
	}
	if !ok {
		problem.Invalid(c.Writer, "Invalid input", problem.Errors{{Field: name, Message: textcheck.Problem}})
		c.Abort()
		return
	}
	c.Next()
}

// fail answers an error from the layers below.
func (a *API) fail(c *gin.Context, err error) {
	var fe problem.Errors
	switch {
	case errors.As(err, &fe):
		problem.Invalid(c.Writer, "Invalid input", fe)
	case errors.Is(err, store.ErrNotFound):
		problem.Status(c.Writer, http.StatusNotFound, "No such object.")
	case errors.Is(err, store.ErrStale):
		problem.Status(c.Writer, http.StatusPreconditionFailed, "It changed since the version in If-Match; fetch it again.")
	case errors.Is(err, store.ErrLastAdminKey):
		problem.Status(c.Writer, http.StatusConflict, "This is the account's last admin key; make another admin key before revoking it.")
	case errors.Is(err, store.ErrConflict):
		problem.Status(c.Writer, http.StatusConflict, "This conflicts with an existing object (a duplicate name or email, or an object still in use).")
	default:
		slog.Error("api", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
		problem.Status(c.Writer, http.StatusServiceUnavailable, "The service is temporarily unavailable; nothing was changed. Try again.")
	}
}

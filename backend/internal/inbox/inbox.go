// Package inbox is the agents' side of Parley: server-rendered pages to sign
// in, see the open conversations of one's inboxes, read a thread and reply,
// plus a WebSocket that pushes new messages and list changes to the pages.
//
// The pages are plain HTML forms that work without JavaScript; the one small
// script (public/inbox/inbox.js) only adds live updates and sending without a
// page reload. Every text shown comes through html/template, so visitor and
// agent text is always escaped.
package inbox

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/api"
	"github.com/parleychat/parley/backend/internal/chat"
	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/backend/internal/mail"
	"github.com/parleychat/parley/backend/internal/presence"
	"github.com/parleychat/parley/backend/internal/store"
)

// Defaults for Config.
const (
	DefaultSessionLifetime = 12 * time.Hour
	DefaultThreadPageSize  = 50  // messages per thread page; older ones behind a link
	DefaultListLimit       = 200 // conversations on the list page
	DefaultMaxTextRunes    = 4000
	// Sign-in throttling: at most this many failures per email and client
	// address pair, and per client address whatever the email, within
	// DefaultLoginWindow. Never per email alone: anyone could then lock
	// any agent out.
	DefaultLoginMaxFailures      = 5
	DefaultLoginMaxFailuresPerIP = 30
	DefaultLoginWindow           = 15 * time.Minute
)

// Config holds the inbox's settings; zero values take the defaults.
type Config struct {
	// SessionLifetime is how long a sign-in lasts (default 12h).
	SessionLifetime time.Duration
	// SecureCookies sets the Secure flag on every cookie; without it a
	// cookie is Secure when its request came over HTTPS.
	SecureCookies bool
	// ThreadPageSize is how many messages a thread page shows (default 50).
	ThreadPageSize int
	// ListLimit caps the conversations on the list page (default 200).
	ListLimit int
	// MaxTextRunes limits a reply's length (default 4000, the widget's limit).
	MaxTextRunes int
	// OriginPatterns lists extra hosts (coder/websocket patterns, e.g.
	// "chat.example.com") whose pages may open the live socket when they
	// differ from the Host the backend sees.
	OriginPatterns []string
	// MaxAttachmentBytes is the largest file an agent may send (default
	// chat.DefaultMaxAttachmentBytes, the visitors' limit).
	MaxAttachmentBytes int64
	// AttachmentTypes are the MIME types agents may send, judged by content
	// (default chat.DefaultAttachmentTypes).
	AttachmentTypes []string
	// LoginMaxFailures refuses sign-in to an email from a client address
	// with that many failures of the pair within LoginWindow (the same
	// email from another address is not refused); LoginMaxFailuresPerIP
	// refuses an address with that many failures for any emails.
	LoginMaxFailures      int
	LoginMaxFailuresPerIP int
	LoginWindow           time.Duration
	// Logger receives errors; nil uses slog.Default().
	Logger *slog.Logger
	// PublicURL is the edge's public address, for the script tag the setup
	// page shows; empty uses the address the request came to.
	PublicURL string
	// Mail sends "forgot password" links and learns which agents have an
	// inbox page open (no email news for them); nil: neither.
	Mail *mail.Service
	// REST is the API called in-process by the console's forms; nil shows
	// the console but refuses every save.
	REST *api.Local
	// Presence learns of every inbox socket, so that agents with no inbox
	// page open turn away; nil: status changes only by hand.
	Presence *presence.Tracker
}

func (c Config) withDefaults() Config {
	if c.SessionLifetime <= 0 {
		c.SessionLifetime = DefaultSessionLifetime
	}
	if c.ThreadPageSize <= 0 {
		c.ThreadPageSize = DefaultThreadPageSize
	}
	if c.ListLimit <= 0 {
		c.ListLimit = DefaultListLimit
	}
	if c.MaxTextRunes <= 0 {
		c.MaxTextRunes = DefaultMaxTextRunes
	}
	if c.MaxAttachmentBytes <= 0 {
		c.MaxAttachmentBytes = chat.DefaultMaxAttachmentBytes
	}
	if c.LoginMaxFailures <= 0 {
		c.LoginMaxFailures = DefaultLoginMaxFailures
	}
	if c.LoginMaxFailuresPerIP <= 0 {
		c.LoginMaxFailuresPerIP = DefaultLoginMaxFailuresPerIP
	}
	if c.LoginWindow <= 0 {
		c.LoginWindow = DefaultLoginWindow
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Handler serves the inbox pages, the live socket and the inbox's assets.
type Handler struct {
	st     *store.Store
	bus    *events.Bus
	cfg    Config
	log    *slog.Logger
	assets *assets
	pages  map[string]*template.Template
	rows   *rowFeed // the live sockets' shared row reads
}

// New returns a Handler on st. bus delivers change notices for the live
// socket; with a nil bus the socket polls the database once a second.
func New(st *store.Store, bus *events.Bus, cfg Config) *Handler {
	cfg = cfg.withDefaults()
	h := &Handler{st: st, bus: bus, cfg: cfg, log: cfg.Logger}
	h.rows = newRowFeed(st, cfg.Logger, bus)
	h.assets = loadAssets()
	h.pages = parsePages(h.assets)
	return h
}

// Register mounts the inbox on r: /inbox/..., and /static/inbox/... for its assets.
func (h *Handler) Register(r *gin.Engine) {
	r.GET("/static/inbox/*file", h.assets.serve)

	g := r.Group("/inbox", securityHeaders, checkText)
	g.GET("/login", h.loginPage)
	g.POST("/login", h.login)
	g.GET("/invite/:token", h.invitePage)
	g.POST("/invite/:token", h.acceptInvite)
	g.GET("/forgot", h.forgotPage)
	g.POST("/forgot", h.forgot)
	g.GET("/reset/:token", h.resetPage)
	g.POST("/reset/:token", h.reset)
	r.GET("/setup", securityHeaders, checkText, h.setupPage)
	r.POST("/setup", securityHeaders, checkText, h.setup)

	authed := g.Group("", h.requireSession)
	authed.GET("", h.list)
	authed.GET("/ws", h.live)
	authed.GET("/conversations/:id", h.thread)
	authed.POST("/logout", h.requireCSRF, h.logout)
	authed.POST("/conversations/:id/messages", h.requireCSRF, h.reply)
	authed.POST("/conversations/:id/read", h.requireCSRF, h.markRead)
	authed.POST("/conversations/:id/attachments", h.limitUpload, h.requireCSRF, h.upload)
	authed.POST("/conversations/:id/assign", h.requireCSRF, h.assign)
	authed.POST("/conversations/:id/close", h.requireCSRF, h.closeConv)
	authed.POST("/conversations/:id/reopen", h.requireCSRF, h.reopen)
	authed.POST("/conversations/:id/ticket", h.requireCSRF, h.ticket)
	authed.GET("/conversations/:id/transcript", h.transcript)
	authed.GET("/attachments/:id", h.download)
	authed.POST("/me/status", h.requireCSRF, h.status)
	authed.GET("/account", h.account)
	authed.POST("/account/profile", h.requireCSRF, h.updateProfile)
	authed.POST("/account/password", h.requireCSRF, h.changePassword)
	authed.POST("/account/email", h.requireCSRF, h.saveMailPref)
	authed.GET("/replies", h.replies)
	authed.POST("/replies", h.requireCSRF, h.createReply)
	authed.GET("/replies/:id/edit", h.editReply)
	authed.POST("/replies/:id", h.requireCSRF, h.updateReply)
	authed.POST("/replies/:id/delete", h.requireCSRF, h.deleteReply)
	authed.GET("/surveys", h.surveys)
	authed.GET("/surveys/:id", h.surveyPage)
	authed.GET("/chatflows", h.chatflows)
	authed.POST("/chatflows/:id/enabled", RequireChatflowEditor, h.requireCSRF, h.setChatflowEnabled)
	authed.GET("/chatflows/:id/preview/*part", RequireChatflowEditor, h.preview)
	h.registerSettings(authed)
	h.registerLabels(authed)  // labels.go
	h.registerReports(authed) // reports.go
}

// securityHeaders keeps the pages out of frames and caches and lets them
// run only their own script and style.
func securityHeaders(c *gin.Context) {
	hd := c.Writer.Header()
	hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
}

//go:embed templates/*.html
var templateFS embed.FS

// parsePages builds one template set per page on the shared layout.
func parsePages(as *assets) map[string]*template.Template {
	funcs := template.FuncMap{
		"asset":    as.url,
		"clock":    func(t time.Time) string { return t.UTC().Format("15:04") },
		"stamp":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"when":     when,
		"preview":  preview,
		"date":     stampDate,
		"size":     humanSize,
		"eq64":     func(a *int64, b int64) bool { return a != nil && *a == b },
		"fielderr": fieldError,
		"linkify":  linkify,
		"isImage":  isInlineImage,
		"initials": initials,
		"badge":    unreadBadge,
	}
	// Partials (templates/_*.html) are shared by every page (the workspace's
	// "threadpane" is also rendered alone, for a switch); every other
	// template but the preview's stand-alone one is a page on the layout.
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_*.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, p := range names {
		name := path.Base(p)
		if name == "layout.html" || name == "preview.html" || strings.HasPrefix(name, "_") {
			continue
		}
		pages[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, p))
	}
	return pages
}

// render writes page name with data and status; a template error is a 500
// rather than half a page.
func (h *Handler) render(c *gin.Context, status int, name string, data any) {
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, "layout.html", data); err != nil {
		h.log.Error("inbox: render", "page", name, "err", err)
		c.String(http.StatusInternalServerError, "The page could not be shown.")
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// fail answers an unexpected error without showing its details.
func (h *Handler) fail(c *gin.Context, where string, err error) {
	h.log.Error("inbox: "+where, "err", err)
	if wantsJSON(c) {
		c.JSON(http.StatusInternalServerError, gin.H{"error": "Something went wrong on our side; try again."})
		return
	}
	c.String(http.StatusInternalServerError, "Something went wrong on our side; try again.")
}

// wantsJSON reports whether the request came from the page's script.
func wantsJSON(c *gin.Context) bool {
	return bytes.Contains([]byte(c.GetHeader("Accept")), []byte("application/json"))
}

// when renders a time as a clock for today's times, else as a date (UTC).
func when(t time.Time) string {
	t = t.UTC()
	now := time.Now().UTC()
	if t.Year() == now.Year() && t.YearDay() == now.YearDay() {
		return t.Format("15:04")
	}
	if t.Year() == now.Year() {
		return t.Format("Jan 2")
	}
	return t.Format("Jan 2, 2006")
}

// preview shortens a message for the list.
func preview(s string) string {
	const max = 140
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max-1]) + "…"
}

// humanSize writes a file size for people.
func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	case n >= 1<<10:
		return strconv.FormatInt((n+512)>>10, 10) + " KB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

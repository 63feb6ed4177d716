package inbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/availability"
	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// The chatflow preview: /inbox/chatflows/:id/preview/ shows the
// real widget, with the chatflow's look, language and texts, on a desktop,
// a tablet and a mobile sized frame, before it is published. Each frame is
// /preview/frame, a bare host page with the ordinary script tag pointing the
// widget at /preview/config: the chatflow as the edge would publish it, also
// when unpublished, with targeting and triggers left out so it always shows.
// Only admins and editors see it (Register puts RequireChatflowEditor first).
//
// The console's editor shows the same frames beside its form, from the
// unsaved settings: ?draft= names a draft the editor kept (validated by
// REST, not saved), ?state= forces a presence (available, away, offline,
// at_capacity), ?consent=0 leaves the consent banners out, ?prompt=0 shows
// the launcher without the welcome prompt, and ?app=1 frames a mobile
// chatflow as an app screen: the chat open, full-screen.

var previewPages = template.Must(template.New("preview.html").Funcs(template.FuncMap{"half": func(n int) int { return n / 2 }}).
	ParseFS(templateFS, "templates/preview.html"))

// previewSizes are the frames: name, width and height in CSS pixels.
var previewSizes = []struct {
	Name          string
	Width, Height int
}{{"Desktop", 1280, 800}, {"Tablet", 820, 1180}, {"Mobile", 390, 844}}

// preview serves the three parts under /inbox/chatflows/:id/preview/*part.
func (h *Handler) preview(c *gin.Context) {
	id, _ := strconv.ParseInt(c.Param("id"), 10, 64)
	row, err := h.st.Chatflow(c, user(c).AccountID, id)
	if errors.Is(err, store.ErrNotFound) {
		h.deny(c, http.StatusNotFound, "There is no such chatflow.")
		return
	}
	if err != nil {
		h.fail(c, "chatflow", err)
		return
	}
	acct, err := h.st.Account(c, user(c).AccountID)
	if err != nil {
		h.fail(c, "account", err)
		return
	}
	hd := c.Writer.Header()
	switch c.Param("part") {
	case "/", "":
		hd.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
		sizes, app := previewSizes, ""
		if row.Channel == chatflow.ChannelMobile {
			// A mobile chatflow shows in an app: one phone-sized screen.
			sizes, app = previewSizes[2:], "?app=1"
		}
		h.previewPage(c, "page", map[string]any{"Name": row.Name, "ID": row.ID, "Sizes": sizes, "Published": row.Enabled, "App": app})
	case "/frame":
		// The widget needs WebAssembly and its inline Shadow DOM styles;
		// only the inbox's own pages may frame this one.
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https: http:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'self'")
		hd.Set("X-Frame-Options", "SAMEORIGIN")
		q := url.Values{}
		for _, k := range []string{"draft", "state", "consent", "prompt"} {
			if v := c.Query(k); v != "" {
				q.Set(k, v)
			}
		}
		config := "/inbox/chatflows/" + strconv.FormatInt(row.ID, 10) + "/preview/config"
		if len(q) > 0 {
			config += "?" + q.Encode()
		}
		h.previewPage(c, "frame", map[string]any{"Site": acct.PublicID, "ID": row.ID, "Config": config,
			"App": c.Query("app") == "1", "AppJS": h.assets.url("preview-frame.js")})
	case "/config":
		cf, err := chatflow.FromRow(row)
		if err != nil {
			h.fail(c, "chatflow", err)
			return
		}
		if id := c.Query("draft"); id != "" {
			doc, err := h.st.ChatflowDraft(c, user(c).ID, row.ID, id)
			if errors.Is(err, store.ErrNotFound) {
				h.deny(c, http.StatusNotFound, "The preview draft has expired; change a field or reload the editor.")
				return
			}
			if err == nil {
				err = json.Unmarshal(doc, cf)
			}
			if err != nil {
				h.fail(c, "chatflow draft", err)
				return
			}
		}
		var agent *store.User
		if cf.Look.Heading.Kind == widget.HeadingAgent {
			agent, _ = h.st.User(c, acct.ID, cf.Look.Heading.AgentID)
		}
		var presence widget.Presence
		switch s := c.Query("state"); s {
		case widget.StateAvailable, widget.StateAway, widget.StateOffline, widget.StateAtCapacity:
			presence = availability.Preview(acct, cf, s, time.Now())
		default:
			if presence, err = availability.Compute(c, h.st, acct, cf, "", time.Now()); err != nil {
				h.fail(c, "availability", err)
				return
			}
		}
		pub := chatflow.Publish(cf, acct, agent, presence)
		// Shown on every page of every frame, at once, with its prompt.
		pub.Channel, pub.Targeting = widget.ChannelWebsite, widget.Targeting{}
		pub.Display = widget.Display{Desktop: widget.DisplayPrompt, Mobile: widget.DisplayPrompt}
		if c.Query("prompt") == "0" {
			pub.Display = widget.Display{Desktop: widget.DisplayLauncherOnly, Mobile: widget.DisplayLauncherOnly}
		}
		if c.Query("consent") == "0" {
			pub.Consents = widget.Consents{}
		}
		pub.Presence.Hide = false
		c.JSON(http.StatusOK, widget.Config{Site: acct.PublicID, Chatflows: []widget.ChatflowConfig{pub}})
	default:
		h.deny(c, http.StatusNotFound, "There is no such page.")
	}
}

func (h *Handler) previewPage(c *gin.Context, name string, data any) {
	var buf bytes.Buffer
	if err := previewPages.ExecuteTemplate(&buf, name, data); err != nil {
		h.fail(c, "preview", err)
		return
	}
	c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
}

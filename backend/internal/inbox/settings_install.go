package inbox

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/onboarding"
)

// The install page: everything an owner puts on their site or in their
// app, with the account's own site key and the edge's public address
// filled in, and where the chat was last seen live. The CSP lines are the
// setup page's (onboarding.CSP): one home.

// installSettings mounts the install page.
func (h *Handler) installSettings(g *gin.RouterGroup) {
	g.GET("/install", h.installPage)
}

// installPage is the install page's data.
type installPage struct {
	settingsPage
	Site      string
	ScriptTag string
	SPA       string
	CSP       []string
	Domains   []string
	Mobile    []mobileTag
	Seen      []seenOrigin
}

// mobileTag is one mobile chatflow with the SDK call that opens it.
type mobileTag struct {
	Name, Tag, Snippet string
	Enabled            bool
}

// seenOrigin is a page origin the widget loaded on, and when last.
type seenOrigin struct {
	Origin   string
	At       string // in the account's time zone
	DateTime string // RFC 3339, for <time>
}

func (h *Handler) installPage(c *gin.Context) {
	u := user(c)
	acct, err := h.st.Account(c, u.AccountID)
	if err != nil {
		h.fail(c, "install page", err)
		return
	}
	base := onboarding.Base(h.cfg.PublicURL, c.Request)
	d := &installPage{settingsPage: h.settingsBase(c, "install", "Install"), Site: acct.PublicID,
		ScriptTag: onboarding.ScriptTag(base, acct.PublicID), SPA: spaSnippet(base, acct.PublicID), CSP: onboarding.CSP(base)}
	if d.Domains, err = h.st.AllowedDomains(c, acct.ID); err != nil {
		h.fail(c, "install page", err)
		return
	}
	tags, err := h.st.MobileTags(c, acct.ID)
	if err != nil {
		h.fail(c, "install page", err)
		return
	}
	for _, f := range tags {
		d.Mobile = append(d.Mobile, mobileTag{Name: f.Name, Tag: f.Tag, Enabled: f.Enabled, Snippet: sdkSnippet(base, acct.PublicID, f.Tag)})
	}
	seen, err := h.st.SiteOrigins(c, acct.ID)
	if err != nil {
		h.fail(c, "install page", err)
		return
	}
	loc, err := time.LoadLocation(acct.Timezone)
	if err != nil {
		loc = time.UTC
	}
	for _, s := range seen {
		d.Seen = append(d.Seen, seenOrigin{Origin: s.Origin, At: s.LastSeen.In(loc).Format("2 Jan 2006 15:04:05 MST"),
			DateTime: s.LastSeen.UTC().Format(time.RFC3339)})
	}
	h.render(c, http.StatusOK, "settings_install.html", d)
}

// spaSnippet is what a single-page app adds to the tag: calls queued
// until the widget runs (window.parleyOnReady), the chatflow picked again
// after each client-side navigation.
func spaSnippet(base, site string) string {
	return strings.Join([]string{
		`<script>`,
		`  // Optional: load the chat when your app says so, not at once.`,
		`  window.ParleySettings = { loadImmediately: false };`,
		`  window.parleyOnReady = window.parleyOnReady || [];`,
		`</script>`,
		onboarding.ScriptTag(base, site),
		`<script>`,
		`  // Once your app has started (with loadImmediately: false):`,
		`  parleyOnReady.push(function () { Parley.load(); });`,
		`  // After every client-side route change, pick the chatflow for the new URL:`,
		`  parleyOnReady.push(function () { Parley.refresh(); });`,
		`  // When a visitor signs out of your app, take the chat off the page:`,
		`  parleyOnReady.push(function () { Parley.remove(); });`,
		`</script>`,
	}, "\n")
}

// sdkSnippet is the Go SDK call that opens a mobile chatflow by its tag.
func sdkSnippet(base, site, tag string) string {
	q := func(s string) string { return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"` }
	return strings.Join([]string{
		`import "github.com/parleychat/parley/widget/client"`,
		``,
		`cf, err := client.Resolve(` + q(strings.TrimRight(base, "/")) + `, ` + q(site) + `, ` + q(tag) + `)`,
		`if err != nil {`,
		`	// no enabled mobile chatflow has this tag (or the edge is unreachable)`,
		`}`,
		`chat, err := cf.NewChat(listener) // listener: your client.Listener`,
	}, "\n")
}

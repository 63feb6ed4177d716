package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
)

// Where the tag is live: each edge batches the Origin of the pages whose
// widgets fetched a site's config and reports them here every few seconds
// (POST /internal/origins-seen); the console's install page lists them.

// maxOriginReport bounds one report.
const maxOriginReport = 5000

var siteKeyShape = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// originsSeen stores an edge's report: {"seen": [{"site", "origin", "at"}]}.
// Entries that are no page origin are skipped; times to come count as now.
func (a *API) originsSeen(c *gin.Context) {
	b, ok := body(c)
	if !ok {
		return
	}
	var in struct {
		Seen []store.OriginSeen `json:"seen"`
	}
	if err := json.Unmarshal(b, &in); err != nil || len(in.Seen) > maxOriginReport {
		problem.Status(c.Writer, http.StatusBadRequest, "Send {\"seen\": [{\"site\", \"origin\", \"at\"}]}, at most 5000 entries.")
		return
	}
	now := time.Now()
	keep := in.Seen[:0]
	for _, s := range in.Seen {
		if !siteKeyShape.MatchString(s.Site) || !PageOrigin(s.Origin) {
			continue
		}
		if s.At.IsZero() || s.At.After(now) {
			s.At = now
		}
		keep = append(keep, s)
	}
	if err := a.st.RecordOrigins(c, keep); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// PageOrigin reports whether o is a web page's origin as browsers send it:
// http(s)://host[:port], nothing after.
func PageOrigin(o string) bool {
	if len(o) > 200 {
		return false
	}
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil &&
		u.Path == "" && u.RawQuery == "" && u.Fragment == "" && !u.ForceQuery && u.Scheme+"://"+u.Host == o
}

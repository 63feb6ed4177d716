package edge

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/parleychat/parley/widget"
)

// mobileTag is the shape of a mobile tag (backend/internal/chatflow validates the
// same); anything else is unknown without asking the backend.
var mobileTag = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,100}$`)

// mobileChatflows caches GET /v1/sites/{site}/mobile/{tag}: the chatflow an
// app gets for a mobile tag, one entry per site and tag.
var mobileChatflows = cacheSource{
	key: func(r *http.Request) (string, bool) {
		site, tag := r.PathValue("site"), r.PathValue("tag")
		// "/" can be in neither, so the pair is an unambiguous key.
		return site + "/" + tag, siteKey.MatchString(site) && mobileTag.MatchString(tag)
	},
	path: func(key string) string {
		site, tag, _ := strings.Cut(key, "/")
		return "/internal/sites/" + site + "/mobile/" + url.PathEscape(tag)
	},
	reencode: func(key string, raw []byte) ([]byte, error) {
		// Decoding checks the backend keeps to the contract, as for configs.
		var cf widget.ChatflowConfig
		if err := json.Unmarshal(raw, &cf); err != nil {
			return nil, fmt.Errorf("backend mobile chatflow for %q: %w", key, err)
		}
		if cf.ID == "" {
			return nil, fmt.Errorf("backend mobile chatflow for %q has no id", key)
		}
		return json.Marshal(cf)
	},
	missing: "no enabled mobile chatflow has this tag on this site",
}

// NewMobileCache returns the cache behind GET /v1/sites/{site}/mobile/{tag}:
// the enabled mobile chatflow of highest priority with that tag, as a
// widget.ChatflowConfig, with the site configs' TTLs, ETags and stale
// serving while the backend is down.
func NewMobileCache(backendURL, secret string, s Settings) *ConfigCache {
	return newCache(backendURL, secret, s, mobileChatflows)
}

package edge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parleychat/parley/widget"
)

// Limits of the public knowledge-base reads.
const (
	// KBMaxEntries bounds the knowledge-base cache: searches are open-ended,
	// so past it expired entries go first, then any, at random.
	KBMaxEntries = 4096
	// KBMaxQueryChars is the longest search (the backend's kb.MaxQueryChars).
	KBMaxQueryChars = 200
	kbMaxResults    = 50
	kbMaxOffset     = 100000 // the backend's api.MaxTitlesOffset
)

var (
	kbNumber = regexp.MustCompile(`^[1-9][0-9]{0,17}$`)
	kbLang   = regexp.MustCompile(`^[a-z]{2}$`)
)

// KBCache serves a site's knowledge bases to the widget's Help tab:
//
//	GET /v1/sites/{site}/kb/{kb}/categories[?language=nl]
//	GET /v1/sites/{site}/kb/{kb}/articles/{article}
//	GET /v1/sites/{site}/kb/{kb}/search?q=…[&language=nl][&limit=10]
//	GET /v1/sites/{site}/kb/{kb}/titles?category=ID[&offset=25][&language=nl]
//
// from the backend's /internal/sites/… twins, cached like site configs
// (one backend request per key and TTL, stale copies while the backend is
// down, ETags, gzip). Requests are checked and put in one canonical form
// first, so a bad one never reaches the backend and spellings of one
// search share an entry.
type KBCache struct {
	*ConfigCache
}

// NewKBCache returns the knowledge-base cache fetching from backendURL with the link secret.
func NewKBCache(backendURL, secret string, s Settings) *KBCache {
	src := cacheSource{
		key: func(r *http.Request) (string, bool) {
			key, status, _ := kbKey(r)
			return key, status == 0
		},
		path:     func(key string) string { return key },
		reencode: compactJSON,
		missing:  "no such knowledge base or article",
	}
	return &KBCache{newCache(backendURL, secret, s, src)}
}

// ServeHTTP answers a knowledge-base read, 400 for a malformed one.
func (k *KBCache) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		key, status, msg := kbKey(r)
		if status != 0 {
			w.Header().Set("Access-Control-Allow-Origin", "*")
			code := widget.ErrNotFound
			if status == http.StatusBadRequest {
				code = "bad_request"
			}
			writeJSONError(w, status, code, msg)
			return
		}
		k.makeRoom(key)
	}
	k.ConfigCache.ServeHTTP(w, r)
}

// kbKey checks a request and returns the backend path and canonical query
// it maps to, or the status and message to refuse it with.
func kbKey(r *http.Request) (key string, status int, msg string) {
	site, kb, rest := r.PathValue("site"), r.PathValue("kb"), r.PathValue("rest")
	if !siteKey.MatchString(site) || !kbNumber.MatchString(kb) {
		return "", http.StatusNotFound, "no such knowledge base"
	}
	in := r.URL.Query()
	out := url.Values{}
	allowed := map[string]bool{}
	switch {
	case rest == "categories":
		allowed["language"] = true
	case strings.HasPrefix(rest, "articles/") && kbNumber.MatchString(strings.TrimPrefix(rest, "articles/")):
	case rest == "titles":
		allowed["language"], allowed["category"], allowed["offset"] = true, true, true
		cat, off := in.Get("category"), in.Get("offset")
		if cat != "0" && !kbNumber.MatchString(cat) {
			return "", http.StatusBadRequest, "category must be a category id (0 for articles in none)"
		}
		out.Set("category", cat)
		if off != "" {
			if n, err := strconv.Atoi(off); err != nil || n < 0 || n > kbMaxOffset || strconv.Itoa(n) != off {
				return "", http.StatusBadRequest, "offset must be a number from 0 to " + strconv.Itoa(kbMaxOffset)
			}
			out.Set("offset", off)
		}
	case rest == "search":
		allowed["language"], allowed["q"], allowed["limit"] = true, true, true
		q := strings.Join(strings.Fields(in.Get("q")), " ")
		if q == "" || !utf8.ValidString(q) || utf8.RuneCountInString(q) > KBMaxQueryChars {
			return "", http.StatusBadRequest, "q must be 1 to " + strconv.Itoa(KBMaxQueryChars) + " characters"
		}
		out.Set("q", q)
		if v := in.Get("limit"); v != "" {
			if n, err := strconv.Atoi(v); err != nil || n < 1 || n > kbMaxResults {
				return "", http.StatusBadRequest, "limit must be a number from 1 to " + strconv.Itoa(kbMaxResults)
			}
			out.Set("limit", v)
		}
	default:
		return "", http.StatusNotFound, "no such knowledge-base resource"
	}
	for name, vs := range in {
		if !allowed[name] {
			return "", http.StatusBadRequest, "unknown parameter " + strconv.Quote(name)
		}
		if len(vs) > 1 {
			return "", http.StatusBadRequest, "parameter " + strconv.Quote(name) + " given twice"
		}
	}
	if lang, ok := in["language"]; ok {
		if !kbLang.MatchString(lang[0]) {
			return "", http.StatusBadRequest, "language must be a two-letter code such as en or nl"
		}
		out.Set("language", lang[0])
	}
	key = "/internal/sites/" + site + "/kb/" + kb + "/" + rest
	if len(out) > 0 {
		key += "?" + out.Encode() // sorted by name: one spelling per search
	}
	return key, 0, ""
}

// makeRoom keeps the cache under KBMaxEntries before key is added.
func (k *KBCache) makeRoom(key string) {
	c := k.ConfigCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; ok || len(c.entries) < KBMaxEntries {
		return
	}
	now := c.now()
	for key, e := range c.entries {
		if e.flight == nil && (!e.valid || now.After(e.expires)) {
			delete(c.entries, key)
		}
	}
	for key, e := range c.entries {
		if len(c.entries) <= KBMaxEntries*3/4 {
			break
		}
		if e.flight == nil {
			delete(c.entries, key)
		}
	}
}

// compactJSON checks the backend answered JSON and compacts it.
func compactJSON(key string, raw []byte) ([]byte, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, fmt.Errorf("backend answer for %q: %w", key, err)
	}
	return b.Bytes(), nil
}

package edge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parleychat/parley/widget"
)

// siteKey is the shape of a site's public id; anything else is unknown
// without asking the backend (and without growing the cache).
var siteKey = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ConfigCache serves GET /v1/sites/{site}/config from memory. Each site's
// config is fetched from the backend at most once per TTL however many
// visitors ask at once; an expired copy is served while the backend cannot
// be reached, and an unknown site is remembered briefly.
type ConfigCache struct {
	backend string // base URL, no trailing slash
	secret  string
	client  *http.Client
	s       Settings
	now     func() time.Time

	src cacheSource

	mu      sync.Mutex
	entries map[string]*configEntry
	fetches int // backend requests made, for tests and metrics

	// seen, when set, is told the page origin of every config served.
	seen func(site, origin string)
}

// cacheSource is what a ConfigCache caches: site configs here, mobile
// chatflows in mobile.go. Everything else (single flight, TTLs, stale
// copies, ETags, gzip) is shared.
type cacheSource struct {
	// key names the entry a request asks for; false answers 404 without
	// asking the backend (and without growing the cache).
	key func(r *http.Request) (string, bool)
	// path is the backend path of an entry.
	path func(key string) string
	// reencode checks the backend's JSON and returns what clients get.
	reencode func(key string, raw []byte) ([]byte, error)
	// missing is the message of the 404.
	missing string
	// origins, when set, reads the account's allowed domains from the
	// backend's JSON; pages of other origins are then refused.
	origins func(raw []byte) []string
}

// siteConfigs caches GET /v1/sites/{site}/config.
var siteConfigs = cacheSource{
	key: func(r *http.Request) (string, bool) {
		site := r.PathValue("site")
		return site, siteKey.MatchString(site)
	},
	path:     func(site string) string { return "/internal/sites/" + site + "/config" },
	reencode: reencodeConfig,
	missing:  "unknown site",
	origins:  configOrigins,
}

// configEntry is one site's cached answer and any fetch in flight.
type configEntry struct {
	found   bool
	body    []byte // JSON of widget.Config
	gz      []byte // body gzipped, nil when it does not pay
	etag    string
	allowed []string // the account's allowed domains (site configs only)
	fetched time.Time
	expires time.Time // fresh until then
	valid   bool      // found or known-missing has been learnt at least once

	flight *configFlight
}

// configFlight is one backend request that concurrent misses wait on.
type configFlight struct {
	done chan struct{}
	err  error
}

// NewConfigCache returns a cache that fetches from backendURL with the link secret.
func NewConfigCache(backendURL, secret string, s Settings) *ConfigCache {
	return newCache(backendURL, secret, s, siteConfigs)
}

func newCache(backendURL, secret string, s Settings, src cacheSource) *ConfigCache {
	s = s.withDefaults()
	return &ConfigCache{
		backend: strings.TrimRight(backendURL, "/"),
		secret:  secret,
		client:  &http.Client{Timeout: s.ConfigFetchTimeout, Transport: s.transport()},
		s:       s,
		now:     time.Now,
		src:     src,
		entries: map[string]*configEntry{},
	}
}

// Fetches returns how many requests the cache has made to the backend.
func (c *ConfigCache) Fetches() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fetches
}

// ServeHTTP answers GET /v1/sites/{site}/config (or what the cache holds)
// and its CORS preflight.
func (c *ConfigCache) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	setPublic(h)
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Content-Type")
		h.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD, OPTIONS")
		writeJSONError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use GET")
		return
	}
	site, ok := c.src.key(r)
	if !ok {
		writeJSONError(w, http.StatusNotFound, widget.ErrNotFound, c.src.missing)
		return
	}
	e, err := c.get(r.Context(), site)
	if err != nil {
		h.Set("Retry-After", "5")
		slog.Warn("edge: site config unavailable", "site", site, "err", err)
		writeJSONError(w, http.StatusServiceUnavailable, widget.ErrUnavailable, "chat is temporarily unavailable; try again shortly")
		return
	}
	if !e.found {
		h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(c.s.ConfigNotFoundTTL/time.Second)))
		writeJSONError(w, http.StatusNotFound, widget.ErrNotFound, c.src.missing)
		return
	}
	if c.src.origins != nil {
		// The answer depends on the page asking.
		h.Add("Vary", "Origin")
		if c.s.refuseOrigin(w, r, e.allowed, site) {
			return
		}
		if o := c.s.pageOrigin(r); o != "" && c.seen != nil {
			c.seen(site, o)
		}
	}
	body, enc := e.body, ""
	if e.gz != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsEncoding(r.Header.Get("Accept-Encoding"), "gzip") {
			body, enc = e.gz, "gzip"
		}
	}
	etag := e.etag
	if enc != "" {
		etag = strings.TrimSuffix(etag, `"`) + `-gzip"`
		h.Set("Content-Encoding", enc)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(c.s.ConfigTTL/time.Second)))
	h.Set("ETag", etag)
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// get returns the site's entry: fresh from memory, else from one shared
// backend fetch, else stale when that fetch fails.
func (c *ConfigCache) get(ctx context.Context, site string) (configEntry, error) {
	c.mu.Lock()
	e := c.entries[site]
	if e == nil {
		c.sweepLocked()
		e = &configEntry{}
		c.entries[site] = e
	}
	now := c.now()
	if e.valid && now.Before(e.expires) {
		snap := *e
		c.mu.Unlock()
		return snap, nil
	}
	f := e.flight
	if f == nil {
		f = &configFlight{done: make(chan struct{})}
		e.flight = f
		c.fetches++
		// The fetch belongs to no single visitor: one leaving must not fail
		// the others waiting on it.
		go c.fetch(site, e, f)
	}
	c.mu.Unlock()

	select {
	case <-f.done:
	case <-ctx.Done():
		return configEntry{}, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.err != nil {
		if e.valid && e.found && c.now().Sub(e.fetched) < c.s.ConfigMaxStale {
			return *e, nil // stale beats nothing while the backend is down
		}
		return configEntry{}, f.err
	}
	return *e, nil
}

// fetch asks the backend for site's config and stores the answer in e.
func (c *ConfigCache) fetch(site string, e *configEntry, f *configFlight) {
	found, body, allowed, err := c.request(site)
	c.mu.Lock()
	defer c.mu.Unlock()
	e.flight = nil
	f.err = err
	defer close(f.done)
	now := c.now()
	if err != nil {
		if e.valid && e.found {
			// Serve the stale copy without waiting on the backend again
			// for a moment; retrying on every request would make each
			// visitor wait out the fetch timeout.
			e.expires = now.Add(c.s.ConfigNotFoundTTL)
		}
		return
	}
	if !found {
		*e = configEntry{valid: true, fetched: now, expires: now.Add(c.s.ConfigNotFoundTTL)}
		return
	}
	sum := sha256.Sum256(body)
	*e = configEntry{
		valid:   true,
		found:   true,
		body:    body,
		gz:      smaller(compressGzip(body), body),
		etag:    `"` + hex.EncodeToString(sum[:8]) + `"`,
		allowed: allowed,
		fetched: now,
		expires: now.Add(c.s.ConfigTTL),
	}
}

// request performs one backend fetch and returns the re-encoded config.
func (c *ConfigCache) request(site string) (found bool, body []byte, allowed []string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.s.ConfigFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.backend+c.src.path(site), nil)
	if err != nil {
		return false, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.secret)
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return false, nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return false, nil, nil, err
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return false, nil, nil, nil
	case resp.StatusCode != http.StatusOK:
		return false, nil, nil, fmt.Errorf("backend answered %s", resp.Status)
	}
	body, err = c.src.reencode(site, raw)
	if err == nil && c.src.origins != nil {
		allowed = c.src.origins(raw)
	}
	return true, body, allowed, err
}

// configOrigins reads the allowed domains the backend sends beside a site
// config; they are the edge's to enforce, not part of what pages receive.
func configOrigins(raw []byte) []string {
	var v struct {
		AllowedDomains []string `json:"allowed_domains"`
	}
	_ = json.Unmarshal(raw, &v) // reencodeConfig has checked the JSON
	return v.AllowedDomains
}

// reencodeConfig decodes a site config: decoding checks the backend keeps
// to the contract; the re-encoded body is what every cache hit writes
// without further JSON work.
func reencodeConfig(site string, raw []byte) ([]byte, error) {
	var cfg widget.Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("backend config for %q: %w", site, err)
	}
	if cfg.Chatflows == nil {
		cfg.Chatflows = []widget.ChatflowConfig{}
	}
	return json.Marshal(cfg)
}

// sweepLocked drops entries that can no longer be served, so unknown
// site names cannot grow the cache without bound.
func (c *ConfigCache) sweepLocked() {
	if len(c.entries) < 1024 {
		return
	}
	now := c.now()
	for site, e := range c.entries {
		if e.flight != nil {
			continue
		}
		if !e.valid || (!e.found && now.After(e.expires)) || now.Sub(e.fetched) > c.s.ConfigMaxStale {
			delete(c.entries, site)
		}
	}
}

// writeJSONError answers {"error":code,"message":msg}.
func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	body, _ := json.Marshal(map[string]string{"error": code, "message": msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

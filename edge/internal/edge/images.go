package edge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

// Limits of the brand image cache.
const (
	// ImageCacheBytes bounds the images kept in memory; past it, entries
	// go at random.
	ImageCacheBytes = 64 << 20
	// imageMaxEntries bounds the entries, unknown ids remembered included.
	imageMaxEntries = 4096
	// imageMaxBytes is the largest answer read from the backend.
	imageMaxBytes = 32 << 20
	// immutable is how every cache may keep an image: its address is the
	// SHA-256 of its bytes, so it never shows anything else.
	immutable = "public, max-age=31536000, immutable"
)

var imageIDShape = regexp.MustCompile(`^[0-9a-f]{64}$`)

// imageTypes are the types the backend stores; anything else it answered
// would be a broken contract, never served.
var imageTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true}

// ImageCache serves GET /v1/sites/{site}/images/{id}, the brand images an
// account uploaded, from the backend's /internal twin: fetched once per
// edge (one request however many visitors ask at once), checked against
// their id, kept in memory and answered as immutable.
type ImageCache struct {
	backend, secret string
	client          *http.Client
	s               Settings
	now             func() time.Time

	mu      sync.Mutex
	entries map[string]*imageEntry
	size    int // bytes held
	fetches int
}

type imageEntry struct {
	ctype   string
	data    []byte
	missing time.Time // when set: unknown until then
	flight  chan struct{}
	err     error // of the last fetch, for those waiting on it
}

// NewImageCache returns the image cache fetching from backendURL with the link secret.
func NewImageCache(backendURL, secret string, s Settings) *ImageCache {
	s = s.withDefaults()
	return &ImageCache{backend: strings.TrimRight(backendURL, "/"), secret: secret,
		client: &http.Client{Timeout: s.ConfigFetchTimeout, Transport: s.transport()}, s: s, now: time.Now, entries: map[string]*imageEntry{}}
}

// Fetches returns how many requests the cache has made to the backend.
func (c *ImageCache) Fetches() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fetches
}

// ServeHTTP answers an image read.
func (c *ImageCache) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD, OPTIONS")
		writeJSONError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use GET")
		return
	}
	site, id := r.PathValue("site"), r.PathValue("id")
	if !siteKey.MatchString(site) || !imageIDShape.MatchString(id) {
		writeJSONError(w, http.StatusNotFound, widget.ErrNotFound, "no such image")
		return
	}
	etag := `"` + id + `"`
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		// Whoever holds the tag holds these very bytes.
		h.Set("Cache-Control", immutable)
		h.Set("ETag", etag)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	ctype, data, err := c.get(r.Context(), site+"/"+id)
	switch {
	case err == errNoImage:
		h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(c.s.ConfigNotFoundTTL/time.Second)))
		writeJSONError(w, http.StatusNotFound, widget.ErrNotFound, "no such image")
		return
	case err != nil:
		slog.Warn("edge: image unavailable", "site", site, "id", id, "err", err)
		h.Set("Retry-After", "5")
		writeJSONError(w, http.StatusServiceUnavailable, widget.ErrUnavailable, "the image is temporarily unavailable; try again shortly")
		return
	}
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", immutable)
	h.Set("ETag", etag)
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(data)
	}
}

var errNoImage = fmt.Errorf("no such image")

// get returns an image from memory or from one shared backend fetch.
func (c *ImageCache) get(ctx context.Context, key string) (string, []byte, error) {
	c.mu.Lock()
	e := c.entries[key]
	if e != nil && e.flight == nil && e.data == nil && c.now().After(e.missing) {
		delete(c.entries, key) // an unknown id that may exist by now
		e = nil
	}
	if e == nil {
		c.makeRoomLocked(0)
		e = &imageEntry{flight: make(chan struct{})}
		c.entries[key] = e
		c.fetches++
		go c.fetch(key, e)
	}
	flight := e.flight
	c.mu.Unlock()
	if flight != nil {
		select {
		case <-flight:
		case <-ctx.Done():
			return "", nil, ctx.Err()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case e.err != nil:
		return "", nil, e.err
	case e.data == nil:
		return "", nil, errNoImage
	}
	return e.ctype, e.data, nil
}

// fetch asks the backend for one image and settles its entry.
func (c *ImageCache) fetch(key string, e *imageEntry) {
	ctype, data, err := c.request(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	defer close(e.flight)
	switch {
	case err == errNoImage:
		e.missing = c.now().Add(c.s.ConfigNotFoundTTL)
	case err != nil:
		e.err = err
		delete(c.entries, key) // the next request asks again
	default:
		c.makeRoomLocked(len(data)) // e is in flight still: it stays
		e.ctype, e.data = ctype, data
		c.size += len(data)
	}
	e.flight = nil
}

// request performs one backend fetch and checks the answer is the image
// the id names.
func (c *ImageCache) request(key string) (string, []byte, error) {
	site, id, _ := strings.Cut(key, "/")
	ctx, cancel := context.WithTimeout(context.Background(), c.s.ConfigFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.backend+"/internal/sites/"+site+"/images/"+id, nil)
	if err != nil {
		return "", nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.secret)
	resp, err := c.client.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, imageMaxBytes))
	switch {
	case err != nil:
		return "", nil, err
	case resp.StatusCode == http.StatusNotFound:
		return "", nil, errNoImage
	case resp.StatusCode != http.StatusOK:
		return "", nil, fmt.Errorf("backend answered %s", resp.Status)
	}
	ctype := resp.Header.Get("Content-Type")
	if !imageTypes[ctype] {
		return "", nil, fmt.Errorf("backend answered type %q for an image", ctype)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != id {
		return "", nil, fmt.Errorf("backend answered %d bytes that are not image %s", len(data), id)
	}
	return ctype, data, nil
}

// makeRoomLocked drops settled entries at random until one more entry of
// n bytes fits.
func (c *ImageCache) makeRoomLocked(n int) {
	for key, e := range c.entries {
		if len(c.entries) < imageMaxEntries && c.size+n <= ImageCacheBytes {
			return
		}
		if e.flight == nil {
			delete(c.entries, key)
			c.size -= len(e.data)
		}
	}
}

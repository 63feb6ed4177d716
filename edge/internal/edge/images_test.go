package edge

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// imageBackend answers /internal/sites/demo/images/{id} from its map.
type imageBackend struct {
	mu     sync.Mutex
	images map[string][2]string // id → type, bytes
	hits   int
}

func (b *imageBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.hits++
	if r.Header.Get("Authorization") != "Bearer s3cret" {
		http.Error(w, "unauthorised", http.StatusUnauthorized)
		return
	}
	img, ok := b.images[strings.TrimPrefix(r.URL.Path, "/internal/sites/demo/images/")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", img[0])
	w.Write([]byte(img[1]))
}

func sum(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

// An uploaded image is served cross-origin, immutable, with its own type
// and nosniff, fetched from the backend once; ids that cannot be images
// never reach it, and bytes that are not the id's are never served.
func TestImagesServedImmutableAcrossOrigins(t *testing.T) {
	gifBytes := "GIF89a animated, as uploaded"
	wrong := strings.Repeat("e", 64)
	be := &imageBackend{images: map[string][2]string{
		sum(gifBytes): {"image/gif", gifBytes},
		wrong:         {"image/png", "bytes of another image"},
		sum("<html>"): {"text/html", "<html>"},
	}}
	backend := httptest.NewServer(be)
	defer backend.Close()
	cache := NewImageCache(backend.URL, "s3cret", Settings{ConfigNotFoundTTL: 5 * time.Second})
	mux := http.NewServeMux()
	mux.Handle("/v1/sites/{site}/images/{id}", CrossOrigin(cache))
	edge := httptest.NewServer(mux)
	defer edge.Close()
	base := edge.URL + "/v1/sites/demo/images/"

	resp, body := get(t, base+sum(gifBytes), "", "Origin", "https://shop.example")
	h := resp.Header
	if resp.StatusCode != 200 || string(body) != gifBytes {
		t.Fatalf("image: %s %q", resp.Status, body)
	}
	for name, want := range map[string]string{
		"Content-Type":                 "image/gif",
		"Cache-Control":                "public, max-age=31536000, immutable",
		"X-Content-Type-Options":       "nosniff",
		"Access-Control-Allow-Origin":  "*",
		"Cross-Origin-Resource-Policy": "cross-origin",
		"ETag":                         `"` + sum(gifBytes) + `"`,
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if r, _ := get(t, base+sum(gifBytes), "", "If-None-Match", h.Get("ETag")); r.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %s", r.Status)
	}
	if r, b := get(t, base+sum(gifBytes), ""); r.StatusCode != 200 || string(b) != gifBytes || cache.Fetches() != 1 {
		t.Errorf("second read: %s, %d backend fetches", r.Status, cache.Fetches())
	}

	// Not an id: answered without the backend.
	before := cache.Fetches()
	for _, p := range []string{"logo.png", strings.Repeat("A", 64), sum("x") + ".png"} {
		if r, _ := get(t, base+p, ""); r.StatusCode != 404 {
			t.Errorf("%s: %s", p, r.Status)
		}
	}
	if cache.Fetches() != before {
		t.Errorf("malformed ids reached the backend")
	}
	// Unknown: 404, remembered briefly.
	for range 2 {
		if r, _ := get(t, base+sum("never uploaded"), ""); r.StatusCode != 404 {
			t.Errorf("unknown image: %s", r.Status)
		}
	}
	if cache.Fetches() != before+1 {
		t.Errorf("an unknown image was asked for %d times", cache.Fetches()-before)
	}
	// A backend answer that is not the id's bytes, or not an image type, is refused.
	for _, id := range []string{wrong, sum("<html>")} {
		if r, b := get(t, base+id, ""); r.StatusCode != http.StatusServiceUnavailable || strings.Contains(string(b), "html>") {
			t.Errorf("%s: %s %q", id, r.Status, b)
		}
	}
}

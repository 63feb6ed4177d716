package edge

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// kbBackend is a real HTTP backend answering the /internal knowledge-base reads.
type kbBackend struct {
	mu   sync.Mutex
	seen []string // request URIs, in order
	down bool
}

func (b *kbBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.seen = append(b.seen, r.URL.RequestURI())
	down := b.down
	b.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer s3cret" {
		http.Error(w, "unauthorised", http.StatusUnauthorized)
		return
	}
	if down {
		http.Error(w, "database down", http.StatusInternalServerError)
		return
	}
	switch {
	case r.URL.Path == "/internal/sites/demo/kb/1/search":
		w.Write([]byte(`{"query": ` + `"` + r.URL.Query().Get("q") + `", "results": [{"id": 4, "snippet": "<mark>betaling</mark>"}]}`))
	case r.URL.Path == "/internal/sites/demo/kb/1/articles/4":
		w.Write([]byte(`{"id":4,"html":"<p>Pay</p>"}`))
	case r.URL.Path == "/internal/sites/demo/kb/1/categories":
		w.Write([]byte(`{"categories":[]}`))
	default:
		http.NotFound(w, r)
	}
}

func (b *kbBackend) requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.seen...)
}

func TestKBCacheCanonicalisesCachesAndRefuses(t *testing.T) {
	be := &kbBackend{}
	backend := httptest.NewServer(be)
	defer backend.Close()
	cache := NewKBCache(backend.URL, "s3cret", Settings{ConfigTTL: 10 * time.Second, ConfigNotFoundTTL: 5 * time.Second})
	mux := http.NewServeMux()
	mux.Handle("/v1/sites/{site}/kb/{kb}/{rest...}", cache)
	edge := httptest.NewServer(mux)
	defer edge.Close()
	base := edge.URL + "/v1/sites/demo/kb/1"

	// Two spellings of one search are one backend request.
	resp, body := get(t, base+"/search?q=++betalingen++wijzigen&language=nl", "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"<mark>betaling</mark>"`) || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("search: %s %s", resp.Status, body)
	}
	resp2, _ := get(t, base+"/search?language=nl&q=betalingen%20wijzigen", "")
	if resp2.StatusCode != 200 || resp2.Header.Get("ETag") != resp.Header.Get("ETag") {
		t.Fatalf("second spelling: %s", resp2.Status)
	}
	if got := be.requests(); len(got) != 1 || got[0] != "/internal/sites/demo/kb/1/search?language=nl&q=betalingen+wijzigen" {
		t.Fatalf("backend saw %q, want one canonical search", got)
	}
	if !strings.HasPrefix(resp.Header.Get("Cache-Control"), "public, max-age=") {
		t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	// Revalidation answers 304.
	if r, _ := get(t, base+"/search?q=betalingen+wijzigen&language=nl", "", "If-None-Match", resp.Header.Get("ETag")); r.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %s", r.Status)
	}

	// Articles and categories pass through; unknown ones are 404 and remembered.
	if r, b := get(t, base+"/articles/4", ""); r.StatusCode != 200 || string(b) != `{"id":4,"html":"<p>Pay</p>"}` {
		t.Errorf("article: %s %s", r.Status, b)
	}
	for i := 0; i < 2; i++ {
		if r, _ := get(t, base+"/articles/5", ""); r.StatusCode != 404 {
			t.Errorf("missing article: %s", r.Status)
		}
	}
	before := len(be.requests())

	// Malformed requests never reach the backend.
	for path, status := range map[string]int{
		"/search":                               400, // no q
		"/search?q=" + strings.Repeat("x", 201): 400,
		"/search?q=a&language=dutch":            400,
		"/search?q=a&limit=500":                 400,
		"/search?q=a&sort=new":                  400,
		"/search?q=a&q=b":                       400,
		"/categories?language=nl&debug=1":       400,
		"/titles":                               400, // no category
		"/titles?category=x":                    400,
		"/titles?category=3&offset=-1":          400,
		"/titles?category=3&offset=025":         400,
		"/titles?category=3&offset=200000":      400,
		"/titles?category=3&page=2":             400,
		"/articles/0":                           404,
		"/articles/abc":                         404,
		"/articles/4%2F..%2F..%2Fconfig":        404,
		"/secrets":                              404,
	} {
		if r, b := get(t, base+path, ""); r.StatusCode != status || !strings.Contains(string(b), `"error"`) {
			t.Errorf("%s: %s %s, want %d", path, r.Status, b, status)
		}
	}
	if r, _ := get(t, edge.URL+"/v1/sites/bad%20site/kb/1/categories", ""); r.StatusCode != 404 {
		t.Errorf("bad site key: %s", r.Status)
	}
	if r, _ := get(t, edge.URL+"/v1/sites/demo/kb/01/categories", ""); r.StatusCode != 404 {
		t.Errorf("non-canonical kb id: %s", r.Status)
	}
	if got := be.requests(); len(got) != before {
		t.Errorf("malformed requests reached the backend: %q", got[before:])
	}

	// While the backend is down, what was cached is still served.
	be.mu.Lock()
	be.down = true
	be.mu.Unlock()
	cache.now = func() time.Time { return time.Now().Add(time.Minute) }
	if r, _ := get(t, base+"/articles/4", ""); r.StatusCode != 200 {
		t.Errorf("stale article while the backend is down: %s", r.Status)
	}
	if r, _ := get(t, base+"/categories", ""); r.StatusCode != 503 {
		t.Errorf("never-cached read while the backend is down: %s", r.Status)
	}
}

func TestKBCacheStaysBounded(t *testing.T) {
	be := &kbBackend{}
	backend := httptest.NewServer(be)
	defer backend.Close()
	cache := NewKBCache(backend.URL, "s3cret", Settings{})
	mux := http.NewServeMux()
	mux.Handle("/v1/sites/{site}/kb/{kb}/{rest...}", cache)
	for i := 0; i < KBMaxEntries+200; i++ {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/sites/demo/kb/1/search?q=w"+strconv.Itoa(i), nil))
		if rec.Code != 200 {
			t.Fatalf("search %d: %d", i, rec.Code)
		}
	}
	cache.mu.Lock()
	n := len(cache.entries)
	cache.mu.Unlock()
	if n > KBMaxEntries {
		t.Errorf("%d entries after %d distinct searches, want at most %d", n, KBMaxEntries+200, KBMaxEntries)
	}
}

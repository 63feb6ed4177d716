package edge

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/widget"
)

// TestMobileCachePerTag serves each (site, tag) from its own cache entry,
// refuses malformed tags without asking the backend, and answers a tag
// with no chatflow with a JSON 404.
func TestMobileCachePerTag(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer s3cret" {
			http.Error(w, "unauthorised", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/internal/sites/demo/mobile/app.home":
			json.NewEncoder(w).Encode(widget.ChatflowConfig{ID: "cf_home", Channel: "mobile", MobileTag: "app.home", Priority: 5})
		case "/internal/sites/demo/mobile/app:cart":
			json.NewEncoder(w).Encode(widget.ChatflowConfig{ID: "cf_cart", Channel: "mobile", MobileTag: "app:cart"})
		default:
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"status":404,"detail":"No enabled mobile chatflow has this tag."}`))
		}
	}))
	defer backend.Close()
	mux := http.NewServeMux()
	mux.Handle("/v1/sites/{site}/mobile/{tag}", NewMobileCache(backend.URL, "s3cret", Settings{ConfigTTL: time.Minute}))
	edge := httptest.NewServer(mux)
	defer edge.Close()

	resolve := func(tag string) (int, map[string]any) {
		t.Helper()
		resp, body := get(t, edge.URL+"/v1/sites/demo/mobile/"+tag, "")
		var out map[string]any
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("%s: not JSON: %q", tag, body)
		}
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: no CORS header", tag)
		}
		return resp.StatusCode, out
	}
	for range 3 {
		if code, cf := resolve("app.home"); code != 200 || cf["id"] != "cf_home" || cf["priority"] != float64(5) {
			t.Fatalf("app.home: %d %v", code, cf)
		}
		if code, cf := resolve("app:cart"); code != 200 || cf["id"] != "cf_cart" {
			t.Fatalf("app:cart: %d %v", code, cf)
		}
	}
	if code, e := resolve("app.none"); code != 404 || e["error"] != widget.ErrNotFound || e["message"] == "" {
		t.Fatalf("unknown tag: %d %v", code, e)
	}
	if code, _ := resolve("bad%20tag%3Cscript%3E"); code != 404 {
		t.Fatalf("malformed tag: %d", code)
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]int{"/internal/sites/demo/mobile/app.home": 1, "/internal/sites/demo/mobile/app:cart": 1, "/internal/sites/demo/mobile/app.none": 1}
	if len(hits) != len(want) {
		t.Fatalf("backend hits %v, want %v", hits, want)
	}
	for p, n := range want {
		if hits[p] != n {
			t.Fatalf("backend hits %v, want %v", hits, want)
		}
	}
}

package edge

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/widget"
)

// configBackend is a real HTTP backend answering /internal/sites/{site}/config.
type configBackend struct {
	hits  atomic.Int64
	down  atomic.Bool
	delay time.Duration
}

func (b *configBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.hits.Add(1)
	time.Sleep(b.delay) // left: a slow backend is the scenario, not a wait
	if r.Header.Get("Authorization") != "Bearer s3cret" {
		http.Error(w, "unauthorised", http.StatusUnauthorized)
		return
	}
	if b.down.Load() {
		http.Error(w, "database down", http.StatusInternalServerError)
		return
	}
	if r.URL.Path != "/internal/sites/demo/config" {
		http.NotFound(w, r)
		return
	}
	json.NewEncoder(w).Encode(widget.Config{Site: "demo", Chatflows: []widget.ChatflowConfig{{ID: "cf1", Channel: "website", Welcome: "Hi <there>"}}})
}

func TestConfigCacheSingleFlightStaleAndNotFound(t *testing.T) {
	be := &configBackend{delay: 100 * time.Millisecond}
	backend := httptest.NewServer(be)
	defer backend.Close()
	cache := NewConfigCache(backend.URL, "s3cret", Settings{ConfigTTL: 10 * time.Second, ConfigNotFoundTTL: 5 * time.Second})
	var clock atomic.Int64 // seconds added to the real clock
	cache.now = func() time.Time { return time.Now().Add(time.Duration(clock.Load()) * time.Second) }
	mux := http.NewServeMux()
	mux.Handle("/v1/sites/{site}/config", cache)
	edge := httptest.NewServer(mux)
	defer edge.Close()

	fetch := func(site string) (*http.Response, widget.Config) {
		resp, body := get(t, edge.URL+"/v1/sites/"+site+"/config", "")
		var cfg widget.Config
		if resp.StatusCode == 200 {
			if err := json.Unmarshal(body, &cfg); err != nil {
				t.Fatalf("config body %q: %v", body, err)
			}
		}
		return resp, cfg
	}

	// Fifty visitors arrive at once on a cold cache: one backend request.
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, cfg := fetch("demo")
			if resp.StatusCode != 200 || len(cfg.Chatflows) != 1 || cfg.Chatflows[0].Welcome != "Hi <there>" {
				t.Errorf("concurrent fetch: %s %+v", resp.Status, cfg)
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("no CORS header")
			}
		}()
	}
	wg.Wait()
	if n := be.hits.Load(); n != 1 {
		t.Fatalf("50 concurrent misses made %d backend requests, want 1", n)
	}

	// Hits within the TTL stay in memory; gzip is offered.
	resp, body := get(t, edge.URL+"/v1/sites/demo/config", "gzip")
	var viaGzip widget.Config
	if err := json.Unmarshal(decode(t, resp.Header.Get("Content-Encoding"), body), &viaGzip); err != nil || resp.Header.Get("Content-Encoding") != "gzip" || viaGzip.Site != "demo" {
		t.Errorf("gzip config: %q %+v %v", resp.Header.Get("Content-Encoding"), viaGzip, err)
	}
	if n := be.hits.Load(); n != 1 {
		t.Fatalf("a fresh hit asked the backend (%d requests)", n)
	}

	// The backend goes down and the TTL passes: the stale copy is served.
	be.down.Store(true)
	clock.Store(11)
	resp, cfg := fetch("demo")
	if resp.StatusCode != 200 || len(cfg.Chatflows) != 1 {
		t.Fatalf("backend down: %s %+v, want the stale config", resp.Status, cfg)
	}
	if n := be.hits.Load(); n != 2 {
		t.Fatalf("expired entry made %d backend requests in all, want 2", n)
	}
	// Back up: the next expiry refreshes.
	be.down.Store(false)
	clock.Store(30)
	if resp, _ := fetch("demo"); resp.StatusCode != 200 || be.hits.Load() != 3 {
		t.Fatalf("refresh: %s after %d requests", resp.Status, be.hits.Load())
	}

	// An unknown site is a 404, remembered briefly.
	for i := 0; i < 3; i++ {
		if resp, _ := fetch("nosuch"); resp.StatusCode != 404 {
			t.Fatalf("unknown site: %s", resp.Status)
		}
	}
	if n := be.hits.Load(); n != 4 {
		t.Fatalf("3 requests for an unknown site made %d backend requests, want 1", n-3)
	}
	// Site keys that cannot exist never reach the backend.
	if resp, _ := fetch("bad%20key"); resp.StatusCode != 404 || be.hits.Load() != 4 {
		t.Fatalf("malformed site: %s, backend requests %d", resp.Status, be.hits.Load())
	}
}

func TestConfigCacheBackendDownWithoutCopy(t *testing.T) {
	be := &configBackend{}
	backend := httptest.NewServer(be)
	defer backend.Close()
	// A wrong secret is a backend refusal: the visitor gets a clear 503.
	cache := NewConfigCache(backend.URL, "wrong", Settings{})
	edge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.SetPathValue("site", "demo")
		cache.ServeHTTP(w, r)
	}))
	defer edge.Close()
	resp, body := get(t, edge.URL, "")
	var e struct{ Error, Message string }
	json.Unmarshal(body, &e)
	if resp.StatusCode != http.StatusServiceUnavailable || e.Error != widget.ErrUnavailable || e.Message == "" {
		t.Fatalf("got %s %s", resp.Status, body)
	}
}

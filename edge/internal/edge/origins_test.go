package edge

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/widget"
)

// The edge tells the backend, batched, which page origins loaded each
// site's config: allowed pages only, never the edge's own or an app, at
// most 50 origins a site, and again after the backend was down.
func TestEdgeReportsPageOrigins(t *testing.T) {
	var mu sync.Mutex
	var reports [][]map[string]any
	down, refused := true, 0
	mux := http.NewServeMux()
	mux.HandleFunc("/internal/sites/{site}/config", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"site": r.PathValue("site"), "chatflows": []widget.ChatflowConfig{{ID: "cf1", Channel: "website"}},
			"allowed_domains": []string{"shop.example", "*.brand.example"}})
	})
	mux.HandleFunc("POST /internal/origins-seen", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer s3cret" || down {
			refused++
			http.Error(w, "no", http.StatusServiceUnavailable)
			return
		}
		var in struct{ Seen []map[string]any }
		json.NewDecoder(r.Body).Decode(&in)
		reports = append(reports, in.Seen)
		w.WriteHeader(http.StatusNoContent)
	})
	backend := httptest.NewServer(mux)
	defer backend.Close()
	s := Settings{BackendURL: backend.URL, LinkSecret: "s3cret", PublicDir: t.TempDir(), BuildDir: t.TempDir(), LinkCount: 1,
		OriginReportEvery: 100 * time.Millisecond}
	os.WriteFile(filepath.Join(s.PublicDir, "loader.js"), []byte(testLoader), 0o644)
	srv, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	edge := httptest.NewServer(srv)
	defer func() { edge.Close(); srv.Close() }()

	fetch := func(origin string) int {
		req, _ := http.NewRequest("GET", edge.URL+"/v1/sites/demo/config", nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	fetch("https://shop.example")
	fetch("https://shop.example")
	fetch("https://www.brand.example")
	if code := fetch("https://evil.example"); code != 403 {
		t.Fatalf("refused origin: %d", code)
	}
	fetch("")       // an app
	fetch(edge.URL) // the edge's own page (the preview)
	// Two reports refused meanwhile (the second sent after the first
	// failed): what they carried is kept.
	waitFor(t, "two refused reports", func() bool { mu.Lock(); defer mu.Unlock(); return refused >= 2 })
	mu.Lock()
	down = false
	mu.Unlock()
	var got map[string]bool
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		got = map[string]bool{}
		for _, r := range reports {
			for _, e := range r {
				got[e["site"].(string)+" "+e["origin"].(string)] = true
			}
		}
		mu.Unlock()
		if len(got) >= 2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(got) != 2 || !got["demo https://shop.example"] || !got["demo https://www.brand.example"] {
		t.Fatalf("reported %v", got)
	}

	// Sixty origins in one interval: fifty wait for the report.
	l := newOriginLog(backend.URL, "s3cret", s.withDefaults())
	for i := range 60 {
		l.record("demo", fmt.Sprintf("https://s%d.brand.example", i))
	}
	if n := len(l.pending["demo"]); n != 50 {
		t.Fatalf("%d origins wait for one site", n)
	}
}

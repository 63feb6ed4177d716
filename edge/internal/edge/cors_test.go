package edge

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parleychat/parley/widget"
)

// crossOriginBackend answers a site config with allowed domains for site
// "shop" and none for "open", and echoes attachment requests with a CORS
// header of its own (which the edge must not duplicate).
func crossOriginBackend(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/internal/sites/{site}/config", func(w http.ResponseWriter, r *http.Request) {
		out := map[string]any{"site": r.PathValue("site"), "chatflows": []widget.ChatflowConfig{{ID: "cf1", Channel: "website"}}}
		if r.PathValue("site") == "shop" {
			out["allowed_domains"] = []string{"shop.example", "*.brand.example"}
		}
		json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("/v1/attachments", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"seq":1}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestEverythingAPageFetchesIsCrossOrigin(t *testing.T) {
	backend := crossOriginBackend(t)
	s := Settings{BackendURL: backend.URL, LinkSecret: "s3cret", PublicDir: t.TempDir(), BuildDir: t.TempDir(), LinkCount: 1}
	for name, body := range map[string]string{"loader.js": testLoader, "widget.css": "a{}", "widget.html": "<div></div>", "i18n/en.json": "{}"} {
		p := filepath.Join(s.PublicDir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(body), 0o644)
	}
	os.WriteFile(filepath.Join(s.BuildDir, "widget.wasm"), []byte("\x00asm"), 0o644)
	os.WriteFile(filepath.Join(s.BuildDir, "wasm_exec.js"), []byte("// glue"), 0o644)
	srv, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	edge := httptest.NewServer(srv)
	t.Cleanup(func() { edge.Close(); srv.Close() })
	wasm, _ := srv.Assets.Path("widget.wasm")

	page := "https://shop.example"
	for _, p := range []string{"/loader.js", wasm, "/widget.css", "/widget.html", "/i18n/en.json", "/wasm_exec.js",
		"/v1/sites/open/config", "/v1/sites/shop/config", "/v1/attachments", "/v1/sites/nope!/config"} {
		method := "GET"
		if p == "/v1/attachments" {
			method = "POST"
		}
		req, _ := http.NewRequest(method, edge.URL+p, nil)
		req.Header.Set("Origin", page)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if v := h.Values("Access-Control-Allow-Origin"); len(v) != 1 || v[0] != "*" {
			t.Errorf("%s: Access-Control-Allow-Origin %q, want one *", p, v)
		}
		if h.Get("Cross-Origin-Resource-Policy") != "cross-origin" || h.Get("Timing-Allow-Origin") != "*" {
			t.Errorf("%s: CORP %q, TAO %q", p, h.Get("Cross-Origin-Resource-Policy"), h.Get("Timing-Allow-Origin"))
		}
		if h.Get("Access-Control-Allow-Credentials") != "" || h.Get("Set-Cookie") != "" {
			t.Errorf("%s: credentials or cookies: %v", p, h)
		}
	}

	// The upload's preflight: POST with the visitor token's header.
	req, _ := http.NewRequest("OPTIONS", edge.URL+"/v1/attachments", nil)
	req.Header.Set("Origin", page)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("upload preflight: %s %v", resp.Status, resp.Header)
	}
	// The inbox and the admin API stay same-origin only.
	for _, p := range []string{"/api/v1/account", "/inbox"} {
		req, _ := http.NewRequest("GET", edge.URL+p, nil)
		req.Header.Set("Origin", page)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s is readable cross-origin", p)
		}
	}
}

func TestConfigRefusesPagesOutsideTheAllowedDomains(t *testing.T) {
	backend := crossOriginBackend(t)
	_, edge := startEdge(t, backend.URL, Settings{LinkCount: 1}, 0) // no links: configs only
	cases := []struct {
		site, origin string
		want         int
	}{
		{"shop", "https://shop.example", 200},
		{"shop", "http://shop.example:9090", 200},
		{"shop", "https://eu.brand.example", 200},
		{"shop", "https://brand.example", 403},
		{"shop", "https://evil.example", 403},
		{"shop", "https://shop.example.evil.example", 403},
		{"shop", "null", 403},
		{"shop", "not a url", 403},
		{"shop", "", 200},       // an app, or a page of the edge's own origin fetching same-origin
		{"shop", edge.URL, 200}, // the inbox's preview, served through the edge
		{"open", "null", 200},   // no list: every origin
		{"open", "https://anywhere.example", 200},
	}
	for _, c := range cases {
		req, _ := http.NewRequest("GET", edge.URL+"/v1/sites/"+c.site+"/config", nil)
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s from %q: %s %s, want %d", c.site, c.origin, resp.Status, body, c.want)
			continue
		}
		if strings.Contains(string(body), "allowed_domains") || strings.Contains(string(body), "*.brand.example") {
			t.Errorf("%s from %q: the allowed domains leak to pages: %s", c.site, c.origin, body)
		}
		if c.want == 403 {
			var e map[string]string
			json.Unmarshal(body, &e)
			if e["error"] != widget.ErrOriginNotAllowed || !strings.Contains(e["message"], "allowed domains") ||
				resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s from %q: %v %v", c.site, c.origin, e, resp.Header)
			}
		}
		if c.site == "shop" && !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Origin") {
			t.Errorf("%s from %q: no Vary: Origin", c.site, c.origin)
		}
	}
}

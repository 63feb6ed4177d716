package edge

import (
	"bytes"
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
)

// writeTree creates files (slash paths → content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const testLoader = `(function(){ var wasm = "__PARLEY_WASM_URL__"; var exec = "__PARLEY_WASM_EXEC_URL__"; /* padding padding padding padding padding padding padding padding */ })();`

// get fetches url with the given Accept-Encoding and extra headers, without
// the client's transparent decompression.
func get(t *testing.T, url, acceptEncoding string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept-Encoding", acceptEncoding)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := &http.Client{
		Transport:     &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func decode(t *testing.T, enc string, body []byte) []byte {
	t.Helper()
	var r io.Reader
	switch enc {
	case "br":
		r = brotli.NewReader(bytes.NewReader(body))
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case "":
		return body
	default:
		t.Fatalf("unexpected Content-Encoding %q", enc)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding %s: %v", enc, err)
	}
	return out
}

func TestAssetsHashedCompressedAndLoaderRewritten(t *testing.T) {
	pub, build := t.TempDir(), t.TempDir()
	wasm := strings.Repeat("\x00asm wasm body that compresses well ", 4000)
	writeTree(t, pub, map[string]string{
		"loader.js":       testLoader,
		"widget.css":      strings.Repeat(".parley { color: red; }\n", 50),
		"demo/index.html": "<!doctype html><title>demo</title><script src=\"/loader.js\" data-site=\"demo\"></script>",
		".hidden":         "secret",
	})
	writeTree(t, build, map[string]string{"widget.wasm": wasm, "wasm_exec.js": strings.Repeat("// go wasm glue\n", 100)})
	// A tiny "large" threshold exercises the quick-then-better brotli path.
	a, err := LoadAssets(pub, build, Settings{BrotliLargeBytes: 1000, BrotliQuality: 11, BrotliLargeQuality: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	defer srv.Close()

	wasmPath, ok := a.Path("widget.wasm")
	if !ok || !regexp.MustCompile(`^/assets/widget\.[0-9a-f]{8,}\.wasm$`).MatchString(wasmPath) {
		t.Fatalf("hashed wasm path = %q, %v", wasmPath, ok)
	}
	execPath, _ := a.Path("wasm_exec.js")

	// The loader points at the hashed build files.
	resp, body := get(t, srv.URL+"/loader.js", "")
	if resp.StatusCode != 200 {
		t.Fatalf("loader.js: %s", resp.Status)
	}
	if strings.Contains(string(body), "__PARLEY_") || !strings.Contains(string(body), `"`+wasmPath+`"`) || !strings.Contains(string(body), `"`+execPath+`"`) {
		t.Fatalf("loader.js not rewritten: %s", body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("plain path Cache-Control = %q", cc)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("loader.js Content-Type = %q", ct)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on loader.js")
	}
	resp, body = get(t, srv.URL+"/loader.js", "", "If-None-Match", etag)
	if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Fatalf("revalidation: %s with %d bytes, want 304 empty", resp.Status, len(body))
	}

	// The hashed loader serves the same rewritten body.
	loaderPath, _ := a.Path("loader.js")
	_, hashedLoader := get(t, srv.URL+loaderPath, "")
	if !strings.Contains(string(hashedLoader), wasmPath) {
		t.Fatalf("hashed loader.js not rewritten")
	}

	a.upgrades.Wait()
	for _, tc := range []struct{ accept, want string }{
		{"gzip, deflate, br, zstd", "br"},
		{"gzip", "gzip"},
		{"br;q=0, gzip;q=0.5", "gzip"},
		{"", ""},
		{"identity", ""},
		{"*", "br"},
	} {
		resp, body := get(t, srv.URL+wasmPath, tc.accept)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %s", wasmPath, resp.Status)
		}
		if got := resp.Header.Get("Content-Encoding"); got != tc.want {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, want %q", tc.accept, got, tc.want)
		}
		if got := decode(t, resp.Header.Get("Content-Encoding"), body); string(got) != wasm {
			t.Errorf("Accept-Encoding %q: decoded body differs (%d bytes)", tc.accept, len(got))
		}
		if tc.want != "" && len(body) >= len(wasm)/4 {
			t.Errorf("%s body is %d bytes, hardly compressed", tc.want, len(body))
		}
		h := resp.Header
		if h.Get("Cache-Control") != "public, max-age=31536000, immutable" || h.Get("Content-Type") != "application/wasm" ||
			h.Get("Vary") != "Accept-Encoding" || h.Get("ETag") == "" {
			t.Errorf("hashed wasm headers: %v", h)
		}
	}
	// Each encoding has its own ETag, and revalidating by it works.
	brResp, _ := get(t, srv.URL+wasmPath, "br")
	gzResp, _ := get(t, srv.URL+wasmPath, "gzip")
	if brResp.Header.Get("ETag") == gzResp.Header.Get("ETag") {
		t.Error("br and gzip bodies share an ETag")
	}
	if resp, _ := get(t, srv.URL+wasmPath, "br", "If-None-Match", brResp.Header.Get("ETag")); resp.StatusCode != 304 {
		t.Errorf("hashed revalidation: %s", resp.Status)
	}

	// Directories, redirects, misses.
	resp, body = get(t, srv.URL+"/demo/", "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), "data-site") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/demo/: %s %q", resp.Status, body)
	}
	if resp, _ := get(t, srv.URL+"/demo", ""); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/demo/" {
		t.Errorf("/demo: %s → %q", resp.Status, resp.Header.Get("Location"))
	}
	// Redirects are built from the cleaned path, never toward another host.
	for _, p := range []string{"/%2Fevil.example/..%2Fdemo", "//evil.example/../demo", "/./demo", "/x/../demo", "/%5Cevil.example/..%2Fdemo"} {
		resp, _ := get(t, srv.URL+p, "")
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "/demo/" {
			t.Errorf("%s: %s → %q, want /demo/ or no redirect", p, resp.Status, loc)
		}
	}
	for _, p := range []string{"/.hidden", "/nope.js", "/assets/widget.wasm", "/assets/widget.0000000000000000.wasm", "/../../etc/passwd"} {
		if resp, _ := get(t, srv.URL+p, ""); resp.StatusCode != 404 {
			t.Errorf("%s: %s, want 404", p, resp.Status)
		}
	}
}

func TestAssetsMissingBuildDoesNotCrash(t *testing.T) {
	pub := t.TempDir()
	writeTree(t, pub, map[string]string{"loader.js": testLoader})
	a, err := LoadAssets(pub, filepath.Join(t.TempDir(), "no-build"), Settings{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	defer srv.Close()
	_, body := get(t, srv.URL+"/loader.js", "")
	m := regexp.MustCompile(`var wasm = "([^"]+)"`).FindStringSubmatch(string(body))
	if m == nil || strings.Contains(m[1], "__PARLEY_") {
		t.Fatalf("loader.js wasm URL not rewritten: %s", body)
	}
	if resp, _ := get(t, srv.URL+m[1], ""); resp.StatusCode != 404 {
		t.Fatalf("missing wasm %s: %s, want 404", m[1], resp.Status)
	}
}

// precompressedFixture writes a loader, a large widget.wasm and, if br is not
// nil, a widget.wasm.br beside it; the settings would otherwise start the
// quick-then-better brotli path for the wasm.
func precompressedFixture(t *testing.T, wasm string, br []byte) (*Assets, *httptest.Server) {
	t.Helper()
	pub, build := t.TempDir(), t.TempDir()
	writeTree(t, pub, map[string]string{"loader.js": testLoader})
	files := map[string]string{"widget.wasm": wasm, "wasm_exec.js": "// glue"}
	if br != nil {
		files["widget.wasm.br"] = string(br)
	}
	writeTree(t, build, files)
	a, err := LoadAssets(pub, build, Settings{BrotliLargeBytes: 1000, BrotliQuality: 11, BrotliLargeQuality: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return a, srv
}

// captureWarnings collects what is logged at Warn and above until the test ends.
func captureWarnings(t *testing.T) *bytes.Buffer {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})))
	t.Cleanup(func() { slog.SetDefault(old) })
	return &buf
}

const precompressedWasm = "\x00asm precompressed wasm body, compressible "

func TestAssetsPrecompressedSiblingServed(t *testing.T) {
	wasm := strings.Repeat(precompressedWasm, 4000)
	// Neither the quick (1) nor the best (11) level the edge would use, so
	// the served bytes show which one it took.
	packed := compressBrotli([]byte(wasm), 5)
	if bytes.Equal(packed, compressBrotli([]byte(wasm), 1)) || bytes.Equal(packed, compressBrotli([]byte(wasm), 11)) {
		t.Fatal("fixture: level 5 output matches the edge's own; pick other data")
	}
	a, srv := precompressedFixture(t, wasm, packed)
	wasmPath, _ := a.Path("widget.wasm")

	check := func(when string) {
		t.Helper()
		resp, body := get(t, srv.URL+wasmPath, "gzip, br")
		if resp.Header.Get("Content-Encoding") != "br" || !bytes.Equal(body, packed) {
			t.Fatalf("%s: Content-Encoding %q, %d bytes; want br, the %d bytes of widget.wasm.br",
				when, resp.Header.Get("Content-Encoding"), len(body), len(packed))
		}
	}
	check("at start")
	// A background upgrade would swap in level 11's bytes.
	a.upgrades.Wait()
	check("after upgrades")

	if resp, body := get(t, srv.URL+wasmPath, "gzip"); resp.Header.Get("Content-Encoding") != "gzip" || string(decode(t, "gzip", body)) != wasm {
		t.Errorf("gzip: Content-Encoding %q, or body differs", resp.Header.Get("Content-Encoding"))
	}
}

func TestAssetsStalePrecompressedSiblingIgnored(t *testing.T) {
	wasm := strings.Repeat(precompressedWasm, 4000)
	good := compressBrotli([]byte(wasm), 5)
	for _, tc := range []struct {
		name string
		br   []byte
	}{
		{"previous build", compressBrotli([]byte(strings.Replace(wasm, "body", "BODY", 1)), 5)},
		{"truncated", good[:len(good)/2]},
		{"trailing bytes", append(append([]byte{}, good...), "junk"...)},
		{"longer body", compressBrotli([]byte(wasm+"more"), 5)},
		{"not brotli", []byte("not brotli at all")},
		{"empty", []byte{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := captureWarnings(t)
			a, srv := precompressedFixture(t, wasm, tc.br)
			if !strings.Contains(logs.String(), "widget.wasm.br") {
				t.Errorf("no warning names widget.wasm.br; logged: %q", logs)
			}
			a.upgrades.Wait()
			wasmPath, _ := a.Path("widget.wasm")
			for _, accept := range []string{"br", "gzip", ""} {
				resp, body := get(t, srv.URL+wasmPath, accept)
				if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != accept {
					t.Fatalf("Accept-Encoding %q: %s, Content-Encoding %q", accept, resp.Status, resp.Header.Get("Content-Encoding"))
				}
				if got := decode(t, accept, body); string(got) != wasm {
					t.Errorf("Accept-Encoding %q: decoded body differs (%d bytes)", accept, len(got))
				}
			}
			// The edge's own best brotli, not the sibling.
			if _, body := get(t, srv.URL+wasmPath, "br"); !bytes.Equal(body, compressBrotli([]byte(wasm), 11)) {
				t.Errorf("br body is not the edge's level-11 output")
			}
		})
	}
}

func TestAssetsPrecompressedFilesNotServed(t *testing.T) {
	wasm := strings.Repeat(precompressedWasm, 4000)
	a, srv := precompressedFixture(t, wasm, compressBrotli([]byte(wasm), 5))
	if p, ok := a.Path("widget.wasm.br"); ok {
		t.Errorf("widget.wasm.br is an asset at %s", p)
	}
	for name := range a.byName {
		if strings.HasSuffix(name, ".br") {
			t.Errorf("asset %q", name)
		}
	}
	for _, p := range []string{"/widget.wasm.br", "/assets/widget.wasm.br"} {
		for _, accept := range []string{"", "br"} {
			if resp, _ := get(t, srv.URL+p, accept); resp.StatusCode != 404 {
				t.Errorf("%s (Accept-Encoding %q): %s, want 404", p, accept, resp.Status)
			}
		}
	}
}

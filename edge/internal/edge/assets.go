package edge

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/andybalholm/brotli"
)

// Placeholders in loader.js that the edge replaces with the hashed asset
// paths of the built widget.
const (
	WasmURLPlaceholder     = "__PARLEY_WASM_URL__"
	WasmExecURLPlaceholder = "__PARLEY_WASM_EXEC_URL__"
)

// Cache-Control values: hashed URLs never change, plain ones may.
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheShort     = "public, max-age=300"
)

// asset is one file, read and compressed once at start-up.
type asset struct {
	name        string // path relative to its folder, slash-separated: "demo/index.html"
	hashed      string // "/assets/demo/index.0123456789abcdef.html"
	contentType string
	hash        string
	raw         []byte
	br          atomic.Pointer[[]byte] // nil when compression does not pay; swapped once when recompressed harder
	gz          []byte
}

// Assets serves the files of the public and build folders, each under its
// plain path with a short cache and under a content-hashed /assets/ path
// with an immutable one.
type Assets struct {
	byName   map[string]*asset // plain name → asset
	byHashed map[string]*asset // hashed URL path → asset
	upgrades sync.WaitGroup    // background brotli recompressions
}

func (as *asset) setBrotli(packed []byte) {
	if p := smaller(packed, as.raw); p != nil {
		as.br.Store(&p)
	}
}

func (as *asset) brotli() []byte {
	if p := as.br.Load(); p != nil {
		return *p
	}
	return nil
}

// file is one asset as read from its folder.
type file struct {
	body []byte
	br   []byte // the folder's "<name>.br" beside it (made at build time), if any
}

// LoadAssets reads every file of publicDir and buildDir (public wins when
// both hold a name), rewrites loader.js's placeholders to the hashed paths of
// widget.wasm and wasm_exec.js, and pre-compresses everything, taking a
// file's brotli from a "<name>.br" beside it when that decodes to the file.
// A missing folder or missing build file is logged, not fatal.
func LoadAssets(publicDir, buildDir string, s Settings) (*Assets, error) {
	s = s.withDefaults()
	files := map[string]file{}
	for _, dir := range []string{buildDir, publicDir} { // public read last wins
		if err := readTree(dir, files); err != nil {
			return nil, err
		}
	}
	a := &Assets{byName: map[string]*asset{}, byHashed: map[string]*asset{}}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name == "loader.js" {
			continue // hashed after the wasm paths are known
		}
		a.add(name, files[name], s)
	}
	if loader, ok := files["loader.js"]; ok {
		body := loader.body
		for placeholder, name := range map[string]string{
			WasmURLPlaceholder:     "widget.wasm",
			WasmExecURLPlaceholder: "wasm_exec.js",
			// The widget's look and languages: fetched by the wasm.
			"__PARLEY_WIDGET_CSS_URL__":  "widget.css",
			"__PARLEY_WIDGET_HTML_URL__": "widget.html",
			"__PARLEY_I18N_EN_URL__":     "i18n/en.json",
			"__PARLEY_I18N_NL_URL__":     "i18n/nl.json",
			"__PARLEY_I18N_DE_URL__":     "i18n/de.json",
			"__PARLEY_I18N_FR_URL__":     "i18n/fr.json",
			"__PARLEY_I18N_ES_URL__":     "i18n/es.json",
		} {
			url, ok := a.Path(name)
			if !ok {
				slog.Warn("edge: built file missing; loader.js will point at a 404", "file", name, "build_dir", buildDir)
				url = "/assets/" + name
			}
			body = bytes.ReplaceAll(body, []byte(placeholder), []byte(url))
		}
		a.add("loader.js", file{body: body, br: loader.br}, s)
	} else {
		slog.Warn("edge: no loader.js in the public folder", "public_dir", publicDir)
	}
	return a, nil
}

// readTree adds every regular file under dir to files, keyed by its
// slash-separated path relative to dir. "<name>.br" files are not assets:
// each goes with its sibling from the same folder.
func readTree(dir string, files map[string]file) error {
	if _, err := os.Stat(dir); err != nil {
		slog.Warn("edge: asset folder unreadable", "dir", dir, "err", err)
		return nil
	}
	found := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// Dot files and the Go files that embed public/ into binaries are
		// not web assets.
		if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".") || strings.HasSuffix(d.Name(), ".go") {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		found[filepath.ToSlash(rel)] = body
		return nil
	})
	if err != nil {
		return err
	}
	for name, body := range found {
		if !strings.HasSuffix(name, ".br") {
			files[name] = file{body: body, br: found[name+".br"]}
		}
	}
	return nil
}

func (a *Assets) add(name string, f file, s Settings) {
	body := f.body
	sum := sha256.Sum256(body)
	h := hex.EncodeToString(sum[:8])
	ext := path.Ext(name)
	hashed := "/assets/" + strings.TrimSuffix(name, ext) + "." + h + ext
	as := &asset{name: name, hashed: hashed, hash: h, raw: body, contentType: contentType(name, body)}
	if compressible(as.contentType) && len(body) > 0 {
		as.gz = smaller(compressGzip(body), body)
		packed := f.br != nil && brotliOf(f.br, body)
		if f.br != nil && !packed {
			// Left over from an earlier build, most likely.
			slog.Warn("edge: precompressed file does not decode to its asset; compressing at start-up instead", "file", name+".br")
		}
		switch {
		case packed:
			as.setBrotli(f.br)
		case len(body) <= s.BrotliLargeBytes || s.BrotliLargeQuality >= s.BrotliQuality:
			as.setBrotli(compressBrotli(body, s.BrotliQuality))
		default:
			// The best brotli level takes seconds per megabyte: start with a
			// quick one and swap in the smaller body when it is ready.
			as.setBrotli(compressBrotli(body, s.BrotliLargeQuality))
			a.upgrades.Add(1)
			go func() {
				defer a.upgrades.Done()
				as.setBrotli(compressBrotli(body, s.BrotliQuality))
			}()
		}
	}
	a.byName[name] = as
	a.byHashed[hashed] = as
}

// Path returns the hashed URL path of a file ("widget.wasm" →
// "/assets/widget.0123456789abcdef.wasm").
func (a *Assets) Path(name string) (string, bool) {
	as, ok := a.byName[name]
	if !ok {
		return "", false
	}
	return as.hashed, true
}

// ServeHTTP serves /assets/<hashed> immutably and any other path as a plain
// file: "/" and "/dir/" serve index.html, "/dir" redirects to "/dir/".
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if as, ok := a.byHashed[p]; ok {
		serveAsset(w, r, as, cacheImmutable)
		return
	}
	if strings.HasPrefix(p, "/assets/") {
		http.NotFound(w, r)
		return
	}
	name := strings.TrimPrefix(path.Clean(p), "/")
	if strings.HasSuffix(p, "/") {
		name = path.Join(name, "index.html")
	}
	as, ok := a.byName[name]
	if !ok {
		if _, dir := a.byName[path.Join(name, "index.html")]; dir && !strings.HasSuffix(p, "/") {
			// From the cleaned name only: the raw path may start "//host"
			// ("/%2Fevil.example/..%2Fdemo"), which a browser reads as
			// another site.
			http.Redirect(w, r, "/"+name+"/", http.StatusMovedPermanently)
			return
		}
		http.NotFound(w, r)
		return
	}
	serveAsset(w, r, as, cacheShort)
}

// serveAsset writes the best representation the client accepts, or 304.
func serveAsset(w http.ResponseWriter, r *http.Request, as *asset, cacheControl string) {
	body, enc, br := as.raw, "", as.brotli()
	accept := r.Header.Get("Accept-Encoding")
	switch {
	case br != nil && acceptsEncoding(accept, "br"):
		body, enc = br, "br"
	case as.gz != nil && acceptsEncoding(accept, "gzip"):
		body, enc = as.gz, "gzip"
	}
	h := w.Header()
	etag := `"` + as.hash + `"`
	if enc != "" {
		etag = `"` + as.hash + "-" + enc + `"`
		h.Set("Content-Encoding", enc)
	}
	if br != nil || as.gz != nil {
		h.Set("Vary", "Accept-Encoding")
	}
	h.Set("ETag", etag)
	h.Set("Cache-Control", cacheControl)
	h.Set("Content-Type", as.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
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

// etagMatches reports whether an If-None-Match header names etag (weak
// comparison, as RFC 9110 asks for If-None-Match).
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// acceptsEncoding reports whether an Accept-Encoding header allows coding
// (by name or "*") with a non-zero quality.
func acceptsEncoding(header, coding string) bool {
	star := false
	for _, part := range strings.Split(header, ",") {
		fields := strings.Split(part, ";")
		name := strings.ToLower(strings.TrimSpace(fields[0]))
		q := 1.0
		for _, param := range fields[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(param), "=")
			if strings.EqualFold(k, "q") {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		switch name {
		case coding:
			return q > 0
		case "*":
			star = q > 0
		}
	}
	return star
}

// contentTypes pins the types the widget depends on; the system's MIME
// table may lack or misname them (application/wasm is required for
// streaming compilation).
var contentTypes = map[string]string{
	".wasm":  "application/wasm",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".html":  "text/html; charset=utf-8",
	".json":  "application/json",
	".svg":   "image/svg+xml",
	".txt":   "text/plain; charset=utf-8",
	".map":   "application/json",
	".png":   "image/png",
	".gif":   "image/gif",
	".jpg":   "image/jpeg",
	".webp":  "image/webp",
	".ico":   "image/x-icon",
	".woff2": "font/woff2",
}

func contentType(name string, body []byte) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := contentTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return http.DetectContentType(body)
}

func compressible(ct string) bool {
	return strings.HasPrefix(ct, "text/") || strings.HasPrefix(ct, "application/wasm") ||
		strings.HasPrefix(ct, "application/json") || strings.HasPrefix(ct, "image/svg") ||
		strings.Contains(ct, "javascript") || strings.Contains(ct, "xml")
}

func compressBrotli(body []byte, quality int) []byte {
	var buf bytes.Buffer
	w := brotli.NewWriterLevel(&buf, quality)
	w.Write(body)
	w.Close()
	return buf.Bytes()
}

// brotliOf reports whether packed is a whole brotli stream of exactly body.
// Reading one byte past body's length catches a longer stream without
// inflating all of it; the reader itself rejects a cut or padded one.
func brotliOf(packed, body []byte) bool {
	r := brotli.NewReader(bytes.NewReader(packed))
	got, err := io.ReadAll(io.LimitReader(r, int64(len(body))+1))
	return err == nil && bytes.Equal(got, body)
}

func compressGzip(body []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	w.Write(body)
	w.Close()
	return buf.Bytes()
}

// smaller returns packed when it saves at least a little, else nil.
func smaller(packed, raw []byte) []byte {
	if len(packed) >= len(raw)-len(raw)/20 {
		return nil
	}
	return packed
}

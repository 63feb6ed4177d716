// Package hostpage serves web pages that carry Parley's script tag from an
// origin of their own, as an owner's website does: the demo pages of
// `make run`, and the host pages of the browser tests and benchmarks. The
// edge never serves them.
package hostpage

import (
	"bytes"
	"crypto/tls"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed pages
var pages embed.FS

// Options describe the pages served.
type Options struct {
	// Edge is the edge's base URL (scheme://host[:port]) the script tag
	// points at.
	Edge string
	// Site is the script tag's data-site.
	Site string
	// CSP, when set, is sent as every page's Content-Security-Policy.
	CSP string
	// Header adds response headers to every answer (for example
	// Cross-Origin-Embedder-Policy).
	Header http.Header
}

// Handler serves the pages: /demo/ (index.html), /demo/long.html,
// /demo/privacy.html and their files; "/" redirects to /demo/; any other
// path answers the demo page, so tests may name whatever URL a targeting
// rule needs ("/pricing").
func Handler(o Options) (http.Handler, error) {
	edge := strings.TrimRight(o.Edge, "/")
	if !strings.HasPrefix(edge, "http://") && !strings.HasPrefix(edge, "https://") {
		return nil, errors.New("hostpage: the edge must be an http(s) URL")
	}
	files := map[string][]byte{}
	err := fs.WalkDir(pages, "pages", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := pages.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "pages/")
		if strings.HasSuffix(name, ".html") {
			t, err := template.New(name).Parse(string(body))
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := t.Execute(&buf, struct{ Edge, Site string }{edge, o.Site}); err != nil {
				return err
			}
			body = buf.Bytes()
		}
		files[name] = body
		return nil
	})
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, vs := range o.Header {
			h[k] = vs
		}
		if r.URL.Path == "/" {
			http.Redirect(w, r, "/demo/", http.StatusFound)
			return
		}
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/demo/")
		if strings.HasSuffix(r.URL.Path, "/") || name == "/demo" {
			name = "index.html"
		}
		body, ok := files[name]
		if !ok {
			name, body = "index.html", files["index.html"]
		}
		switch path.Ext(name) {
		case ".html":
			h.Set("Content-Type", "text/html; charset=utf-8")
			if o.CSP != "" {
				h.Set("Content-Security-Policy", o.CSP)
			}
		case ".css":
			h.Set("Content-Type", "text/css; charset=utf-8")
		case ".js":
			h.Set("Content-Type", "text/javascript; charset=utf-8")
		}
		h.Set("Cache-Control", "no-store")
		w.Write(body)
	}), nil
}

// Server is a running host-page server.
type Server struct {
	// URL is the pages' origin: http(s)://127.0.0.1:port.
	URL string
	hs  *http.Server
	ln  net.Listener
}

// Start serves the pages on addr ("127.0.0.1:0" for a free port), over
// TLS when cert is given.
func Start(addr string, o Options, cert *tls.Certificate) (*Server, error) {
	h, err := Handler(o)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	scheme := "http"
	if cert != nil {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{*cert}})
		scheme = "https"
	}
	s := &Server{URL: scheme + "://" + ln.Addr().String(), ln: ln,
		hs: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go s.hs.Serve(ln)
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.hs.Close() }

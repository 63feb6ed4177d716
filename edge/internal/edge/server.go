package edge

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/internal/version"
)

// Server is a whole edge: assets, site configs, visitor sockets, the link
// pool and the reverse proxy to the backend, as one http.Handler.
type Server struct {
	// Assets serves the public and build folders.
	Assets *Assets
	// Configs caches the sites' published chatflow configs.
	Configs *ConfigCache
	// Mobile caches the chatflow each mobile tag resolves to.
	Mobile *ConfigCache
	// KB caches the public knowledge-base reads (categories, articles, search).
	KB *KBCache
	// Images caches the brand images accounts uploaded.
	Images *ImageCache
	// Pool carries visitor sockets to the backend.
	Pool *Pool

	s        Settings
	origins  *originLog
	mux      *http.ServeMux
	visitors *visitorHandler
	draining atomic.Bool
	metrics  *edgeMetrics
}

// New loads the assets, starts the link pool and returns the edge. Close
// releases it.
func New(s Settings) (*Server, error) {
	s = s.withDefaults()
	backend, err := url.Parse(s.BackendURL)
	if err != nil || (backend.Scheme != "http" && backend.Scheme != "https") || backend.Host == "" {
		return nil, fmt.Errorf("edge: backend URL %q must be http(s)://host[:port]", s.BackendURL)
	}
	assets, err := LoadAssets(s.PublicDir, s.BuildDir, s)
	if err != nil {
		return nil, fmt.Errorf("edge: loading assets: %w", err)
	}
	srv := &Server{
		Assets:  assets,
		Configs: NewConfigCache(s.BackendURL, s.LinkSecret, s),
		Mobile:  NewMobileCache(s.BackendURL, s.LinkSecret, s),
		KB:      NewKBCache(s.BackendURL, s.LinkSecret, s),
		Images:  NewImageCache(s.BackendURL, s.LinkSecret, s),
		Pool:    NewPool(s.BackendURL, s.LinkSecret, s),
		s:       s,
		mux:     http.NewServeMux(),
	}
	srv.origins = newOriginLog(s.BackendURL, s.LinkSecret, s)
	srv.Configs.seen = srv.origins.record
	go srv.origins.run()
	srv.visitors = &visitorHandler{pool: srv.Pool, s: s}
	srv.metrics = newEdgeMetrics(srv)
	srv.visitors.m = srv.metrics
	proxy := newProxy(backend, s)
	const reads = "GET, HEAD, OPTIONS"
	srv.mux.Handle("/v1/sites/{site}/config", public(srv.Configs, reads, ""))
	srv.mux.Handle("/v1/sites/{site}/mobile/{tag}", public(srv.Mobile, reads, ""))
	srv.mux.Handle("/v1/sites/{site}/kb/{kb}/{rest...}", public(srv.KB, reads, ""))
	srv.mux.Handle("/v1/sites/{site}/images/{id}", public(srv.Images, reads, ""))
	srv.mux.Handle("/ws", srv.visitors)
	srv.mux.HandleFunc("GET /healthz", srv.healthz)
	srv.mux.HandleFunc("GET /readyz", srv.readyz)
	for _, p := range []string{"/api/", "/inbox", "/inbox/", "/static/", "/setup"} {
		srv.mux.Handle(p, proxy)
	}
	// Visitors' file uploads and downloads go to the backend as they are,
	// from pages of any origin, with the visitor token as a bearer header.
	attachments := public(proxy, "GET, HEAD, POST, OPTIONS", "Authorization, Content-Type")
	srv.mux.Handle("/v1/attachments", attachments)
	srv.mux.Handle("/v1/attachments/", attachments)
	srv.mux.Handle("/", public(assets, reads, ""))
	return srv, nil
}

// ServeHTTP routes a request.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	srv.serveObserved(w, r)
}

// Close drops the links; every visitor socket is closed with 1013 so the
// widgets reconnect to another edge or to this one restarted. It waits a
// few seconds at most for those close frames to go out.
func (srv *Server) Close() {
	srv.origins.close()
	srv.Pool.Close()
	done := make(chan struct{})
	go func() { srv.visitors.running.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(6 * time.Second):
	}
}

// Drain is the first half of a graceful stop, for a deploy: new visitor
// sockets are refused and every open one is closed with
// widget.CloseServiceRestart, so its widget reconnects at once to whatever
// answers the edge's address next. It returns when the sockets are gone or
// ctx ends; the links stay up meanwhile, so frames already relayed are
// answered. Call Close after it.
func (srv *Server) Drain(ctx context.Context) {
	srv.draining.Store(true)
	srv.visitors.drain(ctx)
}

// Draining reports whether Drain has begun.
func (srv *Server) Draining() bool { return srv.draining.Load() }

// healthz answers 200 while the edge runs, with how many backend links are
// up (an edge without links still serves assets and cached configs).
func (srv *Server) healthz(w http.ResponseWriter, r *http.Request) {
	body, _ := json.Marshal(map[string]any{"status": "ok", "version": version.Version, "links": srv.Pool.Live(), "links_wanted": srv.s.LinkCount})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(append(body, '\n'))
}

// newProxy forwards to the backend, WebSocket upgrades included.
func newProxy(backend *url.URL, s Settings) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Transport: s.transport(),
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(backend)
			// Rewrite drops client-sent X-Forwarded-* headers, so what the
			// backend sees is what this edge observed, or what a trusted
			// TLS proxy in front of it (EDGE_TRUSTED_PROXIES) told it.
			pr.SetXForwarded()
			pr.Out.Header.Set("X-Forwarded-For", s.clientIP(pr.In))
			if peer, err := netip.ParseAddrPort(pr.In.RemoteAddr); err == nil && s.trusted(peer.Addr()) {
				if p := pr.In.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
					pr.Out.Header.Set("X-Forwarded-Proto", p)
				}
			}
			// Keep the public Host: the backend builds links and checks
			// inbox WebSocket origins against it.
			pr.Out.Host = pr.In.Host
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			slog.Warn("edge: backend unreachable", "path", r.URL.Path, "err", err)
			http.Error(w, "The service is temporarily unavailable. Please try again in a moment.", http.StatusBadGateway)
		},
	}
}

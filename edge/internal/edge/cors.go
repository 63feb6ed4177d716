package edge

import (
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/parleychat/parley/internal/origins"
	"github.com/parleychat/parley/widget"
)

// public wraps what host pages on other origins fetch: files, configs,
// the knowledge base, attachments. Every answer may be read by any page
// (no credentials are ever needed: the widget uses no cookie of the
// edge's), embedded by pages with Cross-Origin-Embedder-Policy, and timed
// by the owner's measurements. Preflights are answered here with the
// methods and request headers given.
func public(h http.Handler, methods, headers string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			ph := w.Header()
			setPublic(ph)
			ph.Set("Access-Control-Allow-Methods", methods)
			if headers != "" {
				ph.Set("Access-Control-Allow-Headers", headers)
			}
			ph.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.ServeHTTP(&publicWriter{ResponseWriter: w}, r)
	})
}

// CrossOrigin wraps h as the edge wraps its public files and configs:
// readable and embeddable by pages of any origin, preflights answered.
func CrossOrigin(h http.Handler) http.Handler { return public(h, "GET, HEAD, OPTIONS", "") }

// setPublic sets the cross-origin headers, replacing any a backend sent
// (two Access-Control-Allow-Origin values fail the request).
func setPublic(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("Timing-Allow-Origin", "*")
	h.Set("X-Content-Type-Options", "nosniff")
}

// publicWriter sets the cross-origin headers just before the status goes
// out, after the wrapped handler (or the reverse proxy copying the
// backend's answer) has set its own.
type publicWriter struct {
	http.ResponseWriter
	wrote bool
}

func (p *publicWriter) WriteHeader(code int) {
	if !p.wrote {
		p.wrote = true
		setPublic(p.ResponseWriter.Header())
	}
	p.ResponseWriter.WriteHeader(code)
}

func (p *publicWriter) Write(b []byte) (int, error) {
	if !p.wrote {
		p.WriteHeader(http.StatusOK)
	}
	return p.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (the reverse
// proxy flushes through it).
func (p *publicWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// pageOrigin returns the Origin header of a request from a page on
// another origin, or "" when no page asked (an app) or the page is the
// edge's own (the inbox's chatflow preview is served through the edge).
// The request's scheme is its own, or a trusted proxy's X-Forwarded-Proto.
func (s Settings) pageOrigin(r *http.Request) string {
	o := r.Header.Get("Origin")
	if o == "" {
		return ""
	}
	https := r.TLS != nil
	if peer, err := netip.ParseAddrPort(r.RemoteAddr); err == nil && s.trusted(peer.Addr()) {
		https = https || r.Header.Get("X-Forwarded-Proto") == "https"
	}
	if u, err := url.Parse(o); err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host) && (u.Scheme == "https") == https {
		return ""
	}
	return o
}

// refuseOrigin answers 403 origin_not_allowed when allowed (an account's
// list) does not name the page asking, and reports whether it did.
func (s Settings) refuseOrigin(w http.ResponseWriter, r *http.Request, allowed []string, site string) bool {
	origin := s.pageOrigin(r)
	msg := ""
	switch origins.Check(allowed, origin) {
	case origins.Allowed:
		return false
	case origins.Refused:
		msg = "the chat of site " + site + " is not allowed on " + origin +
			": its account's allowed domains do not name this host, so the chat stays off."
	case origins.Malformed:
		msg = "the chat of site " + site + " runs only on pages of its allowed domains; this request's Origin (" +
			quoteOrigin(origin) + ") names no such page (a sandboxed frame or a file:// page sends \"null\")."
	}
	slog.Info("edge: origin refused", "site", site, "origin", quoteOrigin(origin))
	w.Header().Set("Cache-Control", "no-store")
	writeJSONError(w, http.StatusForbidden, widget.ErrOriginNotAllowed, msg)
	return true
}

// quoteOrigin shows an untrusted header in a message, bounded.
func quoteOrigin(o string) string {
	if len(o) > 200 {
		o = o[:200] + "…"
	}
	return strings.ToValidUTF8(o, "?")
}

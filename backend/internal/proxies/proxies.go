// Package proxies decides which peers' forwarding headers the backend
// believes, and sets the security headers every answer carries.
//
// X-Forwarded-For, X-Real-IP, X-Forwarded-Host, X-Forwarded-Proto and
// Forwarded say who the client was, but any client can send them. They are
// believed only from a trusted proxy (the edge): from any other peer they
// are removed before a handler sees the request, so sign-in throttling and
// logs use the peer's own address and nothing else reads a forged host or
// scheme.
package proxies

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// DefaultTrusted is the trusted proxies' default: the loopback addresses,
// where `make run` and the tests run the edge beside the backend.
const DefaultTrusted = "127.0.0.0/8,::1/128"

// forwarding lists the headers only a trusted proxy may set.
var forwarding = []string{"X-Forwarded-For", "X-Real-IP", "X-Forwarded-Host", "X-Forwarded-Proto",
	"X-Forwarded-Port", "X-Forwarded-Prefix", "X-Forwarded-Server", "Forwarded"}

// Trusted is a set of proxy addresses.
type Trusted struct {
	nets []*net.IPNet
	list []string // as gin's SetTrustedProxies takes them
}

// Parse reads a comma- or space-separated list of IP addresses and CIDR
// ranges; "" (or "none") trusts no proxy.
func Parse(list string) (Trusted, error) {
	var t Trusted
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		if f == "none" {
			continue
		}
		cidr := f
		if !strings.Contains(f, "/") {
			ip := net.ParseIP(f)
			if ip == nil {
				return Trusted{}, fmt.Errorf("trusted proxy %q is not an IP address or CIDR range", f)
			}
			if ip.To4() != nil {
				cidr = f + "/32"
			} else {
				cidr = f + "/128"
			}
		}
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			return Trusted{}, fmt.Errorf("trusted proxy %q is not an IP address or CIDR range", f)
		}
		t.nets = append(t.nets, n)
		t.list = append(t.list, n.String())
	}
	return t, nil
}

// Has reports whether the peer at remoteAddr ("host:port" or a bare IP) is
// a trusted proxy.
func (t Trusted) Has(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	for _, n := range t.nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// Wrap makes r believe forwarding headers from trusted proxies only: gin's
// ClientIP walks X-Forwarded-For back past trusted hops only, and every
// forwarding header of an untrusted peer is removed before r runs (gin's own
// redirects included). X-Forwarded-Prefix is removed from every request:
// nothing uses it, and gin's trailing-slash redirect would put it in front
// of the Location it builds.
func (t Trusted) Wrap(r *gin.Engine) (http.Handler, error) {
	if err := r.SetTrustedProxies(t.list); err != nil {
		return nil, err
	}
	r.RemoteIPHeaders = []string{"X-Forwarded-For", "X-Real-IP"}
	r.ForwardedByClientIP = true
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		req.Header.Del("X-Forwarded-Prefix")
		if !t.Has(req.RemoteAddr) {
			for _, h := range forwarding {
				req.Header.Del(h)
			}
		}
		r.ServeHTTP(w, req)
	}), nil
}

// HTTPS reports whether the client's request came over HTTPS: TLS to this
// process, or a trusted proxy's X-Forwarded-Proto (Wrap has removed an
// untrusted peer's).
func HTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	p := strings.TrimSpace(strings.Split(r.Header.Get("X-Forwarded-Proto"), ",")[0])
	return strings.EqualFold(p, "https")
}

// SecurityHeaders is the default for every answer: no framing, no MIME
// sniffing, no referrer leaving the backend, and a content policy that lets
// an answer load nothing. Handlers that serve pages set their own policy
// over it (the inbox pages; the chatflow preview, which the inbox frames).
func SecurityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	c.Next()
}

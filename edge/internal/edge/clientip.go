package edge

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParsePrefixes reads a comma-separated list of addresses and CIDR
// prefixes ("127.0.0.1, 10.0.0.0/8"); a bad entry is an error naming it,
// and the good ones are still returned.
func ParsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var bad []string
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(f); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		} else {
			bad = append(bad, f)
		}
	}
	if len(bad) > 0 {
		return out, fmt.Errorf("not an address or prefix: %q", bad)
	}
	return out, nil
}

// trusted reports whether addr belongs to a configured proxy.
func (s Settings) trusted(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range s.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// clientIP is the visitor's address: the connection's own, or, when that
// is a trusted proxy, the nearest X-Forwarded-For address that is not one
// (a client can put anything at the start of the header; only what the
// proxies appended is believed).
func (s Settings) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(peer) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // garbage: stop at the last address a proxy vouched for
		}
		if !s.trusted(a) {
			return a.Unmap().String()
		}
		peer = a
	}
	return peer.Unmap().String()
}

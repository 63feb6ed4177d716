// Package origins decides which web pages may run an account's chat: the
// account lists host names ("shop.example", "*.shop.example"), and a
// browser's Origin header is matched against them. The edge (site configs)
// and the backend (hello) both ask here, so the rule has one home.
package origins

import (
	"errors"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// MaxEntries bounds an account's list; MaxEntryLen is a DNS name's length.
const (
	MaxEntries  = 100
	MaxEntryLen = 253
)

// label is one DNS label (international names in their xn-- form).
var label = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Normalize checks one entry of an allowed-domains list and returns it in
// the form stored and matched: lower case, no trailing dot. An entry is a
// host name ("shop.example", "localhost"), an IPv4 address, or a wildcard
// "*.shop.example" that matches every name below shop.example (not
// shop.example itself). Schemes, ports and paths are refused: the list names
// hosts, and any scheme or port on them is allowed.
func Normalize(entry string) (string, error) {
	e := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(entry)), ".")
	switch {
	case e == "":
		return "", errors.New("is empty")
	case len(e) > MaxEntryLen:
		return "", errors.New("is longer than a host name can be (253 characters)")
	case strings.Contains(e, "://") || strings.ContainsAny(e, "/:?#@[] "):
		return "", errors.New("must be a host name like shop.example or *.shop.example, without scheme, port or path")
	}
	if ip := net.ParseIP(e); ip != nil {
		if ip.To4() == nil {
			return "", errors.New("must be a host name or an IPv4 address")
		}
		return ip.String(), nil
	}
	name := e
	if rest, ok := strings.CutPrefix(e, "*."); ok {
		name = rest
		if !strings.Contains(name, ".") {
			return "", errors.New("a wildcard must stand before at least two labels, like *.shop.example")
		}
	}
	for _, l := range strings.Split(name, ".") {
		if !label.MatchString(l) {
			return "", errors.New("must be a host name like shop.example or *.shop.example (letters, digits and hyphens; a * only as the first label)")
		}
	}
	return e, nil
}

// Host returns the lower-case host of a browser's Origin header
// ("https://Shop.Example:8443" → "shop.example"), or false when the header
// is not a serialized http(s) origin: "null" (sandboxed frames, file://
// pages), garbage, or a URL with a path.
func Host(origin string) (string, bool) {
	if origin == "" || origin == "null" {
		return "", false
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	h := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if h == "" {
		return "", false
	}
	return h, true
}

// Verdict is the answer for one request.
type Verdict int

const (
	// Allowed: the chat may run (the list is empty, the request is not from
	// a browser page, or its host is listed).
	Allowed Verdict = iota
	// Refused: a page whose host the list does not name.
	Refused
	// Malformed: an Origin header that names no page ("null", garbage)
	// while the account restricts where its chat runs.
	Malformed
)

// Check applies an account's list to a request's Origin header. An empty
// list allows everything (a fresh install works at once). No Origin header
// means no web page asked (an app, or a same-origin GET), which the list
// does not govern.
func Check(allowed []string, origin string) Verdict {
	if len(allowed) == 0 || origin == "" {
		return Allowed
	}
	host, ok := Host(origin)
	if !ok {
		return Malformed
	}
	if Match(allowed, host) {
		return Allowed
	}
	return Refused
}

// Match reports whether host (lower case) is named by a normalized list.
func Match(allowed []string, host string) bool {
	for _, a := range allowed {
		if suffix, ok := strings.CutPrefix(a, "*"); ok {
			if strings.HasSuffix(host, suffix) && len(host) > len(suffix) {
				return true
			}
		} else if a == host {
			return true
		}
	}
	return false
}

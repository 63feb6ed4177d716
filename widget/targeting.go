package widget

import (
	"strconv"
	"strings"
)

// Device types targeting rules name.
const (
	DeviceDesktop = "desktop"
	DeviceTablet  = "tablet"
	DeviceMobile  = "mobile"
)

// Targets reports whether chatflow c may show on visit v: no
// exclusion matches, and either there are no filter groups or every rule of
// at least one group matches (AND within a group, OR across groups).
func Targets(c *ChatflowConfig, v Visit) bool {
	for _, r := range c.Targeting.Exclusions {
		if RuleMatches(r, v) {
			return false
		}
	}
	if len(c.Targeting.Groups) == 0 {
		return true
	}
	for _, g := range c.Targeting.Groups {
		if groupMatches(g, v) {
			return true
		}
	}
	return false
}

func groupMatches(g RuleGroup, v Visit) bool {
	if len(g.Rules) == 0 {
		return false // an empty group matches nothing rather than everything
	}
	for _, r := range g.Rules {
		if !RuleMatches(r, v) {
			return false
		}
	}
	return true
}

// RuleMatches evaluates one rule. Text comparisons ignore case. A URL rule
// whose value starts with "/" compares with the page's path (and query),
// otherwise with the whole URL; "is" ignores a trailing slash. A rule about
// a value the visit does not have (a missing query parameter or contact
// property) matches only with a negative operator.
func RuleMatches(r Rule, v Visit) bool {
	switch r.Kind {
	case RuleURL:
		subject := v.URL
		if strings.HasPrefix(r.Value, "/") {
			subject = pathOf(v.URL)
		}
		return compare(r.Op, subject, r.Value, true)
	case RuleQueryParam:
		vals, ok := v.Query[r.Name]
		if !ok {
			return negative(r.Op)
		}
		if negative(r.Op) { // no value of the parameter may match the positive form
			pos := positiveOf(r.Op)
			for _, val := range vals {
				if compare(pos, val, r.Value, false) {
					return false
				}
			}
			return true
		}
		for _, val := range vals {
			if compare(r.Op, val, r.Value, false) {
				return true
			}
		}
		return false
	case RuleDevice:
		return compare(r.Op, v.Device, r.Value, false)
	case RuleVisitor:
		known := r.Value == "known"
		return v.Known == known
	case RuleContactProperty:
		val, ok := v.Contact[r.Name]
		if !ok {
			return negative(r.Op)
		}
		return compare(r.Op, val, r.Value, false)
	case RuleReferrer:
		if v.Referrer == "" { // typed in, a bookmark, or a referrer the site withholds
			return negative(r.Op)
		}
		return compare(r.Op, v.Referrer, r.Value, false)
	case RulePageViews:
		n, ok := ParseInt(r.Value)
		switch {
		case r.Op == OpGreaterThan:
			return ok && int64(v.PageViews) > n
		case r.Op == OpLessThan:
			return ok && int64(v.PageViews) < n
		}
		return compare(r.Op, strconv.Itoa(v.PageViews), r.Value, false)
	}
	return false // an unknown kind never matches (and so never excludes)
}

func negative(op string) bool { return op == OpIsNot || op == OpNotContains }

func positiveOf(op string) string {
	if op == OpIsNot {
		return OpIs
	}
	return OpContains
}

// compare applies op to subject and value, ignoring case. trimSlash makes
// "is" treat "…/pricing/" and "…/pricing" alike (URLs).
func compare(op, subject, value string, trimSlash bool) bool {
	s, val := Lower(subject), Lower(value)
	switch op {
	case OpIs, OpIsNot:
		eq := s == val
		if trimSlash {
			eq = strings.TrimSuffix(s, "/") == strings.TrimSuffix(val, "/")
		}
		return eq == (op == OpIs)
	case OpContains:
		return index(s, val) >= 0
	case OpNotContains:
		return index(s, val) < 0
	case OpStartsWith:
		return strings.HasPrefix(s, val)
	case OpEndsWith:
		return strings.HasSuffix(s, val)
	case OpWildcard:
		return Wildcard(val, s)
	}
	return false
}

// Wildcard reports whether s matches pattern, where "*" matches any run of
// characters (also none) and everything else matches itself. It runs in
// O(len(pattern)·len(s)) time at worst, whatever the input.
func Wildcard(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// pathOf returns the path, query and fragment of an absolute URL ("/" if none).
func pathOf(u string) string {
	if i := index(u, "://"); i >= 0 {
		rest := u[i+3:]
		for j := 0; j < len(rest); j++ {
			switch rest[j] {
			case '/':
				return rest[j:]
			case '?', '#':
				return "/" + rest[j:]
			}
		}
		return "/"
	}
	return u
}

// ParseQuery splits a URL's query string into parameters, decoding "+" and
// %XX escapes; malformed escapes are kept as written. (The wasm build keeps
// net/url out for size.)
func ParseQuery(u string) map[string][]string {
	q := map[string][]string{}
	if i := strings.IndexByte(u, '#'); i >= 0 {
		u = u[:i]
	}
	i := strings.IndexByte(u, '?')
	if i < 0 {
		return q
	}
	for rest := u[i+1:]; rest != ""; {
		var part string
		part, rest, _ = cut(rest, "&")
		if part == "" {
			continue
		}
		k, v, _ := cut(part, "=")
		k = unescape(k)
		q[k] = append(q[k], unescape(v))
	}
	return q
}

func unescape(s string) string {
	if indexAnyByte(s, "+%") < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

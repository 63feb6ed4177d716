package widget

import "strings"

// TextPart is a run of a message's text: plain text, or a link when Href
// is set (Text is then the address as written).
type TextPart struct {
	Text string
	Href string
}

// LinkParts splits message text into plain runs and the http(s)
// addresses in it, so a client can make only those clickable and show the
// rest as text. An address starts with http:// or https:// at the start of
// a word, has a host, and runs to the next space or character no address
// holds; trailing punctuation (and a closing parenthesis without its
// opening one) stays text. Nothing else (javascript:, data:, www. without
// a scheme) ever becomes a link.
func LinkParts(text string) []TextPart {
	var parts []TextPart
	rest, plain := text, 0
	for {
		i := nextLink(rest[plain:])
		if i < 0 {
			break
		}
		start := plain + i
		end := start
		for end < len(rest) && strings.IndexByte(" \t\r\n<>\"`{}|\\^", rest[end]) < 0 && rest[end] >= 0x20 {
			end++
		}
		addr := trimLink(rest[start:end])
		if !hasHost(addr) {
			plain = start + len("http://")
			continue
		}
		if start > 0 {
			parts = append(parts, TextPart{Text: rest[:start]})
		}
		parts = append(parts, TextPart{Text: addr, Href: addr})
		rest, plain = rest[start+len(addr):], 0
	}
	if rest != "" {
		parts = append(parts, TextPart{Text: rest})
	}
	return parts
}

// nextLink returns the index in s of the next "http://" or "https://"
// (any case) that starts a word, or -1.
func nextLink(s string) int {
	for i := 0; i+7 <= len(s); i++ {
		if (hasPrefixFold(s[i:], "http://") || hasPrefixFold(s[i:], "https://")) && (i == 0 || !isWordByte(s[i-1])) {
			return i
		}
	}
	return -1
}

// hasPrefixFold is strings.HasPrefix ignoring ASCII case (prefix is lower case).
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := range len(prefix) {
		if c := s[i]; c|0x20 != prefix[i] && c != prefix[i] {
			return false
		}
	}
	return true
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b >= 0x80
}

// trimLink drops what ends a sentence rather than an address.
func trimLink(a string) string {
	for len(a) > 0 {
		c := a[len(a)-1]
		switch {
		case strings.IndexByte(".,;:!?'*", c) >= 0:
		case c == ')' && count(a, '(') < count(a, ')'):
		case c == ']' && count(a, '[') < count(a, ']'):
		default:
			return a
		}
		a = a[:len(a)-1]
	}
	return a
}

// hasHost reports whether the address names a host after its scheme.
func hasHost(a string) bool {
	_, after, ok := cut(a, "://")
	if !ok {
		return false
	}
	host, _, _ := cut(after, "/")
	host, _, _ = cut(host, "?")
	host, _, _ = cut(host, "#")
	return host != "" && !strings.HasPrefix(host, ":") && !strings.HasPrefix(host, "@")
}

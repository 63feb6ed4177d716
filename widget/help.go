package widget

import "strings"

// SnippetPart is a piece of a knowledge-base search snippet: text, marked
// when it matched the search.
type SnippetPart struct {
	Text string
	Mark bool
}

// SnippetParts reads a search result's snippet (escaped text with the
// matches in <mark>…</mark>, PROTOCOL.md) into parts the widget shows
// with textContent, so nothing of it is ever parsed as HTML. Any other
// tag is kept as text.
func SnippetParts(s string) []SnippetPart {
	var parts []SnippetPart
	mark := false
	for s != "" {
		tag := "<mark>"
		if mark {
			tag = "</mark>"
		}
		i := index(s, tag)
		chunk := s
		if i >= 0 {
			chunk, s = s[:i], s[i+len(tag):]
		} else {
			s = ""
		}
		if chunk != "" {
			parts = append(parts, SnippetPart{Text: unescapeHTML(chunk), Mark: mark})
		}
		if i >= 0 {
			mark = !mark
		}
	}
	return parts
}

// unescapeHTML undoes html.EscapeString's five entities (the only ones a
// snippet holds); anything else stays as it is.
func unescapeHTML(s string) string {
	if index(s, "&") < 0 {
		return s
	}
	for _, r := range [...][2]string{{"&lt;", "<"}, {"&gt;", ">"}, {"&#34;", `"`}, {"&quot;", `"`}, {"&#39;", "'"}, {"&amp;", "&"}} {
		s = replace(s, r[0], r[1])
	}
	return s
}

// ArticlePath checks a bot answer's link: the path of a help article on
// the edge, /v1/sites/{site}/kb/{kb}/articles/{id}, of this site. ok is
// false for anything else, which the widget then does not follow.
func ArticlePath(link, site string) bool {
	rest, ok := strings.CutPrefix(link, "/v1/sites/"+site+"/kb/")
	if !ok {
		return false
	}
	kb, id, ok := cut(rest, "/articles/")
	return ok && digits(kb) && digits(id)
}

func digits(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// SafeHref reports whether a consent part's link may become an <a>: an
// absolute http or https URL. The server sends no other; the widget
// checks anyway, so a javascript: link can never render.
func SafeHref(href string) bool {
	h := Lower(href)
	rest, ok := strings.CutPrefix(h, "https://")
	if !ok {
		rest, ok = strings.CutPrefix(h, "http://")
	}
	return ok && rest != "" && rest[0] != '/' && indexAnyByte(href, "\x00\t\n\r \\") < 0
}

package inbox

import (
	"html/template"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// webAddress finds http(s) addresses in a message; anything else (javascript:,
// data:, mailto:) stays text.
var webAddress = regexp.MustCompile(`(?i)https?://[^\s<>"'\x60]+`)

// linkify renders message text as HTML: every character escaped, and each
// http(s) address a link that opens in a new tab without handing the
// inbox's window (or its address) to the site.
func linkify(s string) template.HTML {
	var b strings.Builder
	at := 0
	for _, m := range webAddress.FindAllStringIndex(s, -1) {
		if m[0] < at {
			continue
		}
		// Trailing punctuation ends a sentence, not the address.
		u := strings.TrimRight(s[m[0]:m[1]], ".,;:!?)]}")
		b.WriteString(template.HTMLEscapeString(s[at:m[0]]))
		if pu, err := url.Parse(u); err == nil && (strings.EqualFold(pu.Scheme, "http") || strings.EqualFold(pu.Scheme, "https")) && pu.Host != "" {
			esc := template.HTMLEscapeString(u)
			b.WriteString(`<a href="` + esc + `" target="_blank" rel="noopener noreferrer nofollow">` + esc + `</a>`)
		} else {
			b.WriteString(template.HTMLEscapeString(u))
		}
		at = m[0] + len(u)
	}
	b.WriteString(template.HTMLEscapeString(s[at:]))
	return template.HTML(b.String())
}

// isInlineImage reports whether a file of content type ct is shown as a
// thumbnail: the raster types the upload accepts (never SVG, which can
// carry script).
func isInlineImage(ct string) bool {
	switch ct {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		return true
	}
	return false
}

// initials are the first letters of a name's first two words, for an
// avatar without a picture.
func initials(name string) string {
	var out []rune
	for _, w := range strings.Fields(name) {
		r, _ := utf8.DecodeRuneInString(w)
		out = append(out, unicode.ToUpper(r))
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

// unreadBadge is a row's unread count as shown: rows count up to
// store.UnreadCap, and a page shows "99+" beyond 99 (as inbox.js does).
func unreadBadge(n int) string {
	if n > 99 {
		return "99+"
	}
	return strconv.Itoa(n)
}

package kb_test

import (
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/parleychat/parley/backend/internal/kb"
	"github.com/parleychat/parley/backend/internal/store"
)

var (
	eventAttr = regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)
	anyTag    = regexp.MustCompile(`<[^>]*>`)
	urlAttr   = regexp.MustCompile(`(?i)\s(?:href|src|action|formaction|srcset|xlink:href)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))`)
)

// scriptScheme reports whether a URL attribute value, as a browser reads
// it (entities decoded, tabs and newlines dropped, leading spaces and
// controls trimmed), names a scheme that runs code. "#javascript:" or
// "a/javascript:" are relative and harmless.
func scriptScheme(raw string) bool {
	v := strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, html.UnescapeString(raw))
	v = strings.TrimLeft(v, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	i := strings.IndexAny(v, ":/?#")
	if i < 0 || v[i] != ':' {
		return false
	}
	switch strings.ToLower(v[:i]) {
	case "javascript", "vbscript", "data":
		return true
	}
	return false
}

// FuzzRender: whatever Markdown an author writes, the HTML carries no
// script, event handler or javascript: URL, and a snippet no tag but <mark>.
func FuzzRender(f *testing.F) {
	f.Add(hostile)
	f.Add("<scr<script>ipt>alert(1)</script>\n\n[a](java\tscript:x) <a href='jav&#x09;ascript:x'>b</a>")
	f.Add("```\n<script>\n```\n\n| a | <b onclick=x>b</b> |\n|---|---|\n| 1 | 2 |")
	f.Fuzz(func(t *testing.T, md string) {
		r, err := kb.Render("t", md)
		if err != nil {
			t.Fatal(err)
		}
		// Text may say "javascript:"; no URL attribute may run it, and no
		// tag may be a script or carry a handler.
		for _, tag := range anyTag.FindAllString(r.HTML, -1) {
			low := strings.ToLower(tag)
			if strings.HasPrefix(low, "<script") || strings.HasPrefix(low, "<iframe") || eventAttr.MatchString(tag) {
				t.Fatalf("unsafe tag %s from %q:\n%s", tag, md, r.HTML)
			}
			for _, m := range urlAttr.FindAllStringSubmatch(tag, -1) {
				if scriptScheme(m[1] + m[2] + m[3]) {
					t.Fatalf("script URL in %s from %q:\n%s", tag, md, r.HTML)
				}
			}
		}
		snip := kb.Snippet(store.HighlightStart + md + store.HighlightStop + r.Text)
		for _, tag := range anyTag.FindAllString(snip, -1) {
			if tag != "<mark>" && tag != "</mark>" {
				t.Fatalf("snippet tag %q from %q", tag, md)
			}
		}
	})
}

func TestScriptScheme(t *testing.T) {
	for raw, want := range map[string]bool{
		"javascript:alert(1)":        true,
		" JaVa\tScRiPt:x":            true,
		"&#106;avascript:x":          true,
		"\x01javascript:x":           true,
		"data:text/html,x":           true,
		"#00000jAvAsCript:":          false,
		"a/javascript:x":             false,
		"?q=javascript:x":            false,
		"https://example.com/j:x":    false,
		"mailto:someone@example.com": false,
	} {
		if got := scriptScheme(raw); got != want {
			t.Errorf("scriptScheme(%q) = %v, want %v", raw, got, want)
		}
	}
}

package kb_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/parleychat/parley/backend/kb"
	"github.com/parleychat/parley/backend/store"
)

var (
	eventAttr = regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)
	anyTag    = regexp.MustCompile(`<[^>]*>`)
)

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
		// Text may say "javascript:"; tags may not carry it, nor handlers.
		for _, tag := range anyTag.FindAllString(r.HTML, -1) {
			low := strings.ToLower(tag)
			if strings.HasPrefix(low, "<script") || strings.Contains(low, "javascript:") || eventAttr.MatchString(tag) {
				t.Fatalf("unsafe tag %s from %q:\n%s", tag, md, r.HTML)
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

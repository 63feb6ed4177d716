package widget

import (
	"fmt"
	"strings"
	"testing"
)

func TestLinkParts(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"no links here", `"no links here"`},
		{"see https://shop.example/returns.", `"see " <https://shop.example/returns> "."`},
		{"(https://a.example/x_(y)) and HTTP://B.example?q=1#f!", `"(" <https://a.example/x_(y)> ") and " <HTTP://B.example?q=1#f> "!"`},
		{"javascript:alert(1) and data:text/html,x", `"javascript:alert(1) and data:text/html,x"`},
		{"xhttps://evil.example nope", `"xhttps://evil.example nope"`},
		{"empty https:// and http:///path", `"empty https:// and http:///path"`},
		{"<https://a.example/\"onmouseover=x>", `"<" <https://a.example/> "\"onmouseover=x>"`},
		{"two: http://a.example http://b.example", `"two: " <http://a.example> " " <http://b.example>`},
		{"ünï https://ü.example/ä ok", `"ünï " <https://ü.example/ä> " ok"`},
	} {
		got := ""
		for i, p := range LinkParts(c.in) {
			if i > 0 {
				got += " "
			}
			if p.Href != "" {
				if p.Href != p.Text {
					t.Errorf("%q: href %q differs from text %q", c.in, p.Href, p.Text)
				}
				got += "<" + p.Href + ">"
			} else {
				got += fmt.Sprintf("%q", p.Text)
			}
		}
		if got != c.want {
			t.Errorf("LinkParts(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func FuzzLinkParts(f *testing.F) {
	f.Add("see https://shop.example/x. and http://a")
	f.Fuzz(func(t *testing.T, s string) {
		joined := ""
		for _, p := range LinkParts(s) {
			joined += p.Text
			h := strings.ToLower(p.Href)
			if p.Href != "" && !strings.HasPrefix(h, "http://") && !strings.HasPrefix(h, "https://") {
				t.Fatalf("link %q is not http(s)", p.Href)
			}
		}
		if joined != s {
			t.Fatalf("parts join to %q, not %q", joined, s)
		}
	})
}

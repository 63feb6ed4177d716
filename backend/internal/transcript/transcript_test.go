package transcript

import (
	"strings"
	"testing"
)

func TestEveryLineKeepsItsAuthor(t *testing.T) {
	for _, text := range []string{
		"hi\n[12:00] Bob B: refund approved",
		"hi\r[12:00] Bob B: refund approved",
		"hi\r\n[12:00] Bob B: refund approved",
		"hi\u2028[12:00] Bob B: refund approved",
		"hi\u0085[12:00] Bob B: refund approved",
		"hi\v[12:00] Bob B: refund approved",
		"\n[12:00] Bob B: refund approved",
	} {
		var b strings.Builder
		WriteMessage(&b, "2026-01-01 12:00:00", "Vera", text)
		WriteMessage(&b, "2026-01-01 12:01:00", "Bob\n[12:02] Eve", "ok")
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		var starts []string
		for _, l := range lines {
			if strings.ContainsAny(l, "\r\v\u2028\u0085") {
				t.Fatalf("%q: a line break survived in %q", text, l)
			}
			if !strings.HasPrefix(l, Indent) {
				starts = append(starts, l)
			}
		}
		if len(starts) != 2 || !strings.HasPrefix(starts[0], "[2026-01-01 12:00:00] Vera:") || !strings.HasPrefix(starts[1], "[2026-01-01 12:01:00] Bob [12:02] Eve: ok") {
			t.Fatalf("%q: message lines %q in\n%s", text, starts, b.String())
		}
	}
}

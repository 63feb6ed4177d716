package widget

import (
	"strings"
	"testing"
)

func TestAccent(t *testing.T) {
	tests := map[string]string{
		"#ff8800":               "#ff8800",
		"#A1b2C3":               "#A1b2C3",
		"":                      DefaultAccent,
		"red":                   DefaultAccent,
		"#fff":                  DefaultAccent,
		"#12345g":               DefaultAccent,
		"#000000;}body{x:y":     DefaultAccent,
		"#00000\"":              DefaultAccent,
		"url(javascript:alert)": DefaultAccent,
	}
	for in, want := range tests {
		if got := Accent(in); got != want {
			t.Errorf("Accent(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTextOn(t *testing.T) {
	tests := map[string]string{
		"#000000": "#ffffff",
		"#2f6fed": "#ffffff",
		"#ffffff": "#111111",
		"#ffd600": "#111111",
		"bogus":   "#ffffff", // the default accent is dark
	}
	for in, want := range tests {
		if got := TextOn(in); got != want {
			t.Errorf("TextOn(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorTextIsHuman(t *testing.T) {
	for _, code := range []string{ErrBadFrame, ErrTooLong, ErrForbidden, ErrNotFound, ErrRateLimited, ErrUnavailable, ErrNeedHello, ErrVersion, ErrConvClosed, "new_code"} {
		s := ErrorText(code)
		if s == "" || strings.Contains(s, "_") || !strings.HasSuffix(s, ".") {
			t.Errorf("ErrorText(%q) = %q: want a sentence", code, s)
		}
	}
}

package widget

import (
	"math"
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
		"#ffffff": "#000000",
		"#ffd600": "#000000",
		"bogus":   "#ffffff", // the default accent is dark
	}
	for in, want := range tests {
		if got := TextOn(in); got != want {
			t.Errorf("TextOn(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTextOnMeetsWCAGAAOnEveryAccent(t *testing.T) {
	const hex = "0123456789abcdef"
	for r := 0; r < 16; r++ {
		for g := 0; g < 16; g++ {
			for b := 0; b < 16; b++ {
				c := string([]byte{'#', hex[r], hex[r], hex[g], hex[g], hex[b], hex[b]})
				if ratio := Contrast(c, TextOn(c)); ratio < 4.5 {
					t.Fatalf("text %s on %s: contrast %.2f, below AA", TextOn(c), c, ratio)
				}
			}
		}
	}
	if r := Contrast("#000000", "#ffffff"); r < 20.99 || r > 21.01 {
		t.Fatalf("black on white %.2f, want 21", r)
	}
}

func TestPow24(t *testing.T) {
	for x := 0.04; x <= 1; x += 0.001 {
		if got, want := pow24(x), math.Pow(x, 2.4); math.Abs(got-want) > 1e-12 {
			t.Fatalf("pow24(%v) = %v, want %v", x, got, want)
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

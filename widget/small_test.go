package widget

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseIntAgreesWithStrconv(t *testing.T) {
	for _, s := range []string{"", "0", "7", "-7", "+7", "+", "-", "--1", "1_000", "12a", " 1", "0012",
		"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
		"18446744073709551616", "99999999999999999999", "٣"} {
		want, err := strconv.ParseInt(s, 10, 64)
		got, ok := ParseInt(s)
		if ok != (err == nil) || ok && got != want {
			t.Errorf("ParseInt(%q) = %d, %v; strconv says %d, %v", s, got, ok, want, err)
		}
	}
}

func FuzzParseInt(f *testing.F) {
	f.Add("123")
	f.Add("-9223372036854775808")
	f.Fuzz(func(t *testing.T, s string) {
		want, err := strconv.ParseInt(s, 10, 64)
		got, ok := ParseInt(s)
		if ok != (err == nil) || ok && got != want {
			t.Errorf("ParseInt(%q) = %d, %v; strconv says %d, %v", s, got, ok, want, err)
		}
	})
}

func TestIndexAnyByteAgreesWithStrings(t *testing.T) {
	for _, s := range []string{"", "abc", "a&b", "é?x", "#", "x\\y", "tab\there", "ü"} {
		for _, set := range []string{"&#?", "\x00\t\n\r \\", "+%"} {
			if got, want := indexAnyByte(s, set), strings.IndexAny(s, set); got != want {
				t.Errorf("indexAnyByte(%q, %q) = %d, want %d", s, set, got, want)
			}
		}
	}
}

func FuzzIndexAgreesWithStrings(f *testing.F) {
	f.Add("a..b", "..")
	f.Add("https://x.example/a?b#c", "://")
	f.Add("", "")
	f.Add("abc", "")
	f.Fuzz(func(t *testing.T, s, sub string) {
		if got, want := index(s, sub), strings.Index(s, sub); got != want {
			t.Errorf("index(%q, %q) = %d, want %d", s, sub, got, want)
		}
		b, a, ok := cut(s, sub)
		wb, wa, wok := strings.Cut(s, sub)
		if b != wb || a != wa || ok != wok {
			t.Errorf("cut(%q, %q) = %q, %q, %v; want %q, %q, %v", s, sub, b, a, ok, wb, wa, wok)
		}
		if sub != "" {
			if got, want := count(s, sub[0]), strings.Count(s, sub[:1]); got != want {
				t.Errorf("count(%q, %q) = %d, want %d", s, sub[0], got, want)
			}
		}
	})
}

package widget

import "strings"

// Hand-written stand-ins for strconv and strings functions the widget uses
// once or twice: in the wasm each would bring code of its own (strconv's
// error values, the cutset and Split machinery of strings).

// ParseInt is strconv.ParseInt(s, 10, 64) reporting only whether s is a
// decimal integer (an optional sign, then digits) in range.
func ParseInt(s string) (int64, bool) {
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	limit := uint64(1<<63 - 1)
	if neg {
		limit++
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		d := uint64(s[i] - '0')
		if d > 9 || n > (limit-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	if neg {
		return -int64(n), true
	}
	return int64(n), true
}

// indexAnyByte is strings.IndexAny for a set of ASCII bytes.
func indexAnyByte(s, set string) int {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) >= 0 {
			return i
		}
	}
	return -1
}

// index is strings.Index without its Rabin-Karp and SIMD-sized paths: the
// widget searches short texts (addresses, cookies, a message) for short
// separators.
func index(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// cut is strings.Cut through index.
func cut(s, sep string) (before, after string, found bool) {
	if i := index(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// count is strings.Count for a one-byte separator.
func count(s string, c byte) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n++
		}
	}
	return n
}

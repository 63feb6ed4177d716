// Package textcheck is the one test of text entering Parley from outside
// (REST bodies, query and form values, path parameters, visitor frames):
// it must be valid UTF-8 and hold no NUL character. PostgreSQL stores
// neither a NUL in text nor invalid UTF-8, so such text would otherwise
// fail deep in a query as an error of the service rather than of the input.
package textcheck

import (
	"bytes"
	"encoding/json"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Problem is the message that goes with a refused field.
const Problem = "must be valid UTF-8 text without NUL characters"

// Valid reports whether s is valid UTF-8 without a NUL.
func Valid(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// JSON reports whether the JSON document b holds only valid text: valid
// UTF-8 throughout and no string (key or value) with a NUL, written as
// the \u0000 escape. When not, field is the JSON path of the first bad
// string ("name", "look.heading.text", "targeting.groups[0]"; "" for the
// document itself). Malformed JSON is left to the caller's decoder.
func JSON(b []byte) (field string, ok bool) {
	if utf8.Valid(b) && !hasNULEscape(b) {
		return "", true
	}
	// Walk the strings: encoding/json turns invalid UTF-8 into U+FFFD and
	// keeps a NUL, so the first string showing either is the culprit.
	rawValid := utf8.Valid(b)
	bad := func(s string) bool {
		return strings.ContainsRune(s, 0) || (!rawValid && strings.ContainsRune(s, utf8.RuneError))
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	type frame struct {
		object  bool
		key     string
		index   int
		wantKey bool
	}
	var stack []*frame
	path := func() string {
		var sb strings.Builder
		for _, f := range stack {
			if f.object {
				if sb.Len() > 0 {
					sb.WriteByte('.')
				}
				sb.WriteString(f.key)
			} else {
				sb.WriteString("[" + strconv.Itoa(f.index) + "]")
			}
		}
		return sb.String()
	}
	// after a value inside a container, move to the next key or index
	next := func() {
		if len(stack) == 0 {
			return
		}
		if top := stack[len(stack)-1]; top.object {
			top.wantKey = true
		} else {
			top.index++
		}
	}
	for {
		t, err := d.Token()
		if err == io.EOF {
			return "", !hasNULEscape(b) && rawValid // nothing found: judge the raw bytes
		}
		if err != nil {
			return path(), false
		}
		top := (*frame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := t.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, &frame{object: true, wantKey: true})
			case '[':
				stack = append(stack, &frame{})
			default:
				stack = stack[:len(stack)-1]
				next()
			}
		case string:
			if top != nil && top.object && top.wantKey {
				top.key, top.wantKey = v, false
				if bad(v) {
					return path(), false
				}
				continue
			}
			if bad(v) {
				return path(), false
			}
			next()
		default:
			next()
		}
	}
}

// hasNULEscape reports whether b holds the JSON escape \u0000 (any case),
// not counting an escaped backslash followed by "u0000".
func hasNULEscape(b []byte) bool {
	for i := 0; i+6 <= len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if b[i+1] == 'u' && string(b[i+2:i+6]) == "0000" {
			return true
		}
		i++ // skip the escaped character (a backslash, a quote, …)
	}
	return false
}

// Values returns the first name (sorted, for a stable answer) whose name or
// any value is not valid text.
func Values(v url.Values) (name string, ok bool) {
	names := make([]string, 0, len(v))
	for k := range v {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !Valid(k) {
			return strings.ToValidUTF8(strings.ReplaceAll(k, "\x00", ""), "?"), false
		}
		for _, s := range v[k] {
			if !Valid(s) {
				return k, false
			}
		}
	}
	return "", true
}

package inbox

import (
	"strconv"
	"unicode/utf8"
)

// appendFrame appends f as encoding/json's Encoder writes it (the same
// bytes, newline included) when f has only scalar fields, as a message,
// typing, read, page, visitor, viewing or error frame has; ok is false for
// a frame with rows, counts or a file, which the Encoder writes. A message
// frame is the one sent per message to every page following the thread,
// and reflection was most of what encoding it cost.
func appendFrame(b []byte, f *serverFrame) (_ []byte, ok bool) {
	if len(f.Items) != 0 || len(f.Removed) != 0 || len(f.AlertItems) != 0 || len(f.Counts) != 0 || f.File != nil {
		return b, false
	}
	b = append(b, `{"type":`...)
	b = appendJSONString(b, f.Type)
	b = appendInt(b, `,"conversation":`, f.Conversation)
	b = appendInt(b, `,"seq":`, f.Seq)
	b = appendField(b, `,"id":`, f.ID)
	b = appendField(b, `,"from":`, f.From)
	b = appendField(b, `,"name":`, f.Name)
	b = appendField(b, `,"text":`, f.Text)
	if f.Internal {
		b = append(b, `,"internal":true`...)
	}
	b = appendField(b, `,"at":`, f.At)
	b = appendField(b, `,"message":`, f.Message)
	b = appendField(b, `,"page":`, f.Page)
	b = appendField(b, `,"start":`, f.Start)
	b = appendField(b, `,"state":`, f.State)
	b = appendField(b, `,"avatar":`, f.Avatar)
	return append(b, '}', '\n'), true
}

// appendInt appends an omitempty number field.
func appendInt(b []byte, key string, v int64) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendInt(append(b, key...), v, 10)
}

// appendField appends an omitempty string field.
func appendField(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return appendJSONString(append(b, key...), v)
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does with HTML escaping (its
// default): <, > and & as \u00XX, invalid UTF-8 as U+FFFD, U+2028 and
// U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

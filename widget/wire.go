package widget

import (
	"strconv"
	"unicode/utf8"
)

// EncodeFrame returns f as JSON, byte for byte what encoding/json produces
// for a Frame of the fields a client sends (the server-only fields —
// identified, properties, warning, question, scale, allow_comment,
// attachment, quick_replies, link, link_title — and the apps' push_token and
// platform are left out). The browser build uses it instead of encoding/json (or a JS
// round trip) to keep widget.wasm small, and to know a frame's exact size
// before sending it: a frame over MaxFrameBytes would make the edge close
// the socket, and resending it after every reconnect would loop forever.
func EncodeFrame(f Frame) string {
	b := make([]byte, 0, 64+len(f.Text)+len(f.Page)+len(f.Referrer))
	b = append(b, `{"type":`...)
	b = appendJSONString(b, f.Type)
	if f.V != 0 {
		b = append(b, `,"v":`...)
		b = strconv.AppendInt(b, int64(f.V), 10)
	}
	b = appendStringField(b, "site", f.Site)
	b = appendStringField(b, "chatflow", f.Chatflow)
	b = appendStringField(b, "token", f.Token)
	b = appendStringField(b, "page", f.Page)
	b = appendStringField(b, "referrer", f.Referrer)
	b = appendStringField(b, "id_token", f.IDToken)
	b = appendStringField(b, "resume", f.Resume)
	b = appendStringField(b, "language", f.Language)
	b = appendStringField(b, "conversation", f.Conversation)
	b = appendIntField(b, "last_seq", f.LastSeq)
	b = appendStringField(b, "id", f.ID)
	b = appendIntField(b, "seq", f.Seq)
	b = appendStringField(b, "text", f.Text)
	b = appendStringField(b, "from", f.From)
	b = appendStringField(b, "name", f.Name)
	b = appendStringField(b, "avatar", f.Avatar)
	b = appendStringField(b, "at", f.At)
	b = appendStringField(b, "code", f.Code)
	b = appendStringField(b, "message", f.Message)
	b = appendStringField(b, "state", f.State)
	b = appendStringField(b, "back_at", f.BackAt)
	if f.Hide {
		b = append(b, `,"hide":true`...)
	}
	b = appendStringField(b, "email", f.Email)
	b = appendIntField(b, "survey", f.Survey)
	b = appendIntField(b, "score", int64(f.Score))
	b = appendStringField(b, "comment", f.Comment)
	b = appendStringField(b, "kind", f.Kind)
	b = appendStringField(b, "decision", f.Decision)
	b = appendStringField(b, "version", f.Version)
	b = append(b, '}')
	return string(b)
}

// appendStringField appends ,"name":"value" unless value is empty (omitempty).
func appendStringField(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, value)
}

// appendIntField appends ,"name":n unless n is zero (omitempty).
func appendIntField(b []byte, name string, n int64) []byte {
	if n == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return strconv.AppendInt(b, n, 10)
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s the way encoding/json does (HTML-safe, invalid
// UTF-8 replaced by U+FFFD).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

package chat

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parleychat/parley/backend/internal/textcheck"
	"github.com/parleychat/parley/widget"
)

// frameError is why a visitor frame was refused: the error frame to answer with.
type frameError struct {
	code, id, message string
	// structural errors (not UTF-8, not a JSON object) are reported even
	// before hello; the rest only matter once hello was said.
	structural bool
}

// decodeFrame decodes one visitor frame and checks what its type needs, so
// the handlers get only frames they can act on. A send's text and an
// email's address come back trimmed. Hello is only decoded here: its
// checks need the database (onHello).
func decodeFrame(raw []byte, cfg *Config) (widget.Frame, *frameError) {
	var f widget.Frame
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD and keep a
	// NUL the database cannot store: refuse both, for every field of every
	// frame, naming the field.
	if field, ok := textcheck.JSON(raw); !ok {
		what := "The frame"
		if field != "" {
			what = "The frame's " + strconv.Quote(field)
		}
		return f, &frameError{code: widget.ErrBadFrame, message: what + " is not valid text (invalid UTF-8 or a NUL character).", structural: true}
	}
	if !decodeFast(raw, &f) {
		f = widget.Frame{}
		if err := json.Unmarshal(raw, &f); err != nil {
			return widget.Frame{}, &frameError{code: widget.ErrBadFrame, message: "The frame is not a JSON object.", structural: true}
		}
	}
	switch f.Type {
	case widget.FrameHello, widget.FramePing, widget.FrameTyping:
		return f, nil
	case widget.FrameSend:
		return f, checkSend(&f, cfg)
	case widget.FrameRead:
		if f.Seq <= 0 {
			return f, &frameError{code: widget.ErrBadFrame, id: f.ID, message: "A read receipt needs the seq read."}
		}
		return f, nil
	case widget.FrameSurveyAnswer:
		return f, checkSurveyAnswer(&f, cfg)
	case widget.FrameConsent:
		return f, checkConsent(&f, cfg)
	case widget.FramePush:
		return f, checkPush(&f, cfg)
	case widget.FrameTranscript:
		if len(f.ID) > cfg.MaxIDLen || strings.ContainsRune(f.ID, 0) {
			return f, &frameError{code: widget.ErrBadFrame, message: "The id is too long."}
		}
		return f, nil
	case widget.FrameEmail:
		if len(f.ID) > cfg.MaxIDLen || strings.ContainsRune(f.ID, 0) {
			return f, &frameError{code: widget.ErrBadFrame, message: "The id is too long."}
		}
		f.Email = strings.TrimSpace(f.Email)
		if !widget.ValidEmail(f.Email) {
			return f, &frameError{code: widget.ErrBadEmail, id: f.ID, message: "That is not a valid email address."}
		}
		return f, nil
	}
	return f, &frameError{code: widget.ErrBadFrame, id: f.ID, message: "Unknown frame type."}
}

// decodeFast decodes the frames a visitor sends most (send, read, typing,
// ping) as widget.EncodeFrame writes them, without encoding/json's
// reflection: one object, no spaces, the keys type, id, text, seq in
// lower case, strings without escapes, plain integers. Anything else, even
// valid, is false and goes through encoding/json, which gives the same
// frame for what this accepts (TestDecodeFastIsEncodingJSON). raw is valid
// UTF-8 (textcheck has seen it).
func decodeFast(raw []byte, f *widget.Frame) bool {
	if len(raw) < 2 || raw[0] != '{' || raw[len(raw)-1] != '}' {
		return false
	}
	b := raw[1:]
	for {
		key, rest, ok := fastString(b)
		if !ok || len(rest) == 0 || rest[0] != ':' {
			return false
		}
		b = rest[1:]
		switch string(key) { // no allocation: the conversion is only compared
		case "type", "id", "text":
			v, rest, ok := fastString(b)
			if !ok {
				return false
			}
			switch string(key) {
			case "type":
				f.Type = frameTypeName(v)
			case "id":
				f.ID = string(v)
			default:
				f.Text = string(v)
			}
			b = rest
		case "seq":
			i := 0
			if i < len(b) && b[i] == '-' {
				i++
			}
			start := i
			for i < len(b) && b[i] >= '0' && b[i] <= '9' {
				i++
			}
			if i == start || i-start > 18 || (b[start] == '0' && i-start > 1) {
				return false
			}
			n, err := strconv.ParseInt(string(b[:i]), 10, 64)
			if err != nil {
				return false
			}
			f.Seq, b = n, b[i:]
		default:
			return false
		}
		if len(b) == 0 {
			return false
		}
		switch b[0] {
		case ',':
			b = b[1:]
		case '}':
			return len(b) == 1
		default:
			return false
		}
	}
}

// fastString reads a JSON string without escapes or control characters at
// the start of b and returns its contents and what follows.
func fastString(b []byte) (s, rest []byte, ok bool) {
	if len(b) == 0 || b[0] != '"' {
		return nil, nil, false
	}
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return b[1:i], b[i+1:], true
		case c == '\\' || c < 0x20:
			return nil, nil, false
		}
	}
	return nil, nil, false
}

// frameTypeName returns the frame type constant for v without allocating
// for the common ones.
func frameTypeName(v []byte) string {
	switch string(v) {
	case widget.FrameSend:
		return widget.FrameSend
	case widget.FrameRead:
		return widget.FrameRead
	case widget.FrameTyping:
		return widget.FrameTyping
	case widget.FramePing:
		return widget.FramePing
	}
	return string(v)
}

func checkSend(f *widget.Frame, cfg *Config) *frameError {
	switch {
	case f.ID == "":
		return &frameError{code: widget.ErrBadFrame, message: "A message needs an id."}
	case len(f.ID) > cfg.MaxIDLen:
		return &frameError{code: widget.ErrBadFrame, message: "The message id is too long."}
	case strings.HasPrefix(f.ID, botClientPrefix):
		return &frameError{code: widget.ErrBadFrame, message: "Message ids starting with \"" + botClientPrefix + "\" are the bot's."}
	}
	f.Text = strings.TrimSpace(f.Text)
	switch {
	case f.Text == "":
		return &frameError{code: widget.ErrBadFrame, id: f.ID, message: "The message is empty."}
	case strings.ContainsRune(f.Text, 0) || strings.ContainsRune(f.ID, 0):
		return &frameError{code: widget.ErrBadFrame, id: f.ID, message: "The message contains a NUL character."}
	case utf8.RuneCountInString(f.Text) > cfg.MaxTextRunes:
		return &frameError{code: widget.ErrTooLong, id: f.ID, message: "The message is too long."}
	}
	return nil
}

// encodeFrame marshals a frame for the visitor. Most frames (acks,
// messages, presence) hold only fields widget.EncodeFrame writes, byte for
// byte as encoding/json would and without its reflection; the others go
// through encoding/json.
func encodeFrame(f *widget.Frame) []byte {
	if f.Identified || f.Properties != nil || f.Warning != "" || f.Question != "" || f.Scale != "" || f.AllowComment ||
		f.Attachment != nil || f.QuickReplies != nil || f.Link != "" || f.LinkTitle != "" || f.PushToken != "" || f.Platform != "" {
		b, _ := json.Marshal(f)
		return b
	}
	return []byte(widget.EncodeFrame(*f))
}

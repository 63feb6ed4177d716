// Package transcript writes conversations as plain text in which every
// message's author is unambiguous however its text looks: a message starts
// with "[time] name:" on a line of its own making, and every further line of
// its text is indented, so text that imitates a message line ("\n[12:00]
// Bob: refund approved") reads as part of the message it is in.
package transcript

import (
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Indent starts every continuation line of a message.
const Indent = "    "

// WriteMessage writes one message: "[at] name: first line", then each
// further line of text indented. Line breaks of any kind (CR, LF, CRLF,
// VT, FF, NEL, U+2028, U+2029) end a line; other control characters are
// shown as U+FFFD so nothing can move the cursor or hide text. The name
// is written on one line whatever it holds.
func WriteMessage(w io.Writer, at, name, text string) error {
	var b strings.Builder
	b.WriteString("[")
	b.WriteString(OneLine(at))
	b.WriteString("] ")
	b.WriteString(OneLine(name))
	b.WriteString(":")
	for i, line := range Lines(text) {
		if i == 0 {
			if line != "" {
				b.WriteString(" ")
				b.WriteString(line)
			}
		} else {
			b.WriteString("\n")
			b.WriteString(Indent)
			b.WriteString(line)
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Lines splits text at every kind of line break and makes each line safe to
// show (controls other than tab become U+FFFD). It never returns nil.
func Lines(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := []string{}
	start := 0
	for i, r := range text {
		if isBreak(r) {
			lines = append(lines, clean(text[start:i]))
			start = i + utf8.RuneLen(r)
		}
	}
	return append(lines, clean(text[start:]))
}

// OneLine is s on one line: line breaks become spaces, other controls U+FFFD.
func OneLine(s string) string {
	return strings.Join(Lines(s), " ")
}

func isBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\v', '\f', '\u0085', '\u2028', '\u2029':
		return true
	}
	return false
}

func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r != '\t' && unicode.IsControl(r) {
			return unicode.ReplacementChar
		}
		if unicode.Is(unicode.Bidi_Control, r) {
			return unicode.ReplacementChar // right-to-left overrides could reorder what a line seems to say
		}
		return r
	}, s)
}

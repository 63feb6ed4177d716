package mailin

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Reply is what a visitor's email says: its own text (quoted history
// stripped) and its files.
type Reply struct {
	MessageID string
	Text      string
	Files     []File
}

// File is one attachment of a reply.
type File struct {
	Name, Type string
	Data       []byte
}

// ErrMalformed is a message whose MIME structure or encoding cannot be read.
var ErrMalformed = errors.New("malformed message")

// maxParts bounds the parts one message may have (a bomb of nested multiparts).
const maxParts = 100

// Parse reads a message: the text of its text/plain part (else its HTML
// part turned into text), with quoted history stripped, and its attachments.
func Parse(r io.Reader) (*Reply, error) {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	out := &Reply{MessageID: strings.Trim(strings.TrimSpace(m.Header.Get("Message-Id")), "<>")}
	var plain, htm string
	parts := 0
	var walk func(h textprotoHeader, body io.Reader, depth int) error
	walk = func(h textprotoHeader, body io.Reader, depth int) error {
		parts++
		if parts > maxParts || depth > 10 {
			return fmt.Errorf("%w: too many parts", ErrMalformed)
		}
		ctype := h.Get("Content-Type")
		if ctype == "" {
			ctype = "text/plain; charset=us-ascii"
		}
		mt, params, err := mime.ParseMediaType(ctype)
		if err != nil {
			return fmt.Errorf("%w: content type %q", ErrMalformed, ctype)
		}
		data, err := decodeBody(h.Get("Content-Transfer-Encoding"), body)
		if err != nil {
			return err
		}
		if strings.HasPrefix(mt, "multipart/") {
			boundary := params["boundary"]
			if boundary == "" {
				return fmt.Errorf("%w: multipart without a boundary", ErrMalformed)
			}
			mr := multipart.NewReader(bytes.NewReader(data), boundary)
			n := 0
			for {
				p, err := mr.NextRawPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					return fmt.Errorf("%w: %v", ErrMalformed, err)
				}
				n++
				if err := walk(textprotoHeader(p.Header), p, depth+1); err != nil {
					return err
				}
			}
			if n == 0 {
				return fmt.Errorf("%w: empty multipart", ErrMalformed)
			}
			return nil
		}
		disp, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
		name := dparams["filename"]
		if name == "" {
			name = params["name"]
		}
		if disp == "attachment" || (name != "" && disp != "inline") || !strings.HasPrefix(mt, "text/") {
			if name == "" {
				name = "attachment"
			}
			if dec, err := new(mime.WordDecoder).DecodeHeader(name); err == nil {
				name = dec
			}
			out.Files = append(out.Files, File{Name: name, Type: mt, Data: data})
			return nil
		}
		text := toUTF8(data, params["charset"])
		switch {
		case mt == "text/html" && htm == "":
			htm = text
		case mt != "text/html" && plain == "":
			plain = text
		}
		return nil
	}
	if err := walk(textprotoHeader(m.Header), m.Body, 0); err != nil {
		return nil, err
	}
	if plain == "" && htm != "" {
		plain = HTMLToText(htm)
	}
	out.Text = StripQuoted(plain)
	return out, nil
}

// textprotoHeader is what both net/mail and multipart headers offer.
type textprotoHeader map[string][]string

// Get returns the first value of key (canonical form).
func (h textprotoHeader) Get(key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	// mail.Header keys are canonical too; try the canonical spelling.
	for k, v := range h {
		if strings.EqualFold(k, key) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func decodeBody(enc string, r io.Reader) ([]byte, error) {
	var rd io.Reader = r
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "", "7bit", "8bit", "binary":
	case "quoted-printable":
		rd = quotedprintable.NewReader(r)
	case "base64":
		rd = base64.NewDecoder(base64.StdEncoding, newlineSkipper{r})
	default:
		return nil, fmt.Errorf("%w: transfer encoding %q", ErrMalformed, enc)
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return b, nil
}

// newlineSkipper drops CR and LF so base64 lines decode as one stream.
type newlineSkipper struct{ r io.Reader }

func (n newlineSkipper) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	j := 0
	for _, c := range p[:k] {
		if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
			p[j] = c
			j++
		}
	}
	if j == 0 && err == nil && k > 0 {
		return n.Read(p)
	}
	return j, err
}

// toUTF8 turns text in charset into UTF-8: UTF-8 and ASCII as they are,
// Latin-1 (and Windows-1252's common subset) byte by byte; anything else
// that is not valid UTF-8 loses its invalid bytes.
func toUTF8(b []byte, charset string) string {
	switch strings.ToLower(charset) {
	case "iso-8859-1", "latin1", "windows-1252", "iso-8859-15":
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r)
	}
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "")
}

var (
	htmlDrop  = regexp.MustCompile(`(?is)<(script|style|head)\b.*?</(script|style|head)>`)
	htmlQuote = regexp.MustCompile(`(?is)<blockquote\b.*?</blockquote>|<div class="?gmail_quote.*$`)
	htmlBreak = regexp.MustCompile(`(?i)<br\s*/?>|</p>|</div>|</li>|</tr>|</h[1-6]>`)
	htmlTag   = regexp.MustCompile(`(?s)<[^>]*>`)
	blankRuns = regexp.MustCompile(`\n{3,}`)
)

// HTMLToText turns an HTML email into plain text: scripts, styles and
// quoted blocks dropped, block ends as line breaks, tags removed,
// entities decoded.
func HTMLToText(s string) string {
	s = htmlDrop.ReplaceAllString(s, "")
	s = htmlQuote.ReplaceAllString(s, "")
	s = htmlBreak.ReplaceAllString(s, "\n")
	s = htmlTag.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(strings.ReplaceAll(l, "\u00a0", " "))
	}
	return strings.TrimSpace(blankRuns.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
}

// Lines that start the quoted history in the five languages' mail clients.
var (
	quoteHeader = regexp.MustCompile(`(?i)^\s*(on|op|am|le|el)\b.{0,200}(wrote|schreef|schrieb|a écrit|escribió)(\s*:?|.{0,200}:)\s*$`)
	quoteStart  = regexp.MustCompile(`(?i)^\s*(on|op|am|le|el)\b`)
	quoteEnd    = regexp.MustCompile(`(?i)(wrote|schreef|schrieb|a écrit|escribió)\s*:\s*$`)
	origMsg     = regexp.MustCompile(`(?i)^\s*-{2,}\s*(original message|oorspronkelijk bericht|ursprüngliche nachricht|message d'origine|mensaje original)`)
	outlookFrom = regexp.MustCompile(`(?i)^\s*(from|van|von|de):\s.+`)
)

// StripQuoted cuts a reply's text at the quoted history ("On … wrote:"
// and its translations, "-----Original Message-----", an Outlook header
// block) and drops lines quoted with ">" and the signature after "-- ".
func StripQuoted(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	var out []string
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if quoteHeader.MatchString(l) || origMsg.MatchString(l) || l == "-- " || l == "--" {
			break
		}
		// "On Mon, 1 Dec 2026 at 10:00, Acme <reply+…>" then "wrote:" on the next line.
		if quoteStart.MatchString(l) && i+1 < len(lines) && quoteEnd.MatchString(lines[i+1]) && !quoteEnd.MatchString(l) {
			break
		}
		if outlookFrom.MatchString(l) && i > 0 && strings.TrimSpace(lines[i-1]) == "" && hasHeaderAfter(lines[i+1:]) {
			break
		}
		if strings.HasPrefix(strings.TrimLeft(l, " "), ">") {
			continue
		}
		out = append(out, strings.TrimRight(l, " \t"))
	}
	return strings.TrimSpace(blankRuns.ReplaceAllString(strings.Join(out, "\n"), "\n\n"))
}

var headerLine = regexp.MustCompile(`(?i)^\s*(sent|date|to|subject|verzonden|aan|onderwerp|gesendet|an|betreff|envoyé|à|objet|enviado|para|asunto):\s`)

// hasHeaderAfter: one of the next lines is another header of a quoted
// message (Sent:, To:, Subject: …).
func hasHeaderAfter(lines []string) bool {
	for i, l := range lines {
		if i >= 4 {
			break
		}
		if headerLine.MatchString(l) {
			return true
		}
	}
	return false
}

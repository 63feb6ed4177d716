// Package kb is the knowledge base's logic above the store: Markdown
// rendered to sanitised HTML, articles cut into passages, the languages
// full-text search knows, safe search snippets, and the customer agent's
// answer finder (BestPassage).
package kb

import (
	"bytes"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"

	"github.com/parleychat/parley/backend/internal/store"
)

// Limits of an article.
const (
	MaxTitleChars = 200
	MaxBodyBytes  = 200_000
	// MaxPassageChars is roughly how long a passage grows before a section
	// is split at its next block: long enough to answer, short enough to read in a chat.
	MaxPassageChars = 700
)

// Markdown is rendered with raw HTML allowed (authors may want <kbd> or a
// table) because everything goes through the sanitiser afterwards: the
// sanitiser, not the Markdown renderer, is what makes the output safe.
var markdown = goldmark.New(
	goldmark.WithExtensions(extension.GFM),
	goldmark.WithRendererOptions(html.WithUnsafe()),
)

// sanitiser keeps formatting, links and images and drops scripts, styles,
// event-handler attributes and javascript: URLs. Links leave the host page
// in a new tab without a referrer.
var sanitiser = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
}()

// Rendered is an article body made ready to store.
type Rendered struct {
	HTML     string // sanitised; safe to insert into a page
	Text     string // plain text, for search and snippets
	Passages []store.KBPassage
}

// Render turns an article's Markdown into sanitised HTML, plain text and
// passages. Passages are the article's sections (a heading and the blocks
// under it; the text before the first heading is headed by title), split
// at block boundaries when longer than MaxPassageChars.
func Render(title, body string) (Rendered, error) {
	src := []byte(body)
	doc := markdown.Parser().Parse(text.NewReader(src))
	var out bytes.Buffer
	if err := markdown.Renderer().Render(&out, src, doc); err != nil {
		return Rendered{}, err
	}
	r := Rendered{HTML: sanitiser.Sanitize(out.String())}

	w := &plainWriter{src: src}
	var all []string
	heading := clean(title)
	var cur []string
	size := 0
	flush := func() {
		if len(cur) > 0 {
			r.Passages = append(r.Passages, store.KBPassage{Heading: heading, Body: strings.Join(cur, "\n")})
		}
		cur, size = nil, 0
	}
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		w.b.Reset()
		w.node(n)
		t := clean(w.b.String())
		if t == "" {
			continue
		}
		all = append(all, t)
		if _, ok := n.(*ast.Heading); ok {
			flush()
			heading = t
			continue
		}
		if size > 0 && size+len(t) > MaxPassageChars {
			flush()
		}
		cur = append(cur, t)
		size += len(t)
	}
	flush()
	r.Text = strings.Join(all, "\n")
	return r, nil
}

// plainWriter writes the readable text of nodes: words, code, link labels
// and image alt texts. Raw HTML is left out (its tags are not words), and
// so is whatever sits between an inline <script> or <style> and its end tag.
type plainWriter struct {
	src  []byte
	b    strings.Builder
	skip bool // inside inline <script> or <style>
}

func (w *plainWriter) node(n ast.Node) {
	switch n := n.(type) {
	case *ast.Text:
		if w.skip {
			return
		}
		w.b.Write(n.Segment.Value(w.src))
		if n.SoftLineBreak() {
			w.b.WriteByte(' ')
		}
		if n.HardLineBreak() {
			w.b.WriteByte('\n')
		}
		return
	case *ast.String:
		if !w.skip {
			w.b.Write(n.Value)
		}
		return
	case *ast.AutoLink:
		w.b.Write(n.Label(w.src))
		return
	case *ast.RawHTML:
		for i := 0; i < n.Segments.Len(); i++ {
			seg := n.Segments.At(i)
			tag := strings.ToLower(string(seg.Value(w.src)))
			switch {
			case strings.HasPrefix(tag, "<script"), strings.HasPrefix(tag, "<style"):
				w.skip = true
			case strings.HasPrefix(tag, "</script"), strings.HasPrefix(tag, "</style"):
				w.skip = false
			}
		}
		return
	case *ast.HTMLBlock:
		return
	case *ast.FencedCodeBlock, *ast.CodeBlock:
		lines := n.Lines()
		for i := 0; i < lines.Len(); i++ {
			seg := lines.At(i)
			w.b.Write(seg.Value(w.src))
		}
		return
	}
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		w.node(c)
		if c.Type() == ast.TypeBlock { // table cells too
			w.b.WriteByte('\n')
			w.skip = false // an unclosed inline script ends with its block
		}
	}
}

// clean trims text, makes it valid UTF-8 and drops control characters and
// the highlight delimiters, so a snippet's only delimiters are the ones
// ts_headline puts there.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
			return -1
		case string(r) == store.HighlightStart || string(r) == store.HighlightStop:
			return -1
		}
		return r
	}, s)
	// Collapse the blank lines block separators leave.
	lines := strings.Split(s, "\n")
	keep := lines[:0]
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// Prepare fills a's HTML, plain text and search configuration from its
// Markdown body and language, and returns the passages to store with it.
// a.Language must be one of Languages.
func Prepare(a *store.KBArticle) ([]store.KBPassage, error) {
	cfg, ok := SearchConfig(a.Language)
	if !ok {
		return nil, errUnknownLanguage
	}
	r, err := Render(a.Title, a.Body)
	if err != nil {
		return nil, err
	}
	a.Title = clean(strings.Join(strings.Fields(a.Title), " "))
	a.BodyHTML, a.BodyText, a.SearchConfig = r.HTML, r.Text, cfg
	return r.Passages, nil
}

var errUnknownLanguage = errors.New("kb: unknown article language")

package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/html"

	"github.com/parleychat/parley/widget"
)

// Help is the chatflow's Help tab: its knowledge base's categories,
// search and articles, in the chatflow's language, read from the edge
// (PROTOCOL.md "Help tab").
type Help struct {
	KnowledgeBaseID int64
	Language        string // the language articles are listed and searched in

	base, site string
	tx         widget.Texts
}

// Help returns the chatflow's Help tab, or nil when it shows none.
func (cf *Chatflow) Help() *Help {
	if !cf.HelpTab {
		return nil
	}
	return &Help{KnowledgeBaseID: cf.KnowledgeBaseID, Language: widget.Language(cf.Language), base: cf.edge, site: cf.site, tx: texts(cf.Language)}
}

// Category is one category of the Help tab's front page with the titles
// of (the first of) its articles; ID 0 holds the articles of no category.
type Category struct {
	ID           int64
	Name         string // untrusted text
	Description  string // untrusted text
	ArticleCount int    // all its articles; search finds those not listed

	titles []helpTitle
}

type helpTitle struct {
	ID    int64  `json:"id"`
	Title string `json:"title"`
}

// ArticleLen is how many article titles the category lists.
func (c *Category) ArticleLen() int { return len(c.titles) }

// ArticleID is listed article i's id, for Help.Article.
func (c *Category) ArticleID(i int) int64 {
	if i < 0 || i >= len(c.titles) {
		return 0
	}
	return c.titles[i].ID
}

// ArticleTitle is listed article i's title (untrusted text).
func (c *Category) ArticleTitle(i int) string {
	if i < 0 || i >= len(c.titles) {
		return ""
	}
	return c.titles[i].Title
}

// Categories is the Help tab's front page.
type Categories struct{ list []*Category }

// Len is the number of categories.
func (cs *Categories) Len() int { return len(cs.list) }

// Get returns category i.
func (cs *Categories) Get(i int) *Category {
	if i < 0 || i >= len(cs.list) {
		return nil
	}
	return cs.list[i]
}

// Categories reads the front page: the categories with their published
// articles' titles, then (ID 0, named in the chatflow's language) the
// articles of no category.
func (h *Help) Categories() (*Categories, error) {
	var v struct {
		Categories []struct {
			ID          int64       `json:"id"`
			Name        string      `json:"name"`
			Description string      `json:"description"`
			Articles    []helpTitle `json:"articles"`
			Count       int         `json:"article_count"`
		} `json:"categories"`
		Uncategorised      []helpTitle `json:"uncategorised"`
		UncategorisedCount int         `json:"uncategorised_count"`
	}
	if err := h.get("categories", url.Values{"language": {h.Language}}, &v); err != nil {
		return nil, err
	}
	cs := &Categories{}
	for _, c := range v.Categories {
		cs.list = append(cs.list, &Category{ID: c.ID, Name: c.Name, Description: c.Description, ArticleCount: c.Count, titles: c.Articles})
	}
	if len(v.Uncategorised) > 0 {
		cs.list = append(cs.list, &Category{Name: say(h.tx, "help_other"), ArticleCount: v.UncategorisedCount, titles: v.Uncategorised})
	}
	return cs, nil
}

// SearchResult is one article a search found, with a snippet of its text.
type SearchResult struct {
	ArticleID int64
	Title     string // untrusted text
	Snippet   string // plain text

	parts []widget.SnippetPart
}

// PartCount is how many pieces the snippet has: plain text, marked where
// it matched the search (show marked pieces highlighted).
func (r *SearchResult) PartCount() int { return len(r.parts) }

// PartText is snippet piece i, plain text.
func (r *SearchResult) PartText(i int) string {
	if i < 0 || i >= len(r.parts) {
		return ""
	}
	return r.parts[i].Text
}

// PartMarked reports whether snippet piece i matched the search.
func (r *SearchResult) PartMarked(i int) bool { return i >= 0 && i < len(r.parts) && r.parts[i].Mark }

// SearchResults are a search's articles, best first.
type SearchResults struct{ list []*SearchResult }

// Len is the number of results.
func (rs *SearchResults) Len() int { return len(rs.list) }

// Get returns result i.
func (rs *SearchResults) Get(i int) *SearchResult {
	if i < 0 || i >= len(rs.list) {
		return nil
	}
	return rs.list[i]
}

// maxQuery is the longest search the edge takes.
const maxQuery = 200

// Search finds published articles in the Help tab's language, best first
// (web search syntax: words, "quoted phrases", -excluded).
func (h *Help) Search(query string) (*SearchResults, error) {
	query = strings.TrimSpace(query)
	if query == "" {
		return &SearchResults{}, nil
	}
	if r := []rune(query); len(r) > maxQuery {
		query = string(r[:maxQuery])
	}
	var v struct {
		Results []struct {
			ID      int64  `json:"id"`
			Title   string `json:"title"`
			Snippet string `json:"snippet"`
		} `json:"results"`
	}
	if err := h.get("search", url.Values{"q": {query}, "language": {h.Language}}, &v); err != nil {
		return nil, err
	}
	rs := &SearchResults{}
	for _, r := range v.Results {
		parts := widget.SnippetParts(r.Snippet)
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(p.Text)
		}
		rs.list = append(rs.list, &SearchResult{ArticleID: r.ID, Title: r.Title, Snippet: b.String(), parts: parts})
	}
	return rs, nil
}

// Article is one help article.
type Article struct {
	ID       int64
	Title    string // untrusted text
	Language string
	// HTML is the body as sanitised HTML (formatting, links, images; no
	// script, style or event handler), for a web view.
	HTML string
	// Text is the body as plain text, paragraphs and list items on lines
	// of their own, for a native text view.
	Text string
}

// Article reads a published article of the knowledge base.
func (h *Help) Article(id int64) (*Article, error) {
	var v struct {
		ID       int64  `json:"id"`
		Title    string `json:"title"`
		Language string `json:"language"`
		HTML     string `json:"html"`
	}
	if err := h.get("articles/"+strconv.FormatInt(id, 10), nil, &v); err != nil {
		return nil, err
	}
	safe, text := sanitise(v.HTML)
	return &Article{ID: v.ID, Title: v.Title, Language: v.Language, HTML: safe, Text: text}, nil
}

// get reads one Help tab endpoint of the edge into v.
func (h *Help) get(path string, q url.Values, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	u := h.base + "/v1/sites/" + url.PathEscape(h.site) + "/kb/" + strconv.FormatInt(h.KnowledgeBaseID, 10) + "/" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return errors.New(say(h.tx, "help_failed"))
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil || res.StatusCode != http.StatusOK {
		if res.StatusCode == http.StatusNotFound {
			return fmt.Errorf("parley: no such help article or knowledge base (%s)", path)
		}
		return errors.New(say(h.tx, "help_failed"))
	}
	return json.Unmarshal(raw, v)
}

// Elements an article keeps; everything else keeps its text only, and
// script-like elements lose their content too. The server already
// sanitised the HTML: this is a second line for apps that show it in a
// web view.
var (
	keepTags = map[string]bool{"p": true, "br": true, "b": true, "strong": true, "i": true, "em": true, "u": true, "s": true,
		"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "ul": true, "ol": true, "li": true, "a": true,
		"img": true, "code": true, "pre": true, "blockquote": true, "hr": true, "table": true, "thead": true, "tbody": true,
		"tr": true, "th": true, "td": true, "kbd": true, "sup": true, "sub": true, "del": true, "ins": true, "dl": true, "dt": true, "dd": true}
	dropTags = map[string]bool{"script": true, "style": true, "iframe": true, "object": true, "embed": true, "noscript": true,
		"template": true, "svg": true, "math": true, "textarea": true, "select": true}
	paraTags = map[string]bool{"p": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "ul": true, "ol": true,
		"blockquote": true, "pre": true, "table": true, "hr": true, "dl": true}
	blockTags = map[string]bool{"p": true, "br": true, "li": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true,
		"h6": true, "pre": true, "blockquote": true, "tr": true, "hr": true, "div": true, "dt": true, "dd": true, "table": true}
)

// sanitise re-checks an article's HTML against an allow list and derives
// its plain text.
func sanitise(in string) (safe, text string) {
	var out, txt strings.Builder
	z := html.NewTokenizer(strings.NewReader(in))
	drop := 0 // depth inside a dropped element
	newline := func() {
		s := txt.String()
		if s != "" && !strings.HasSuffix(s, "\n") {
			txt.WriteByte('\n')
		}
	}
	// Paragraph-like blocks stand apart by a blank line.
	para := func(name string) {
		if paraTags[name] {
			newline()
			if s := txt.String(); s != "" && !strings.HasSuffix(s, "\n\n") {
				txt.WriteByte('\n')
			}
		}
	}
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		tok := z.Token()
		name := tok.Data
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			if dropTags[name] {
				if tt == html.StartTagToken {
					drop++
				}
				continue
			}
			if drop > 0 {
				continue
			}
			if blockTags[name] {
				newline()
			}
			para(name)
			if name == "li" {
				txt.WriteString("• ")
			}
			if keepTags[name] {
				out.WriteString(startTag(tok))
			}
		case html.EndTagToken:
			if dropTags[name] {
				if drop > 0 {
					drop--
				}
				continue
			}
			if drop > 0 {
				continue
			}
			if blockTags[name] {
				newline()
			}
			para(name)
			if keepTags[name] && name != "br" && name != "img" && name != "hr" {
				out.WriteString("</" + name + ">")
			}
		case html.TextToken:
			if drop > 0 {
				continue
			}
			out.WriteString(html.EscapeString(tok.Data))
			txt.WriteString(strings.NewReplacer("\n", " ", "\r", " ", "\t", " ").Replace(tok.Data))
		}
	}
	// One blank line at most between blocks.
	var lines []string
	for _, l := range strings.Split(txt.String(), "\n") {
		l = strings.Join(strings.Fields(l), " ")
		if l == "" && (len(lines) == 0 || lines[len(lines)-1] == "") {
			continue
		}
		lines = append(lines, l)
	}
	return out.String(), strings.TrimSpace(strings.Join(lines, "\n"))
}

// startTag writes an allowed element's start tag with its safe attributes only.
func startTag(tok html.Token) string {
	var b strings.Builder
	b.WriteString("<" + tok.Data)
	for _, a := range tok.Attr {
		key := strings.ToLower(a.Key)
		ok := false
		switch {
		case tok.Data == "a" && key == "href", tok.Data == "img" && key == "src":
			ok = widget.SafeHref(a.Val)
		case tok.Data == "a" && key == "rel", tok.Data == "a" && key == "target", tok.Data == "img" && key == "alt",
			key == "title", (tok.Data == "td" || tok.Data == "th") && (key == "colspan" || key == "rowspan"):
			ok = true
		}
		if ok {
			b.WriteString(" " + key + `="` + html.EscapeString(a.Val) + `"`)
		}
	}
	if tok.Type == html.SelfClosingTagToken {
		b.WriteString(" /")
	}
	b.WriteString(">")
	return b.String()
}

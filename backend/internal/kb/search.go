package kb

import (
	"context"
	"html"
	"strings"
	"unicode/utf8"

	"github.com/parleychat/parley/backend/internal/store"
)

// Search limits.
const (
	MaxQueryChars  = 200
	DefaultResults = 10
	MaxResults     = 50
)

// Hit is one search result as the widget and the admin API show it.
type Hit struct {
	ID         int64   `json:"id"`
	CategoryID *int64  `json:"category_id"`
	Title      string  `json:"title"`
	Snippet    string  `json:"snippet"` // HTML: escaped text, matches in <mark>
	Score      float64 `json:"score"`
}

// Search ranks the articles of kbID written in lang that match query (web
// search syntax: words, "quoted phrases", -excluded, or), best first, at
// most limit. Only published articles are searched unless all is set.
// The caller checks that the knowledge base may be read and that lang is
// one of Languages.
func Search(ctx context.Context, st *store.Store, kbID int64, lang, query string, all bool, limit int) ([]Hit, error) {
	cfg, ok := SearchConfig(lang)
	query = strings.TrimSpace(query)
	if !ok || query == "" {
		return []Hit{}, nil
	}
	if limit <= 0 || limit > MaxResults {
		limit = DefaultResults
	}
	rows, err := st.SearchKB(ctx, kbID, lang, cfg, truncate(query, MaxQueryChars), all, limit)
	if err != nil {
		return nil, err
	}
	hits := make([]Hit, len(rows))
	for i, r := range rows {
		hits[i] = Hit{ID: r.ID, Title: r.Title, Snippet: Snippet(r.Headline), Score: r.Rank}
		if r.CategoryID.Valid {
			id := r.CategoryID.Int64
			hits[i].CategoryID = &id
		}
	}
	return hits, nil
}

// Snippet turns a ts_headline result into safe HTML: the text is escaped
// first, and only then do the highlight delimiters become <mark> tags, so
// <mark> is the only markup that can come out.
func Snippet(headline string) string {
	s := html.EscapeString(strings.ToValidUTF8(headline, "\uFFFD"))
	open := false
	var b strings.Builder
	for _, r := range s {
		switch string(r) {
		case store.HighlightStart:
			if !open {
				b.WriteString("<mark>")
				open = true
			}
		case store.HighlightStop:
			if open {
				b.WriteString("</mark>")
				open = false
			}
		default:
			b.WriteRune(r)
		}
	}
	if open {
		b.WriteString("</mark>")
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// truncate cuts s to at most n characters.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

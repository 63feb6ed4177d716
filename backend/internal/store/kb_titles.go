package store

import (
	"context"
	"database/sql"
)

// PublishedKBTitlesPage lists, alphabetically, up to limit titles of kbID's
// published articles in category categoryID (0: those in none), in
// language lang when not empty, after skipping offset of them: the Help
// tab pages through a category past its front page with it. InCategory
// counts all of them.
func (s *Store) PublishedKBTitlesPage(ctx context.Context, kbID int64, lang string, categoryID int64, offset, limit int) ([]KBArticleTitle, error) {
	cat := sql.NullInt64{Int64: categoryID, Valid: categoryID != 0}
	ts := []KBArticleTitle{}
	err := s.db.SelectContext(ctx, &ts, `SELECT id, category_id, title, count(*) OVER () AS in_category
		FROM kb_articles WHERE kb_id = $1 AND published AND ($2 = '' OR language = $2) AND category_id IS NOT DISTINCT FROM $3
		ORDER BY lower(title), id OFFSET $4 LIMIT $5`, kbID, lang, cat, offset, limit)
	return ts, err
}

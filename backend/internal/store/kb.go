package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// KnowledgeBase is a collection of help articles an account publishes.
type KnowledgeBase struct {
	ID        int64     `db:"id" json:"id"`
	AccountID int64     `db:"account_id" json:"-"`
	Name      string    `db:"name" json:"name"`
	Language  string    `db:"language" json:"language"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
	UpdatedAt time.Time `db:"updated_at" json:"updated_at"`
}

// KBCategory groups a knowledge base's articles.
type KBCategory struct {
	ID          int64     `db:"id" json:"id"`
	KBID        int64     `db:"kb_id" json:"knowledge_base_id"`
	Name        string    `db:"name" json:"name"`
	Description string    `db:"description" json:"description"`
	Position    int       `db:"position" json:"position"`
	CreatedAt   time.Time `db:"created_at" json:"created_at"`
	UpdatedAt   time.Time `db:"updated_at" json:"updated_at"`
}

// KBArticle is one article: Markdown as written plus its sanitised HTML
// and plain text (made by backend/internal/kb; the store never renders).
type KBArticle struct {
	ID           int64         `db:"id"`
	KBID         int64         `db:"kb_id"`
	CategoryID   sql.NullInt64 `db:"category_id"`
	Title        string        `db:"title"`
	Body         string        `db:"body"`
	BodyHTML     string        `db:"body_html"`
	BodyText     string        `db:"body_text"`
	Language     string        `db:"language"`
	SearchConfig string        `db:"search_config"`
	Published    bool          `db:"published"`
	Version      int64         `db:"version"`
	CreatedAt    time.Time     `db:"created_at"`
	UpdatedAt    time.Time     `db:"updated_at"`
}

// KBPassage is one searchable section of an article.
type KBPassage struct {
	Heading string
	Body    string
}

// KBArticleFilter narrows an article list; zero fields do not filter.
type KBArticleFilter struct {
	CategoryID    int64
	Language      string
	PublishedOnly bool
	Before        int64 // id cursor: only ids below it
	Limit         int
}

// articleCols excludes the tsvector, which callers never need.
const articleCols = `a.id, a.kb_id, a.category_id, a.title, a.body, a.body_html, a.body_text, a.language,
	a.search_config, a.published, a.version, a.created_at, a.updated_at`

// CreateKB inserts k.
func (s *Store) CreateKB(ctx context.Context, k *KnowledgeBase) error {
	err := s.db.QueryRowxContext(ctx, `INSERT INTO knowledge_bases (account_id, name, language) VALUES ($1, $2, $3)
		RETURNING id, created_at, updated_at`, k.AccountID, k.Name, k.Language).Scan(&k.ID, &k.CreatedAt, &k.UpdatedAt)
	if isUnique(err) {
		return ErrConflict
	}
	return err
}

// KB returns knowledge base id of account.
func (s *Store) KB(ctx context.Context, accountID, id int64) (*KnowledgeBase, error) {
	var k KnowledgeBase
	err := s.db.GetContext(ctx, &k, `SELECT `+kbColumns+` FROM knowledge_bases WHERE id = $1 AND account_id = $2`, id, accountID)
	if err != nil {
		return nil, notFound(err)
	}
	return &k, nil
}

// KBs lists the account's knowledge bases by name.
func (s *Store) KBs(ctx context.Context, accountID int64) ([]KnowledgeBase, error) {
	ks := []KnowledgeBase{}
	err := s.db.SelectContext(ctx, &ks, `SELECT `+kbColumns+` FROM knowledge_bases WHERE account_id = $1 ORDER BY name, id`, accountID)
	return ks, err
}

// UpdateKB writes k's name and language.
func (s *Store) UpdateKB(ctx context.Context, k *KnowledgeBase) error {
	err := s.db.QueryRowxContext(ctx, `UPDATE knowledge_bases SET name = $3, language = $4, updated_at = now()
		WHERE id = $1 AND account_id = $2 RETURNING updated_at`, k.ID, k.AccountID, k.Name, k.Language).Scan(&k.UpdatedAt)
	if isUnique(err) {
		return ErrConflict
	}
	return notFound(err)
}

// DeleteKB removes knowledge base id of account with its categories and articles.
func (s *Store) DeleteKB(ctx context.Context, accountID, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM knowledge_bases WHERE id = $1 AND account_id = $2`, id, accountID)
	return rowsOrNotFound(res, err)
}

// CreateKBCategory inserts c into its knowledge base, which must belong to account.
func (s *Store) CreateKBCategory(ctx context.Context, accountID int64, c *KBCategory) error {
	err := s.db.QueryRowxContext(ctx, `INSERT INTO kb_categories (kb_id, name, description, position)
		SELECT id, $3, $4, $5 FROM knowledge_bases WHERE id = $1 AND account_id = $2
		RETURNING id, created_at, updated_at`, c.KBID, accountID, c.Name, c.Description, c.Position).
		Scan(&c.ID, &c.CreatedAt, &c.UpdatedAt)
	if isUnique(err) {
		return ErrConflict
	}
	return notFound(err)
}

// KBCategory returns category id if its knowledge base belongs to account.
func (s *Store) KBCategory(ctx context.Context, accountID, id int64) (*KBCategory, error) {
	var c KBCategory
	err := s.db.GetContext(ctx, &c, `SELECT `+kbCategoryColumnsC+` FROM kb_categories c JOIN knowledge_bases k ON k.id = c.kb_id
		WHERE c.id = $1 AND k.account_id = $2`, id, accountID)
	if err != nil {
		return nil, notFound(err)
	}
	return &c, nil
}

// KBCategories lists a knowledge base's categories in display order.
// The caller has checked the knowledge base is the account's (or public).
func (s *Store) KBCategories(ctx context.Context, kbID int64) ([]KBCategory, error) {
	cs := []KBCategory{}
	err := s.db.SelectContext(ctx, &cs, `SELECT `+kbCategoryColumns+` FROM kb_categories WHERE kb_id = $1 ORDER BY position, name, id`, kbID)
	return cs, err
}

// UpdateKBCategory writes c's name, description and position.
func (s *Store) UpdateKBCategory(ctx context.Context, c *KBCategory) error {
	err := s.db.QueryRowxContext(ctx, `UPDATE kb_categories SET name = $2, description = $3, position = $4, updated_at = now()
		WHERE id = $1 RETURNING updated_at`, c.ID, c.Name, c.Description, c.Position).Scan(&c.UpdatedAt)
	if isUnique(err) {
		return ErrConflict
	}
	return notFound(err)
}

// DeleteKBCategory removes category id of account; its articles stay, uncategorised.
func (s *Store) DeleteKBCategory(ctx context.Context, accountID, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM kb_categories c USING knowledge_bases k
		WHERE c.id = $1 AND k.id = c.kb_id AND k.account_id = $2`, id, accountID)
	return rowsOrNotFound(res, err)
}

// CreateKBArticle inserts a with its passages; the knowledge base must
// belong to account and the category (if any) to the knowledge base.
func (s *Store) CreateKBArticle(ctx context.Context, accountID int64, a *KBArticle, passages []KBPassage) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		err := tx.QueryRowxContext(ctx, `INSERT INTO kb_articles (kb_id, category_id, title, body, body_html, body_text,
				language, search_config, published)
			SELECT id, $3, $4, $5, $6, $7, $8, $9, $10 FROM knowledge_bases WHERE id = $1 AND account_id = $2
			RETURNING id, version, created_at, updated_at`,
			a.KBID, accountID, a.CategoryID, a.Title, a.Body, a.BodyHTML, a.BodyText, a.Language, a.SearchConfig, a.Published).
			Scan(&a.ID, &a.Version, &a.CreatedAt, &a.UpdatedAt)
		if isForeignKey(err) {
			return ErrNoCategory
		}
		if err != nil {
			return notFound(err)
		}
		return writePassages(ctx, tx, a, passages)
	})
}

// ErrNoCategory means an article named a category its knowledge base does not have.
var ErrNoCategory = errors.New("store: no such category in this knowledge base")

// UpdateKBArticle writes a back with new passages and bumps its version; a
// non-zero ifVersion makes the write conditional (ErrStale if it changed).
func (s *Store) UpdateKBArticle(ctx context.Context, accountID int64, a *KBArticle, passages []KBPassage, ifVersion int64) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		err := tx.QueryRowxContext(ctx, `UPDATE kb_articles a SET category_id = $3, title = $4, body = $5, body_html = $6,
				body_text = $7, language = $8, search_config = $9, published = $10, version = a.version + 1, updated_at = now()
			FROM knowledge_bases k
			WHERE a.id = $1 AND k.id = a.kb_id AND k.account_id = $2 AND ($11 = 0 OR a.version = $11)
			RETURNING a.version, a.updated_at`,
			a.ID, accountID, a.CategoryID, a.Title, a.Body, a.BodyHTML, a.BodyText, a.Language, a.SearchConfig, a.Published, ifVersion).
			Scan(&a.Version, &a.UpdatedAt)
		if isForeignKey(err) {
			return ErrNoCategory
		}
		if errors.Is(err, sql.ErrNoRows) && ifVersion != 0 {
			if _, e := s.KBArticle(ctx, accountID, a.ID); e == nil {
				return ErrStale
			}
		}
		if err != nil {
			return notFound(err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM kb_passages WHERE article_id = $1`, a.ID); err != nil {
			return err
		}
		return writePassages(ctx, tx, a, passages)
	})
}

func writePassages(ctx context.Context, tx *sqlx.Tx, a *KBArticle, passages []KBPassage) error {
	if len(passages) == 0 {
		return nil
	}
	headings := make([]string, len(passages))
	bodies := make([]string, len(passages))
	for i, p := range passages {
		headings[i], bodies[i] = p.Heading, p.Body
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO kb_passages (article_id, position, kb_id, language, search_config, heading, body)
		SELECT $1, p.n, $2, $3, $4, p.h, p.b FROM unnest($5::text[], $6::text[]) WITH ORDINALITY AS p(h, b, n)`,
		a.ID, a.KBID, a.Language, a.SearchConfig, pq.Array(headings), pq.Array(bodies))
	return err
}

// KBArticle returns article id if its knowledge base belongs to account.
func (s *Store) KBArticle(ctx context.Context, accountID, id int64) (*KBArticle, error) {
	var a KBArticle
	err := s.db.GetContext(ctx, &a, `SELECT `+articleCols+` FROM kb_articles a JOIN knowledge_bases k ON k.id = a.kb_id
		WHERE a.id = $1 AND k.account_id = $2`, id, accountID)
	if err != nil {
		return nil, notFound(err)
	}
	return &a, nil
}

// PublishedKBArticle returns article id of knowledge base kbID if it is published.
func (s *Store) PublishedKBArticle(ctx context.Context, kbID, id int64) (*KBArticle, error) {
	var a KBArticle
	err := s.db.GetContext(ctx, &a, `SELECT `+articleCols+` FROM kb_articles a WHERE a.id = $1 AND a.kb_id = $2 AND a.published`, id, kbID)
	if err != nil {
		return nil, notFound(err)
	}
	return &a, nil
}

// KBArticles lists a knowledge base's articles, newest first, by f.
func (s *Store) KBArticles(ctx context.Context, kbID int64, f KBArticleFilter) ([]KBArticle, error) {
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	as := []KBArticle{}
	err := s.db.SelectContext(ctx, &as, `SELECT `+articleCols+` FROM kb_articles a
		WHERE a.kb_id = $1 AND ($2 = 0 OR a.category_id = $2) AND ($3 = '' OR a.language = $3)
			AND (NOT $4 OR a.published) AND ($5 = 0 OR a.id < $5)
		ORDER BY a.id DESC LIMIT $6`, kbID, f.CategoryID, f.Language, f.PublishedOnly, f.Before, f.Limit)
	return as, err
}

// KBArticleTitle is an article's id, title and category, for browsing lists.
type KBArticleTitle struct {
	ID         int64         `db:"id"`
	CategoryID sql.NullInt64 `db:"category_id"`
	Title      string        `db:"title"`
	InCategory int           `db:"in_category"` // published articles of its category (or of none), all of them
}

// PublishedKBTitles lists the titles of kbID's published articles (in
// language lang, when not empty), alphabetically, at most perCategory of
// each category (and of the uncategorised): a help centre's front page,
// which must stay small however many articles there are.
func (s *Store) PublishedKBTitles(ctx context.Context, kbID int64, lang string, perCategory int) ([]KBArticleTitle, error) {
	ts := []KBArticleTitle{}
	err := s.db.SelectContext(ctx, &ts, `SELECT id, category_id, title, in_category FROM (
			SELECT id, category_id, title, lower(title) AS sort,
				row_number() OVER (PARTITION BY category_id ORDER BY lower(title), id) AS n,
				count(*) OVER (PARTITION BY category_id) AS in_category
			FROM kb_articles WHERE kb_id = $1 AND published AND ($2 = '' OR language = $2)) t
		WHERE n <= $3 ORDER BY sort, id`, kbID, lang, perCategory)
	return ts, err
}

// DeleteKBArticle removes article id of account.
func (s *Store) DeleteKBArticle(ctx context.Context, accountID, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM kb_articles a USING knowledge_bases k
		WHERE a.id = $1 AND k.id = a.kb_id AND k.account_id = $2`, id, accountID)
	return rowsOrNotFound(res, err)
}

// KBSearchHit is one ranked article found by SearchKB. Headline is the raw
// ts_headline text, its matches between HighlightStart and HighlightStop:
// not HTML until backend/internal/kb escapes it.
type KBSearchHit struct {
	ID         int64         `db:"id"`
	CategoryID sql.NullInt64 `db:"category_id"`
	Title      string        `db:"title"`
	Rank       float64       `db:"rank"`
	Headline   string        `db:"headline"`
}

// Highlight delimiters ts_headline puts around matches: private-use
// characters that article text never keeps (backend/internal/kb strips them), so
// escaping can never be confused by text that looks like a tag.
const (
	HighlightStart = "\ue000"
	HighlightStop  = "\ue001"
)

// SearchCandidates bounds how many matches SearchKB ranks in full. A
// word found in thousands of articles would otherwise mean reading and
// ranking thousands of full-text vectors; instead up to half of this many
// come from articles whose titles match (found by their own small index),
// the rest from other matches in index order, and only those are ranked on
// title and body. Searches with fewer matches are ranked exactly. A quoted
// phrase is found through its words (the index cannot see adjacency) and
// checked on up to three times as many candidates, so a phrase of very
// common words may miss matches beyond them.
const SearchCandidates = 200

// SearchKB ranks the articles of kbID in language lang (searched with the
// text-search configuration cfg) matching the web-search style query, best
// first. Unpublished articles are included only when all is true.
func (s *Store) SearchKB(ctx context.Context, kbID int64, lang, cfg, query string, all bool, limit int) ([]KBSearchHit, error) {
	hits := []KBSearchHit{}
	// Headlines are made only for the few shown: ts_headline re-parses the
	// text and is the expensive part.
	err := s.db.SelectContext(ctx, &hits, `WITH q0 AS (SELECT websearch_to_tsquery($3::regconfig, $4) AS q),
		q AS (SELECT q0.q,
			-- loose: the query with its phrases loosened to AND, which the GIN
			-- index answers without reading each row's positions; phrases are
			-- checked on the candidates only. (A negated phrase is left as is.)
			CASE WHEN q0.q::text LIKE '%!%' THEN q0.q
				ELSE regexp_replace(q0.q::text, '<(-|[0-9]+)>', '&', 'g')::tsquery END AS loose
			FROM q0),
		cand AS (
			(SELECT a.id FROM kb_articles a, q
			WHERE a.title_search @@ q.loose AND a.kb_id = $1 AND a.language = $2 AND ($5 OR a.published)
			LIMIT $7 / 2)
			UNION
			(SELECT a.id FROM kb_articles a, q
			WHERE a.search @@ q.loose AND a.kb_id = $1 AND a.language = $2 AND ($5 OR a.published)
			-- A phrase keeps only some of its loose matches: take more of them.
			LIMIT (SELECT CASE WHEN q.q::text = q.loose::text THEN $7 / 2 ELSE $7 * 3 END FROM q))),
		top AS (
			SELECT a.id, a.category_id, a.title, a.body_text, ts_rank_cd(a.search, q.q, 1) AS rank
			FROM kb_articles a JOIN cand USING (id), q
			-- Only the candidates are checked (coalesce keeps the planner from
			-- answering this through the index, which would recheck every
			-- article holding the phrase's words).
			WHERE coalesce(a.search, ''::tsvector) @@ q.q
			ORDER BY rank DESC, a.id LIMIT $6)
		SELECT top.id, top.category_id, top.title, top.rank,
			ts_headline($3::regconfig, top.body_text, q.q,
				'StartSel=`+HighlightStart+`, StopSel=`+HighlightStop+`, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "') AS headline
		FROM top, q ORDER BY top.rank DESC, top.id`, kbID, lang, cfg, query, all, limit, SearchCandidates)
	return hits, err
}

// QueryLexemes returns the distinct normalised words of text under the
// text-search configuration cfg (stop words dropped, stems kept).
func (s *Store) QueryLexemes(ctx context.Context, cfg, text string) ([]string, error) {
	var lex pq.StringArray
	err := s.db.QueryRowContext(ctx, `SELECT tsvector_to_array(to_tsvector($1::regconfig, $2))`, cfg, text).Scan(&lex)
	return lex, err
}

// KBPassageHit is a passage matching some of a question's words.
type KBPassageHit struct {
	ArticleID int64          `db:"article_id"`
	Title     string         `db:"title"`
	Heading   string         `db:"heading"`
	Body      string         `db:"body"`
	Rank      float64        `db:"rank"`
	Lexemes   pq.StringArray `db:"lexemes"` // the question's words this passage holds
}

// KBPassageCandidates returns up to limit published passages of kbID in
// language lang holding any of the lexemes, best ranked first, with the
// number of passages in that language and how many hold each lexeme (for
// weighting rare words above common ones).
func (s *Store) KBPassageCandidates(ctx context.Context, kbID int64, lang string, lexemes []string, limit int) (hits []KBPassageHit, total int, docFreq map[string]int, err error) {
	hits = []KBPassageHit{}
	docFreq = map[string]int{}
	if len(lexemes) == 0 {
		return hits, 0, docFreq, nil
	}
	// The lexemes are already normalised: build the OR query from quoted
	// lexemes (text::tsquery does not normalise again).
	quoted := make([]string, len(lexemes))
	for i, l := range lexemes {
		quoted[i] = quoteLexeme(l)
	}
	or := strings.Join(quoted, " | ")
	err = s.db.SelectContext(ctx, &hits, `SELECT p.article_id, a.title, p.heading, p.body,
			ts_rank_cd(p.search, $3::tsquery, 1) AS rank,
			ARRAY(SELECT x.l FROM unnest($4::text[], $6::text[]) AS x(l, q) WHERE p.search @@ x.q::tsquery) AS lexemes
		FROM kb_passages p JOIN kb_articles a ON a.id = p.article_id
		WHERE p.search @@ $3::tsquery AND p.kb_id = $1 AND p.language = $2 AND a.published
		ORDER BY rank DESC, p.article_id, p.position LIMIT $5`, kbID, lang, or, pq.Array(lexemes), limit, pq.Array(quoted))
	if err != nil {
		return nil, 0, nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT x.l, (SELECT count(*) FROM kb_passages p JOIN kb_articles a ON a.id = p.article_id
			WHERE p.search @@ x.q::tsquery AND p.kb_id = $1 AND p.language = $2 AND a.published)
		FROM unnest($3::text[], $4::text[]) AS x(l, q)
		UNION ALL SELECT '', count(*) FROM kb_passages p JOIN kb_articles a ON a.id = p.article_id
			WHERE p.kb_id = $1 AND p.language = $2 AND a.published`, kbID, lang, pq.Array(lexemes), pq.Array(quoted))
	if err != nil {
		return nil, 0, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var l string
		var n int
		if err := rows.Scan(&l, &n); err != nil {
			return nil, 0, nil, err
		}
		if l == "" {
			total = n
		} else {
			docFreq[l] = n
		}
	}
	return hits, total, docFreq, rows.Err()
}

// quoteLexeme quotes one lexeme for tsquery input: in single quotes, with
// quotes doubled and backslashes escaped.
func quoteLexeme(l string) string {
	b := []byte{'\''}
	for i := 0; i < len(l); i++ {
		switch l[i] {
		case '\'':
			b = append(b, '\'', '\'')
		case '\\':
			b = append(b, '\\', '\\')
		default:
			b = append(b, l[i])
		}
	}
	return string(append(b, '\''))
}

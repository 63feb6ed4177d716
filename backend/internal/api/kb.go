package api

import (
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/kb"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
)

// articleDoc is an article as the REST API shows and takes it: Markdown in
// body, the sanitised rendering in body_html (read-only).
type articleDoc struct {
	ID         int64     `json:"id"`
	KBID       int64     `json:"knowledge_base_id"`
	CategoryID *int64    `json:"category_id"`
	Title      string    `json:"title"`
	Body       string    `json:"body"`
	BodyHTML   string    `json:"body_html"`
	Language   string    `json:"language"`
	Published  bool      `json:"published"`
	Version    int64     `json:"version"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

var (
	kbReadOnly       = []string{"id", "created_at", "updated_at"}
	categoryReadOnly = []string{"id", "knowledge_base_id", "created_at", "updated_at"}
	articleReadOnly  = []string{"id", "knowledge_base_id", "body_html", "version", "created_at", "updated_at"}
)

func (a *API) registerKB(v1 *gin.RouterGroup, r *gin.Engine) {
	v1.GET("/knowledge-bases", a.listKBs)
	v1.POST("/knowledge-bases", a.createKB)
	v1.GET("/knowledge-bases/:id", a.getKB)
	v1.PATCH("/knowledge-bases/:id", a.patchKB)
	v1.DELETE("/knowledge-bases/:id", a.deleteKB)
	v1.GET("/knowledge-bases/:id/categories", a.listCategories)
	v1.POST("/knowledge-bases/:id/categories", a.createCategory)
	v1.GET("/knowledge-bases/:id/articles", a.listArticles)
	v1.POST("/knowledge-bases/:id/articles", a.createArticle)
	v1.GET("/knowledge-bases/:id/search", a.searchKB)
	v1.GET("/kb-categories/:id", a.getCategory)
	v1.PATCH("/kb-categories/:id", a.patchCategory)
	v1.DELETE("/kb-categories/:id", a.deleteCategory)
	v1.GET("/kb-articles/:id", a.getArticle)
	v1.PUT("/kb-articles/:id", func(c *gin.Context) { a.updateArticle(c, true) })
	v1.PATCH("/kb-articles/:id", func(c *gin.Context) { a.updateArticle(c, false) })
	v1.DELETE("/kb-articles/:id", a.deleteArticle)

	// Public reads, for the edge to cache: published articles only.
	r.GET("/internal/sites/:site/kb/:kb/categories", a.internal, a.publicCategories)
	r.GET("/internal/sites/:site/kb/:kb/articles/:article", a.internal, a.publicArticle)
	r.GET("/internal/sites/:site/kb/:kb/search", a.internal, a.publicSearch)
	r.GET("/internal/sites/:site/kb/:kb/titles", a.internal, a.publicTitles)
}

// --- knowledge bases ---

func (a *API) listKBs(c *gin.Context) {
	ks, err := a.st.KBs(c, account(c).ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"knowledge_bases": ks})
}

func (a *API) loadKB(c *gin.Context) (*store.KnowledgeBase, bool) {
	id, ok := pathID(c)
	if !ok {
		return nil, false
	}
	k, err := a.st.KB(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return nil, false
	}
	return k, true
}

func (a *API) getKB(c *gin.Context) {
	if k, ok := a.loadKB(c); ok {
		c.JSON(http.StatusOK, k)
	}
}

func (a *API) createKB(c *gin.Context) {
	k := store.KnowledgeBase{AccountID: account(c).ID, Language: "en"}
	if !a.decodeKB(c, &k) {
		return
	}
	if err := a.st.CreateKB(c, &k); err != nil {
		a.failNamed(c, err, "a knowledge base")
		return
	}
	c.Header("Location", "/api/v1/knowledge-bases/"+strconv.FormatInt(k.ID, 10))
	c.JSON(http.StatusCreated, &k)
}

func (a *API) patchKB(c *gin.Context) {
	k, ok := a.loadKB(c)
	if !ok || !a.decodeKB(c, k) {
		return
	}
	if err := a.st.UpdateKB(c, k); err != nil {
		a.failNamed(c, err, "a knowledge base")
		return
	}
	c.JSON(http.StatusOK, k)
}

func (a *API) decodeKB(c *gin.Context, k *store.KnowledgeBase) bool {
	b, ok := body(c)
	if !ok {
		return false
	}
	if err := chatflow.DecodeStrict(b, k, kbReadOnly...); err != nil {
		a.fail(c, err)
		return false
	}
	var e problem.Errors
	k.Name = strings.TrimSpace(k.Name)
	checkKBName(&e, "name", k.Name, 100)
	checkLanguage(&e, "language", k.Language)
	if len(e) > 0 {
		problem.Invalid(c.Writer, "Invalid input", e)
		return false
	}
	return true
}

func (a *API) deleteKB(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	if err := a.st.DeleteKB(c, account(c).ID, id); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// --- categories ---

func (a *API) listCategories(c *gin.Context) {
	k, ok := a.loadKB(c)
	if !ok {
		return
	}
	cs, err := a.st.KBCategories(c, k.ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"categories": cs})
}

func (a *API) createCategory(c *gin.Context) {
	k, ok := a.loadKB(c)
	if !ok {
		return
	}
	cat := store.KBCategory{KBID: k.ID}
	if !a.decodeCategory(c, &cat) {
		return
	}
	if err := a.st.CreateKBCategory(c, account(c).ID, &cat); err != nil {
		a.failNamed(c, err, "a category of this knowledge base")
		return
	}
	c.Header("Location", "/api/v1/kb-categories/"+strconv.FormatInt(cat.ID, 10))
	c.JSON(http.StatusCreated, &cat)
}

func (a *API) loadCategory(c *gin.Context) (*store.KBCategory, bool) {
	id, ok := pathID(c)
	if !ok {
		return nil, false
	}
	cat, err := a.st.KBCategory(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return nil, false
	}
	return cat, true
}

func (a *API) getCategory(c *gin.Context) {
	if cat, ok := a.loadCategory(c); ok {
		c.JSON(http.StatusOK, cat)
	}
}

func (a *API) patchCategory(c *gin.Context) {
	cat, ok := a.loadCategory(c)
	if !ok || !a.decodeCategory(c, cat) {
		return
	}
	if err := a.st.UpdateKBCategory(c, cat); err != nil {
		a.failNamed(c, err, "a category of this knowledge base")
		return
	}
	c.JSON(http.StatusOK, cat)
}

func (a *API) decodeCategory(c *gin.Context, cat *store.KBCategory) bool {
	b, ok := body(c)
	if !ok {
		return false
	}
	if err := chatflow.DecodeStrict(b, cat, categoryReadOnly...); err != nil {
		a.fail(c, err)
		return false
	}
	var e problem.Errors
	cat.Name = strings.TrimSpace(cat.Name)
	checkKBName(&e, "name", cat.Name, 100)
	if utf8.RuneCountInString(cat.Description) > 1000 {
		e.Add("description", "must be at most 1000 characters")
	}
	if len(e) > 0 {
		problem.Invalid(c.Writer, "Invalid input", e)
		return false
	}
	return true
}

func (a *API) deleteCategory(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	if err := a.st.DeleteKBCategory(c, account(c).ID, id); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// --- articles ---

func docFromArticle(r *store.KBArticle) *articleDoc {
	d := &articleDoc{ID: r.ID, KBID: r.KBID, Title: r.Title, Body: r.Body, BodyHTML: r.BodyHTML, Language: r.Language,
		Published: r.Published, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.CategoryID.Valid {
		id := r.CategoryID.Int64
		d.CategoryID = &id
	}
	return d
}

func (a *API) listArticles(c *gin.Context) {
	k, ok := a.loadKB(c)
	if !ok {
		return
	}
	var e problem.Errors
	limit, cursor := listQuery(c, &e, "category_id", "language", "published")
	f := store.KBArticleFilter{CategoryID: idQuery(c, &e, "category_id"), Language: c.Query("language"), Before: cursor, Limit: limit + 1}
	if f.Language != "" {
		checkLanguage(&e, "language", f.Language)
	}
	switch c.Query("published") {
	case "", "false":
		// "false" lists drafts and published alike: the admin's view.
	case "true":
		f.PublishedOnly = true
	default:
		e.Add("published", "must be true or false")
	}
	if len(e) > 0 {
		problem.Invalid(c.Writer, "Invalid query", e)
		return
	}
	rows, err := a.st.KBArticles(c, k.ID, f)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := gin.H{}
	rows, next := trimPage(rows, limit, func(r *store.KBArticle) int64 { return r.ID })
	if next != nil {
		out["next_cursor"] = *next
	}
	docs := make([]*articleDoc, len(rows))
	for i := range rows {
		docs[i] = docFromArticle(&rows[i])
	}
	out["articles"] = docs
	c.JSON(http.StatusOK, out)
}

func (a *API) createArticle(c *gin.Context) {
	k, ok := a.loadKB(c)
	if !ok {
		return
	}
	b, ok := body(c)
	if !ok {
		return
	}
	d := articleDoc{KBID: k.ID, Language: k.Language}
	if err := chatflow.DecodeStrict(b, &d, articleReadOnly...); err != nil {
		a.fail(c, err)
		return
	}
	row, passages, ok := a.prepareArticle(c, &d)
	if !ok {
		return
	}
	if err := a.st.CreateKBArticle(c, account(c).ID, row, passages); err != nil {
		a.failArticle(c, err)
		return
	}
	c.Header("Location", "/api/v1/kb-articles/"+strconv.FormatInt(row.ID, 10))
	c.Header("ETag", etag(row.Version))
	c.JSON(http.StatusCreated, docFromArticle(row))
}

func (a *API) loadArticle(c *gin.Context) (*store.KBArticle, bool) {
	id, ok := pathID(c)
	if !ok {
		return nil, false
	}
	art, err := a.st.KBArticle(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return nil, false
	}
	return art, true
}

func (a *API) getArticle(c *gin.Context) {
	if art, ok := a.loadArticle(c); ok {
		c.Header("ETag", etag(art.Version))
		c.JSON(http.StatusOK, docFromArticle(art))
	}
}

// updateArticle is PUT (replace: fields left out take their defaults) or
// PATCH (merge: fields left out stay).
func (a *API) updateArticle(c *gin.Context, replace bool) {
	cur, ok := a.loadArticle(c)
	if !ok {
		return
	}
	b, ok := body(c)
	if !ok {
		return
	}
	d := *docFromArticle(cur)
	if replace {
		k, err := a.st.KB(c, account(c).ID, cur.KBID)
		if err != nil {
			a.fail(c, err)
			return
		}
		d = articleDoc{ID: cur.ID, KBID: cur.KBID, Language: k.Language, CreatedAt: cur.CreatedAt}
	}
	if err := chatflow.DecodeStrict(b, &d, articleReadOnly...); err != nil {
		a.fail(c, err)
		return
	}
	row, passages, ok := a.prepareArticle(c, &d)
	if !ok {
		return
	}
	ifVersion, ok := ifMatch(c)
	if !ok {
		return
	}
	row.ID, row.CreatedAt = cur.ID, cur.CreatedAt
	if err := a.st.UpdateKBArticle(c, account(c).ID, row, passages, ifVersion); err != nil {
		a.failArticle(c, err)
		return
	}
	c.Header("ETag", etag(row.Version))
	c.JSON(http.StatusOK, docFromArticle(row))
}

// prepareArticle validates d and renders it into the row to store.
func (a *API) prepareArticle(c *gin.Context, d *articleDoc) (*store.KBArticle, []store.KBPassage, bool) {
	var e problem.Errors
	d.Title = strings.TrimSpace(d.Title)
	checkKBName(&e, "title", d.Title, kb.MaxTitleChars)
	if len(d.Body) > kb.MaxBodyBytes {
		e.Add("body", "must be at most "+strconv.Itoa(kb.MaxBodyBytes)+" bytes")
	} else if !utf8.ValidString(d.Body) {
		e.Add("body", "must be valid UTF-8")
	}
	checkLanguage(&e, "language", d.Language)
	if d.CategoryID != nil && *d.CategoryID <= 0 {
		e.Add("category_id", "must be a category id or null")
	}
	if len(e) > 0 {
		problem.Invalid(c.Writer, "Invalid input", e.Err().(problem.Errors))
		return nil, nil, false
	}
	row := &store.KBArticle{KBID: d.KBID, Title: d.Title, Body: d.Body, Language: d.Language, Published: d.Published}
	if d.CategoryID != nil {
		row.CategoryID = sql.NullInt64{Int64: *d.CategoryID, Valid: true}
	}
	passages, err := kb.Prepare(row)
	if err != nil {
		a.fail(c, err)
		return nil, nil, false
	}
	return row, passages, true
}

func (a *API) failArticle(c *gin.Context, err error) {
	switch {
	case errors.Is(err, store.ErrNoCategory):
		problem.Invalid(c.Writer, "Invalid input", problem.Errors{{Field: "category_id", Message: "names no category of this knowledge base"}})
	default:
		a.fail(c, err)
	}
}

func (a *API) deleteArticle(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	if err := a.st.DeleteKBArticle(c, account(c).ID, id); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// searchKB is the admin's search: drafts included unless published=true.
func (a *API) searchKB(c *gin.Context) {
	k, ok := a.loadKB(c)
	if !ok {
		return
	}
	q, lang, limit, ok := searchQuery(c, k.Language, "published")
	if !ok {
		return
	}
	hits, err := kb.Search(c, a.st, k.ID, lang, q, c.Query("published") != "true", limit)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"query": q, "language": lang, "results": hits})
}

// searchQuery reads q, language (default def) and limit, refusing anything else.
func searchQuery(c *gin.Context, def string, extra ...string) (q, lang string, limit int, ok bool) {
	var e problem.Errors
	allowed := append([]string{"q", "language", "limit"}, extra...)
	for k := range c.Request.URL.Query() {
		if !containsStr(allowed, k) {
			e.Add(k, "is not a parameter here; use "+strings.Join(allowed, ", "))
		}
	}
	q = strings.TrimSpace(c.Query("q"))
	if q == "" || utf8.RuneCountInString(q) > kb.MaxQueryChars || !utf8.ValidString(q) {
		e.Add("q", "must be 1 to "+strconv.Itoa(kb.MaxQueryChars)+" characters")
	}
	lang = c.DefaultQuery("language", def)
	checkLanguage(&e, "language", lang)
	limit = kb.DefaultResults
	if v, has := c.GetQuery("limit"); has {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > kb.MaxResults {
			e.Add("limit", "must be a number from 1 to "+strconv.Itoa(kb.MaxResults))
		}
		limit = n
	}
	if len(e) > 0 {
		problem.Invalid(c.Writer, "Invalid query", e.Err().(problem.Errors))
		return "", "", 0, false
	}
	return q, lang, limit, true
}

// --- public reads (through the edge) ---

type publicTitle struct {
	ID    int64  `json:"id"`
	Title string `json:"title"`
}

type publicCategory struct {
	ID          int64         `json:"id"`
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Articles    []publicTitle `json:"articles"`      // the first frontPageTitles, alphabetically
	Count       int           `json:"article_count"` // all of them: search finds the rest
}

// frontPageTitles caps the titles listed per category on the Help tab's
// front page: a knowledge base of thousands of articles stays a small answer.
const frontPageTitles = 25

// publicKB finds the site's knowledge base named in the path: only one a
// published chatflow of the site links (store.PublicKB); any other is 404.
func (a *API) publicKB(c *gin.Context) (*store.KnowledgeBase, bool) {
	acct, err := a.st.AccountBySite(c, c.Param("site"))
	if err == nil {
		id, perr := strconv.ParseInt(c.Param("kb"), 10, 64)
		if perr != nil || id <= 0 {
			err = store.ErrNotFound
		} else {
			var k *store.KnowledgeBase
			if k, err = a.st.PublicKB(c, acct.ID, id); err == nil {
				return k, true
			}
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		problem.Status(c.Writer, http.StatusNotFound, "No such knowledge base.")
	} else {
		a.fail(c, err)
	}
	return nil, false
}

// publicLanguage is the ?language= of a public read (the knowledge base's
// by default), with the error of one it has no search configuration for.
func publicLanguage(c *gin.Context, k *store.KnowledgeBase) (string, problem.Errors) {
	lang := c.DefaultQuery("language", k.Language)
	var e problem.Errors
	checkLanguage(&e, "language", lang)
	return lang, e
}

// publicCategories lists the categories with their published articles'
// titles (in ?language=, default the knowledge base's): the Help tab's front page.
func (a *API) publicCategories(c *gin.Context) {
	k, ok := a.publicKB(c)
	if !ok {
		return
	}
	lang, e := publicLanguage(c, k)
	if len(e) > 0 {
		problem.Invalid(c.Writer, "Invalid query", e)
		return
	}
	cats, err := a.st.KBCategories(c, k.ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	titles, err := a.st.PublishedKBTitles(c, k.ID, lang, frontPageTitles)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := make([]publicCategory, len(cats))
	pos := map[int64]int{}
	for i, cat := range cats {
		out[i] = publicCategory{ID: cat.ID, Name: cat.Name, Description: cat.Description, Articles: []publicTitle{}}
		pos[cat.ID] = i
	}
	other, otherCount := []publicTitle{}, 0
	for _, t := range titles {
		if i, ok := pos[t.CategoryID.Int64]; ok && t.CategoryID.Valid {
			out[i].Articles = append(out[i].Articles, publicTitle{t.ID, t.Title})
			out[i].Count = t.InCategory
		} else {
			other = append(other, publicTitle{t.ID, t.Title})
			otherCount = t.InCategory
		}
	}
	c.JSON(http.StatusOK, gin.H{
		"knowledge_base":      gin.H{"id": k.ID, "name": k.Name, "language": lang},
		"categories":          out,
		"uncategorised":       other,
		"uncategorised_count": otherCount,
	})
}

// MaxTitlesOffset bounds how far the Help tab pages into one category.
const MaxTitlesOffset = 100000

// publicTitles pages through one category's published titles past the
// front page: ?category= (0 for the uncategorised), &offset= (a multiple
// of nothing in particular; the front page shows the first 25), &language=.
func (a *API) publicTitles(c *gin.Context) {
	k, ok := a.publicKB(c)
	if !ok {
		return
	}
	lang, e := publicLanguage(c, k)
	cat, err := strconv.ParseInt(c.Query("category"), 10, 64)
	if err != nil || cat < 0 {
		e.Add("category", "must be a category id (0 for articles in none)")
	}
	offset, err := strconv.Atoi(c.DefaultQuery("offset", "0"))
	if err != nil || offset < 0 || offset > MaxTitlesOffset {
		e.Add("offset", "must be a number from 0 to "+strconv.Itoa(MaxTitlesOffset))
	}
	if len(e) > 0 {
		problem.Invalid(c.Writer, "Invalid query", e)
		return
	}
	ts, err := a.st.PublishedKBTitlesPage(c, k.ID, lang, cat, offset, frontPageTitles)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := gin.H{"category_id": cat, "language": lang, "offset": offset}
	titles, count := make([]publicTitle, len(ts)), 0
	for i, t := range ts {
		titles[i], count = publicTitle{t.ID, t.Title}, t.InCategory
	}
	out["articles"] = titles
	if count > 0 {
		out["article_count"] = count
		if next := offset + len(ts); next < count {
			out["next_offset"] = next
		}
	}
	c.JSON(http.StatusOK, out)
}

func (a *API) publicArticle(c *gin.Context) {
	k, ok := a.publicKB(c)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(c.Param("article"), 10, 64)
	if err != nil || id <= 0 {
		problem.Status(c.Writer, http.StatusNotFound, "No such article.")
		return
	}
	art, err := a.st.PublishedKBArticle(c, k.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		problem.Status(c.Writer, http.StatusNotFound, "No such article.")
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	var cat *int64
	if art.CategoryID.Valid {
		cat = &art.CategoryID.Int64
	}
	c.JSON(http.StatusOK, gin.H{"id": art.ID, "title": art.Title, "category_id": cat, "language": art.Language,
		"html": art.BodyHTML, "updated_at": art.UpdatedAt})
}

func (a *API) publicSearch(c *gin.Context) {
	k, ok := a.publicKB(c)
	if !ok {
		return
	}
	q, lang, limit, ok := searchQuery(c, k.Language)
	if !ok {
		return
	}
	hits, err := kb.Search(c, a.st, k.ID, lang, q, false, limit)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"query": q, "language": lang, "results": hits})
}

// --- helpers ---

func checkKBName(e *problem.Errors, field, v string, max int) {
	if v == "" || utf8.RuneCountInString(v) > max {
		e.Add(field, "must be 1 to "+strconv.Itoa(max)+" characters")
	}
}

func checkLanguage(e *problem.Errors, field, lang string) {
	if _, ok := kb.SearchConfig(lang); !ok {
		e.Add(field, "must be one of "+kb.LanguageList())
	}
}

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// failNamed answers a duplicate name as a field error.
func (a *API) failNamed(c *gin.Context, err error, what string) {
	if errors.Is(err, store.ErrConflict) {
		problem.Invalid(c.Writer, "Invalid input", problem.Errors{{Field: "name", Message: "is already the name of " + what}})
		return
	}
	a.fail(c, err)
}

package inbox

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/kb"
)

// Knowledge bases: their categories and Markdown articles, previewed with
// the renderer the widget's Help tab shows (backend/internal/kb) and published or
// unpublished. A knowledge base may hold thousands of articles, so its page
// lists them a page at a time through the REST list's cursor.

// kbArticlesPerPage is how many articles the knowledge base page lists at once.
const kbArticlesPerPage = 50

func (h *Handler) kbSettings(g *gin.RouterGroup) {
	g.GET("/knowledge-bases", h.kbsPage)
	g.POST("/knowledge-bases", h.requireCSRF, h.createKBForm)
	g.GET("/knowledge-bases/:id", h.kbPage)
	g.POST("/knowledge-bases/:id", h.requireCSRF, h.saveKBForm)
	g.GET("/knowledge-bases/:id/delete", h.confirmDeleteKB)
	g.POST("/knowledge-bases/:id/delete", h.requireCSRF, h.deleteKBForm)
	g.POST("/knowledge-bases/:id/categories", h.requireCSRF, h.createCategoryForm)
	g.GET("/knowledge-bases/:id/articles/new", h.newArticlePage)
	g.POST("/knowledge-bases/:id/articles", h.requireCSRF, h.createArticleForm)
	g.GET("/kb-categories/:id", h.categoryPage)
	g.POST("/kb-categories/:id", h.requireCSRF, h.saveCategoryForm)
	g.GET("/kb-categories/:id/delete", h.confirmDeleteCategory)
	g.POST("/kb-categories/:id/delete", h.requireCSRF, h.deleteCategoryForm)
	g.GET("/kb-articles/:id", h.articlePage)
	g.POST("/kb-articles/:id", h.requireCSRF, h.saveArticleForm)
	g.POST("/kb-articles/:id/publish", h.requireCSRF, h.publishArticleForm)
	g.GET("/kb-articles/:id/delete", h.confirmDeleteArticle)
	g.POST("/kb-articles/:id/delete", h.requireCSRF, h.deleteArticleForm)
}

type kbForm struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Language string `json:"language"`
}

type categoryForm struct {
	ID          int64  `json:"id"`
	KBID        int64  `json:"knowledge_base_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Position    any    `json:"position"`
}

type articleForm struct {
	ID         int64     `json:"id"`
	KBID       int64     `json:"knowledge_base_id"`
	CategoryID *int64    `json:"category_id"`
	Title      string    `json:"title"`
	Body       string    `json:"body"`
	BodyHTML   string    `json:"body_html"`
	Language   string    `json:"language"`
	Published  bool      `json:"published"`
	Version    int64     `json:"version"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Cat is the article's category id, 0 for none.
func (a articleForm) Cat() int64 {
	if a.CategoryID == nil {
		return 0
	}
	return *a.CategoryID
}

// InCategory reports whether the article is in category id (0: none).
func (a articleForm) InCategory(id int64) bool {
	if a.CategoryID == nil {
		return id == 0
	}
	return *a.CategoryID == id
}

type kbPageData struct {
	settingsPage
	KBs        []kbForm
	KB         kbForm // the create or edit form
	Languages  []string
	Categories []categoryForm
	Category   categoryForm // the new category form, or the category being edited
	CatNames   map[int64]string
	// The articles page: the filter and the cursors.
	Articles  []articleForm
	FilterCat int64
	Cursor    string
	Next      string
	// A search of the articles (drafts too), instead of the list.
	Query string
	Hits  []kbHit
	// The article form and its preview.
	Article articleForm
	Preview template.HTML
}

var (
	kbFields       = []string{"name", "language"}
	categoryFields = []string{"name", "description", "position"}
	articleFields  = []string{"title", "body", "category_id", "language", "published"}
)

func kbAPI(id int64) string { return "/api/v1/knowledge-bases/" + strconv.FormatInt(id, 10) }

func (h *Handler) kbsPage(c *gin.Context) {
	h.renderKBs(c, http.StatusOK, kbPageData{settingsPage: h.settingsPageFor(c, "knowledge-bases", "Knowledge bases"), KB: kbForm{Language: "en"}})
}

func (h *Handler) renderKBs(c *gin.Context, status int, d kbPageData) {
	var list struct {
		KBs []kbForm `json:"knowledge_bases"`
	}
	if !h.restGet(c, "/api/v1/knowledge-bases", &list) {
		return
	}
	d.KBs, d.Languages = list.KBs, kb.Languages()
	h.render(c, status, "settings_knowledge_bases.html", d)
}

func kbFromForm(c *gin.Context) kbForm {
	return kbForm{Name: c.PostForm("name"), Language: c.PostForm("language")}
}

func (h *Handler) createKBForm(c *gin.Context) {
	k := kbFromForm(c)
	r := h.rest(c, http.MethodPost, "/api/v1/knowledge-bases", map[string]any{"name": k.Name, "language": k.Language}, 0)
	if r.OK() {
		var made kbForm
		if err := r.Decode(&made); err != nil {
			h.fail(c, "create knowledge base", err)
			return
		}
		doneRedirect(c, "/inbox/settings/knowledge-bases/"+strconv.FormatInt(made.ID, 10), "created")
		return
	}
	d := kbPageData{settingsPage: h.settingsBase(c, "knowledge-bases", "Knowledge bases"), KB: k}
	status := formProblem(r, &d.Errors, nil)
	placeErrors(d.Errors, kbFields...)
	h.renderKBs(c, status, d)
}

// kbCategories fills d.Categories and d.CatNames for knowledge base id.
func (h *Handler) kbCategories(c *gin.Context, id int64, d *kbPageData) bool {
	var cats struct {
		Categories []categoryForm `json:"categories"`
	}
	if !h.restGet(c, kbAPI(id)+"/categories", &cats) {
		return false
	}
	d.Categories, d.CatNames = cats.Categories, map[int64]string{}
	for _, cat := range cats.Categories {
		d.CatNames[cat.ID] = cat.Name
	}
	return true
}

// kbHit is one search result; Snippet is REST's escaped text with <mark>s.
type kbHit struct {
	ID      int64  `json:"id"`
	Title   string `json:"title"`
	Snippet string `json:"snippet"`
}

// SnippetHTML is the snippet as markup: REST escaped the text and added only <mark>.
func (k kbHit) SnippetHTML() template.HTML { return template.HTML(k.Snippet) }

// renderKB shows a knowledge base: its settings, categories and one page
// of articles (?category= filters, ?cursor= pages on), or the articles
// matching ?q=.
func (h *Handler) renderKB(c *gin.Context, status int, id int64, d kbPageData) {
	if !h.kbCategories(c, id, &d) {
		return
	}
	d.Languages = kb.Languages()
	if q := c.Query("q"); q != "" {
		d.Query = q
		r := h.rest(c, http.MethodGet, kbAPI(id)+"/search?"+url.Values{"q": {q}, "limit": {strconv.Itoa(kb.MaxResults)}}.Encode(), nil, 0)
		var res struct {
			Results []kbHit `json:"results"`
		}
		switch {
		case r.Status == http.StatusBadRequest:
			for f, m := range fromProblem(r.Problem()) {
				d.Errors["search."+f] = m
			}
			status = http.StatusUnprocessableEntity
		case !r.OK():
			h.restDeny(c, r)
			return
		default:
			if err := r.Decode(&res); err != nil {
				h.fail(c, "kb search", err)
				return
			}
			d.Hits = res.Results
		}
		h.render(c, status, "settings_knowledge_base.html", d)
		return
	}
	q := url.Values{"limit": {strconv.Itoa(kbArticlesPerPage)}}
	if cat := c.Query("category"); cat != "" {
		d.FilterCat, _ = strconv.ParseInt(cat, 10, 64)
		q.Set("category_id", cat)
	}
	if cur := c.Query("cursor"); cur != "" {
		d.Cursor = cur
		q.Set("cursor", cur)
	}
	var list struct {
		Articles []articleForm `json:"articles"`
		Next     string        `json:"next_cursor"`
	}
	if !h.restGet(c, kbAPI(id)+"/articles?"+q.Encode(), &list) {
		return
	}
	d.Articles, d.Next, d.Languages = list.Articles, list.Next, kb.Languages()
	h.render(c, status, "settings_knowledge_base.html", d)
}

func (h *Handler) kbPage(c *gin.Context) {
	id := pathInt64(c, "id")
	var k kbForm
	if id == 0 {
		h.deny(c, http.StatusNotFound, "There is no such knowledge base.")
		return
	}
	if !h.restGet(c, kbAPI(id), &k) {
		return
	}
	h.renderKB(c, http.StatusOK, id, kbPageData{settingsPage: h.settingsPageFor(c, "knowledge-bases", k.Name), KB: k})
}

func (h *Handler) saveKBForm(c *gin.Context) {
	id := pathInt64(c, "id")
	if id == 0 {
		h.deny(c, http.StatusNotFound, "There is no such knowledge base.")
		return
	}
	k := kbFromForm(c)
	r := h.rest(c, http.MethodPatch, kbAPI(id), map[string]any{"name": k.Name, "language": k.Language}, 0)
	if r.OK() {
		doneRedirect(c, "/inbox/settings/knowledge-bases/"+strconv.FormatInt(id, 10), "saved")
		return
	}
	if r.Status == http.StatusNotFound {
		h.restDeny(c, r)
		return
	}
	k.ID = id
	d := kbPageData{settingsPage: h.settingsBase(c, "knowledge-bases", k.Name), KB: k}
	status := formProblem(r, &d.Errors, nil)
	placeErrors(d.Errors, kbFields...)
	h.renderKB(c, status, id, d)
}

func (h *Handler) confirmDeleteKB(c *gin.Context) {
	id := pathInt64(c, "id")
	var k kbForm
	if id == 0 || !h.restGet(c, kbAPI(id), &k) {
		if id == 0 {
			h.deny(c, http.StatusNotFound, "There is no such knowledge base.")
		}
		return
	}
	p := "/inbox/settings/knowledge-bases/" + strconv.FormatInt(id, 10)
	h.confirm(c, "knowledge-bases", confirmData{What: "the knowledge base " + strconv.Quote(k.Name),
		Action: p + "/delete", Back: p, Button: "Delete knowledge base",
		Detail: "Its categories and every article in it are deleted too."})
}

func (h *Handler) deleteKBForm(c *gin.Context) {
	id := pathInt64(c, "id")
	if id == 0 {
		h.deny(c, http.StatusNotFound, "There is no such knowledge base.")
		return
	}
	h.restDelete(c, kbAPI(id), "/inbox/settings/knowledge-bases", "deleted")
}

// ---- categories ----

func categoryFromForm(c *gin.Context) (categoryForm, map[string]any) {
	cat := categoryForm{Name: c.PostForm("name"), Description: c.PostForm("description"), Position: c.PostForm("position")}
	body := map[string]any{"name": cat.Name, "description": cat.Description}
	if p := c.PostForm("position"); p != "" {
		body["position"] = formNumber(p)
	}
	return cat, body
}

func (h *Handler) createCategoryForm(c *gin.Context) {
	id := pathInt64(c, "id")
	var k kbForm
	if id == 0 || !h.restGet(c, kbAPI(id), &k) {
		if id == 0 {
			h.deny(c, http.StatusNotFound, "There is no such knowledge base.")
		}
		return
	}
	cat, body := categoryFromForm(c)
	r := h.rest(c, http.MethodPost, kbAPI(id)+"/categories", body, 0)
	if r.OK() {
		doneRedirect(c, "/inbox/settings/knowledge-bases/"+strconv.FormatInt(id, 10), "created")
		return
	}
	d := kbPageData{settingsPage: h.settingsBase(c, "knowledge-bases", k.Name), KB: k, Category: cat}
	var errs formErrors
	status := formProblem(r, &errs, nil)
	placeErrors(errs, categoryFields...)
	for f, m := range errs { // the category form's fields, apart from the knowledge base's own
		d.Errors["category."+f] = m
	}
	h.renderKB(c, status, id, d)
}

func categoryAPI(c *gin.Context) (string, int64) {
	id := pathInt64(c, "id")
	return "/api/v1/kb-categories/" + strconv.FormatInt(id, 10), id
}

func (h *Handler) categoryPage(c *gin.Context) {
	path, id := categoryAPI(c)
	var cat categoryForm
	if id == 0 || !h.restGet(c, path, &cat) {
		if id == 0 {
			h.deny(c, http.StatusNotFound, "There is no such category.")
		}
		return
	}
	var k kbForm
	if !h.restGet(c, kbAPI(cat.KBID), &k) {
		return
	}
	h.render(c, http.StatusOK, "settings_kb_category.html", kbPageData{settingsPage: h.settingsPageFor(c, "knowledge-bases", cat.Name), KB: k, Category: cat})
}

func (h *Handler) saveCategoryForm(c *gin.Context) {
	path, id := categoryAPI(c)
	var cur categoryForm
	if id == 0 || !h.restGet(c, path, &cur) {
		if id == 0 {
			h.deny(c, http.StatusNotFound, "There is no such category.")
		}
		return
	}
	cat, body := categoryFromForm(c)
	r := h.rest(c, http.MethodPatch, path, body, 0)
	if r.OK() {
		doneRedirect(c, "/inbox/settings/knowledge-bases/"+strconv.FormatInt(cur.KBID, 10), "saved")
		return
	}
	var k kbForm
	if !h.restGet(c, kbAPI(cur.KBID), &k) {
		return
	}
	cat.ID, cat.KBID = id, cur.KBID
	d := kbPageData{settingsPage: h.settingsBase(c, "knowledge-bases", cur.Name), KB: k, Category: cat}
	var errs formErrors
	status := formProblem(r, &errs, nil)
	placeErrors(errs, categoryFields...)
	for f, m := range errs {
		d.Errors["category."+f] = m
	}
	h.render(c, status, "settings_kb_category.html", d)
}

func (h *Handler) confirmDeleteCategory(c *gin.Context) {
	path, id := categoryAPI(c)
	var cat categoryForm
	if id == 0 || !h.restGet(c, path, &cat) {
		if id == 0 {
			h.deny(c, http.StatusNotFound, "There is no such category.")
		}
		return
	}
	p := "/inbox/settings/kb-categories/" + strconv.FormatInt(id, 10)
	h.confirm(c, "knowledge-bases", confirmData{What: "the category " + strconv.Quote(cat.Name),
		Action: p + "/delete", Back: "/inbox/settings/knowledge-bases/" + strconv.FormatInt(cat.KBID, 10),
		Button: "Delete category", Detail: "Its articles stay, without a category."})
}

func (h *Handler) deleteCategoryForm(c *gin.Context) {
	path, id := categoryAPI(c)
	var cat categoryForm
	if id == 0 || !h.restGet(c, path, &cat) {
		if id == 0 {
			h.deny(c, http.StatusNotFound, "There is no such category.")
		}
		return
	}
	h.restDelete(c, path, "/inbox/settings/knowledge-bases/"+strconv.FormatInt(cat.KBID, 10), "deleted")
}

// ---- articles ----

// articleFromForm reads the article form: the typed values and the REST body.
func articleFromForm(c *gin.Context) (articleForm, map[string]any) {
	a := articleForm{Title: c.PostForm("title"), Body: c.PostForm("body"), Language: c.PostForm("language"),
		Published: c.PostForm("published") != ""}
	a.Version, _ = strconv.ParseInt(c.PostForm("version"), 10, 64)
	body := map[string]any{"title": a.Title, "body": a.Body, "language": a.Language, "published": a.Published, "category_id": nil}
	if v := c.PostForm("category_id"); v != "" {
		body["category_id"] = formNumber(v)
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			a.CategoryID = &n
		}
	}
	return a, body
}

// preview renders the typed Markdown as the Help tab would show it.
func articlePreview(a articleForm) template.HTML {
	r, err := kb.Render(a.Title, a.Body)
	if err != nil {
		return ""
	}
	return template.HTML(r.HTML) // sanitised by kb.Render
}

func (h *Handler) renderArticle(c *gin.Context, status int, k kbForm, d kbPageData) {
	if !h.kbCategories(c, k.ID, &d) {
		return
	}
	d.KB, d.Languages = k, kb.Languages()
	h.render(c, status, "settings_kb_article.html", d)
}

func (h *Handler) newArticlePage(c *gin.Context) {
	id := pathInt64(c, "id")
	var k kbForm
	if id == 0 || !h.restGet(c, kbAPI(id), &k) {
		if id == 0 {
			h.deny(c, http.StatusNotFound, "There is no such knowledge base.")
		}
		return
	}
	a := articleForm{KBID: id, Language: k.Language}
	if cat, err := strconv.ParseInt(c.Query("category"), 10, 64); err == nil && cat > 0 {
		a.CategoryID = &cat
	}
	h.renderArticle(c, http.StatusOK, k, kbPageData{settingsPage: h.settingsBase(c, "knowledge-bases", "New article"), Article: a})
}

func (h *Handler) createArticleForm(c *gin.Context) {
	id := pathInt64(c, "id")
	var k kbForm
	if id == 0 || !h.restGet(c, kbAPI(id), &k) {
		if id == 0 {
			h.deny(c, http.StatusNotFound, "There is no such knowledge base.")
		}
		return
	}
	a, body := articleFromForm(c)
	a.KBID = id
	d := kbPageData{settingsPage: h.settingsBase(c, "knowledge-bases", "New article"), Article: a, Preview: articlePreview(a)}
	if c.PostForm("action") == "preview" {
		h.renderArticle(c, http.StatusOK, k, d)
		return
	}
	r := h.rest(c, http.MethodPost, kbAPI(id)+"/articles", body, 0)
	if r.OK() {
		var made articleForm
		if err := r.Decode(&made); err != nil {
			h.fail(c, "create article", err)
			return
		}
		doneRedirect(c, "/inbox/settings/kb-articles/"+strconv.FormatInt(made.ID, 10), "created")
		return
	}
	status := formProblem(r, &d.Errors, nil)
	placeErrors(d.Errors, articleFields...)
	h.renderArticle(c, status, k, d)
}

func articleAPI(c *gin.Context) (string, int64) {
	id := pathInt64(c, "id")
	return "/api/v1/kb-articles/" + strconv.FormatInt(id, 10), id
}

// loadArticle reads the :id article and its knowledge base.
func (h *Handler) loadArticle(c *gin.Context) (string, articleForm, kbForm, bool) {
	path, id := articleAPI(c)
	var a articleForm
	var k kbForm
	if id == 0 {
		h.deny(c, http.StatusNotFound, "There is no such article.")
		return "", a, k, false
	}
	if !h.restGet(c, path, &a) || !h.restGet(c, kbAPI(a.KBID), &k) {
		return "", a, k, false
	}
	return path, a, k, true
}

func (h *Handler) articlePage(c *gin.Context) {
	_, a, k, ok := h.loadArticle(c)
	if !ok {
		return
	}
	h.renderArticle(c, http.StatusOK, k, kbPageData{settingsPage: h.settingsPageFor(c, "knowledge-bases", a.Title),
		Article: a, Preview: template.HTML(a.BodyHTML)}) // sanitised when stored
}

func (h *Handler) saveArticleForm(c *gin.Context) {
	path, cur, k, ok := h.loadArticle(c)
	if !ok {
		return
	}
	a, body := articleFromForm(c)
	a.ID, a.KBID = cur.ID, cur.KBID
	d := kbPageData{settingsPage: h.settingsBase(c, "knowledge-bases", cur.Title), Article: a, Preview: articlePreview(a)}
	if c.PostForm("action") == "preview" {
		h.renderArticle(c, http.StatusOK, k, d)
		return
	}
	r := h.rest(c, http.MethodPatch, path, body, a.Version)
	if r.OK() {
		doneRedirect(c, "/inbox/settings/kb-articles/"+strconv.FormatInt(a.ID, 10), "saved")
		return
	}
	status := formProblem(r, &d.Errors, &d.Conflict)
	if d.Conflict { // a second Save, after checking, overwrites the newer version
		d.Article.Version = cur.Version
	}
	placeErrors(d.Errors, articleFields...)
	h.renderArticle(c, status, k, d)
}

// publishArticleForm is the list's publish switch: only published changes,
// refused if the article changed since the list was shown.
func (h *Handler) publishArticleForm(c *gin.Context) {
	path, cur, _, ok := h.loadArticle(c)
	if !ok {
		return
	}
	version, _ := strconv.ParseInt(c.PostForm("version"), 10, 64)
	publish := c.PostForm("published") == "true"
	r := h.rest(c, http.MethodPatch, path, map[string]any{"published": publish}, version)
	back := "/inbox/settings/knowledge-bases/" + strconv.FormatInt(cur.KBID, 10)
	if ret := c.PostForm("return"); ret != "" {
		if u, err := url.Parse(ret); err == nil && u.Host == "" && u.Scheme == "" && strings.HasPrefix(u.Path, back) {
			back = u.RequestURI()
		}
	}
	switch {
	case r.OK() && publish:
		doneRedirect(c, back, "published")
	case r.OK():
		doneRedirect(c, back, "unpublished")
	case r.Status == http.StatusPreconditionFailed:
		h.deny(c, http.StatusConflict, "Someone changed this article meanwhile; nothing was changed. Go back, reload and try again.")
	default:
		h.restDeny(c, r)
	}
}

func (h *Handler) confirmDeleteArticle(c *gin.Context) {
	_, a, _, ok := h.loadArticle(c)
	if !ok {
		return
	}
	p := "/inbox/settings/kb-articles/" + strconv.FormatInt(a.ID, 10)
	h.confirm(c, "knowledge-bases", confirmData{What: "the article " + strconv.Quote(a.Title),
		Action: p + "/delete", Back: p, Button: "Delete article"})
}

func (h *Handler) deleteArticleForm(c *gin.Context) {
	path, a, _, ok := h.loadArticle(c)
	if !ok {
		return
	}
	h.restDelete(c, path, "/inbox/settings/knowledge-bases/"+strconv.FormatInt(a.KBID, 10), "deleted")
}

package inbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/parleychat/parley/backend/internal/api"
	"github.com/parleychat/parley/backend/internal/inbox"
	"github.com/parleychat/parley/backend/internal/store"
)

// restDo calls REST as an admin key would and fails the test on an error answer.
func (e *env) restDo(method, path string, body any) *api.Result {
	e.t.Helper()
	raw, _ := json.Marshal(body)
	r := api.New(e.st, "").Local().Do(context.Background(), e.account, store.RoleAdmin, method, path, raw, nil)
	if !r.OK() {
		e.t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
	}
	return r
}

// createdID reads the id from a redirect to prefix<id>.
func createdID(t *testing.T, p page, prefix string) int64 {
	t.Helper()
	wantRedirect(t, p, prefix)
	var id int64
	fmt.Sscanf(strings.TrimPrefix(location(p), prefix), "%d", &id)
	if id == 0 {
		t.Fatalf("no id in %s", location(p))
	}
	return id
}

func TestConsoleKnowledgeBase(t *testing.T) {
	e := setup(t, inbox.Config{})
	ed := e.withRole(e.bob, store.RoleEditor) // editors write what visitors see
	p := ed.post("/inbox/settings/knowledge-bases", url.Values{"name": {" "}, "language": {"en"}})
	if p.status != http.StatusUnprocessableEntity || fieldErr(p.body, "name") == "" {
		t.Fatalf("empty name: %d %q", p.status, fieldErr(p.body, "name"))
	}
	kbID := createdID(t, ed.post("/inbox/settings/knowledge-bases", url.Values{"name": {"Help centre"}, "language": {"en"}}), "/inbox/settings/knowledge-bases/")
	kbPath := fmt.Sprintf("/inbox/settings/knowledge-bases/%d", kbID)

	// Categories.
	p = ed.post(kbPath+"/categories", url.Values{"name": {""}})
	if p.status != http.StatusUnprocessableEntity || fieldErr(p.body, "category.name") == "" || fieldErr(p.body, "name") != "" {
		t.Fatalf("empty category name: %d %q", p.status, fieldErr(p.body, "category.name"))
	}
	wantRedirect(t, ed.post(kbPath+"/categories", url.Values{"name": {"Billing"}, "description": {"Invoices and plans"}}), kbPath)
	var cats struct {
		Categories []store.KBCategory `json:"categories"`
	}
	e.restGet(fmt.Sprintf("/api/v1/knowledge-bases/%d/categories", kbID), &cats)
	if len(cats.Categories) != 1 || cats.Categories[0].Name != "Billing" {
		t.Fatalf("REST categories %+v", cats.Categories)
	}
	catID := cats.Categories[0].ID
	catPath := fmt.Sprintf("/inbox/settings/kb-categories/%d", catID)
	wantRedirect(t, ed.post(catPath, url.Values{"name": {"Billing & plans"}, "description": {"x"}, "position": {"2"}}), kbPath)
	if p = ed.post(catPath, url.Values{"name": {"Billing"}, "position": {"first"}}); fieldErr(p.body, "category.position") == "" {
		t.Errorf("position 'first': %d %.1500s", p.status, p.body)
	}

	// An article: the preview renders the typed Markdown and stores nothing.
	form := url.Values{"title": {"Change your plan"}, "body": {"# Plans\n\nGo to **Billing** then <script>alert(1)</script>"},
		"language": {"en"}, "category_id": {fmt.Sprint(catID)}, "action": {"preview"}}
	p = ed.post(kbPath+"/articles", form)
	if p.status != 200 || !strings.Contains(p.body, "<strong>Billing</strong>") || strings.Contains(p.body, "<script>alert") {
		t.Fatalf("preview: %d %.3000s", p.status, p.body)
	}
	var arts struct {
		Articles []struct {
			ID        int64
			Title     string
			Published bool
			Version   int64
		}
		Next string `json:"next_cursor"`
	}
	e.restGet(fmt.Sprintf("/api/v1/knowledge-bases/%d/articles", kbID), &arts)
	if len(arts.Articles) != 0 {
		t.Fatal("the preview stored the article")
	}
	form.Set("action", "save")
	form.Set("title", "")
	if p = ed.post(kbPath+"/articles", form); p.status != http.StatusUnprocessableEntity || fieldErr(p.body, "title") == "" ||
		!strings.Contains(p.body, "Go to **Billing**") {
		t.Fatalf("no title: %d %q", p.status, fieldErr(p.body, "title"))
	}
	form.Set("title", "Change your plan")
	artID := createdID(t, ed.post(kbPath+"/articles", form), "/inbox/settings/kb-articles/")
	artPath := fmt.Sprintf("/inbox/settings/kb-articles/%d", artID)
	if p = ed.get(artPath); !strings.Contains(p.body, `id="article-preview"`) || !strings.Contains(p.body, "<strong>Billing</strong>") {
		t.Errorf("article page shows no rendering")
	}
	var art struct {
		Title, Body string
		CategoryID  *int64 `json:"category_id"`
		Published   bool
		Version     int64
	}
	e.restGet(fmt.Sprintf("/api/v1/kb-articles/%d", artID), &art)
	if art.Title != "Change your plan" || art.CategoryID == nil || *art.CategoryID != catID || art.Published {
		t.Fatalf("REST shows %+v", art)
	}

	// Publish from the list.
	wantRedirect(t, ed.post(artPath+"/publish", url.Values{"published": {"true"}, "version": {fmt.Sprint(art.Version)}}), kbPath)
	e.restGet(fmt.Sprintf("/api/v1/kb-articles/%d", artID), &art)
	if !art.Published {
		t.Fatal("not published")
	}

	// A stale edit is refused and keeps what was typed.
	stale := art.Version
	e.restDo(http.MethodPatch, fmt.Sprintf("/api/v1/kb-articles/%d", artID), map[string]any{"title": "Changing plans"})
	p = ed.post(artPath, url.Values{"title": {"My title"}, "body": {"My typed body"}, "language": {"en"}, "published": {"1"},
		"version": {fmt.Sprint(stale)}, "action": {"save"}})
	if p.status != http.StatusConflict || !strings.Contains(p.body, "Someone saved this meanwhile") ||
		!strings.Contains(p.body, "My typed body") || !strings.Contains(p.body, `value="My title"`) {
		t.Fatalf("stale edit: %d %.3000s", p.status, p.body)
	}
	e.restGet(fmt.Sprintf("/api/v1/kb-articles/%d", artID), &art)
	if art.Title != "Changing plans" {
		t.Errorf("the stale edit was saved: %q", art.Title)
	}
	// Saving again from the refused form (it now carries the new version) goes through.
	ver := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(p.body)
	p = ed.post(artPath, url.Values{"title": {"My title"}, "body": {"My typed body"}, "language": {"en"}, "version": {ver[1]},
		"category_id": {fmt.Sprint(catID)}, "action": {"save"}})
	wantRedirect(t, p, artPath)
	e.restGet(fmt.Sprintf("/api/v1/kb-articles/%d", artID), &art)
	if art.Title != "My title" || art.Published {
		t.Errorf("REST shows %+v", art)
	}

	// Many articles: the page lists one page at a time.
	for i := 0; i < 60; i++ {
		e.restDo(http.MethodPost, fmt.Sprintf("/api/v1/knowledge-bases/%d/articles", kbID), map[string]any{"title": fmt.Sprintf("Article %03d", i), "body": "x"})
	}
	p = ed.get(kbPath)
	if n := strings.Count(p.body, `data-article="`); n != 50 {
		t.Errorf("first page lists %d articles, want 50", n)
	}
	m := regexp.MustCompile(`href="(/inbox/settings/knowledge-bases/\d+\?cursor=[^"]+)" rel="next"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatal("no next page link")
	}
	p2 := ed.get(strings.ReplaceAll(m[1], "&amp;", "&"))
	if n := strings.Count(p2.body, `data-article="`); n != 11 || strings.Contains(p2.body, `rel="next"`) || !strings.Contains(p2.body, "Article 000") {
		t.Errorf("second page lists %d articles", n)
	}
	// Search finds one among many, drafts too; a bad query shows beside the box.
	p = ed.get(kbPath + "?q=" + url.QueryEscape("typed body"))
	if n := strings.Count(p.body, `data-article="`); n != 1 || !strings.Contains(p.body, "<mark>") {
		t.Errorf("search lists %d: %.3000s", n, p.body)
	}
	if p = ed.get(kbPath + "?q=" + strings.Repeat("x", 300)); fieldErr(p.body, "search.q") == "" {
		t.Errorf("long query: %d %q", p.status, fieldErr(p.body, "search.q"))
	}
	// The category filter.
	if p = ed.get(kbPath + fmt.Sprintf("?category=%d", catID)); strings.Count(p.body, `data-article="`) != 1 {
		t.Errorf("category filter lists %d", strings.Count(p.body, `data-article="`))
	}

	// Deletes, each after a confirmation page.
	for _, del := range []string{artPath, catPath, kbPath} {
		if p = ed.get(del + "/delete"); p.status != 200 || !strings.Contains(p.body, `id="confirm-delete"`) {
			t.Fatalf("confirm %s: %d", del, p.status)
		}
		if p = ed.post(del+"/delete", nil); p.status != http.StatusSeeOther {
			t.Fatalf("delete %s: %d %s", del, p.status, p.body)
		}
	}
	if st := e.restGet(fmt.Sprintf("/api/v1/knowledge-bases/%d", kbID), nil); st != http.StatusNotFound {
		t.Errorf("deleted KB: REST %d", st)
	}
}

func TestConsoleSurveys(t *testing.T) {
	e := setup(t, inbox.Config{})
	ed := e.withRole(e.bob, store.RoleEditor)
	p := ed.post("/inbox/settings/surveys", url.Values{"name": {"After chat"}, "question": {""}, "delivery": {"chat"}, "scale": {"stars"}})
	if p.status != http.StatusUnprocessableEntity || fieldErr(p.body, "question") == "" || fieldErr(p.body, "scale") == "" {
		t.Fatalf("bad survey: %d q=%q scale=%q", p.status, fieldErr(p.body, "question"), fieldErr(p.body, "scale"))
	}
	if !strings.Contains(p.body, `value="After chat"`) {
		t.Error("typed name lost")
	}
	id := createdID(t, ed.post("/inbox/settings/surveys", url.Values{"name": {"After chat"}, "question": {"How did we do?"},
		"delivery": {"chat"}, "scale": {"emoji"}, "allow_comment": {"1"}}), "/inbox/settings/surveys/")
	path := fmt.Sprintf("/inbox/settings/surveys/%d", id)
	var sv store.Survey
	e.restGet(fmt.Sprintf("/api/v1/surveys/%d", id), &sv)
	if sv.Question != "How did we do?" || sv.Scale != "emoji" || !sv.AllowComment {
		t.Fatalf("REST shows %+v", sv)
	}
	// Its responses show on its page.
	conv, _ := e.conversation(e.inboxA, "Vera")
	if _, err := e.db.Exec(`INSERT INTO survey_responses (survey_id, conversation_id, score, comment) VALUES ($1, $2, 5, 'Lovely')`, id, conv); err != nil {
		t.Fatal(err)
	}
	if p = ed.get(path); !strings.Contains(p.body, `id="survey-count">1<`) || !strings.Contains(p.body, "Lovely") {
		t.Errorf("responses not shown: %.3000s", p.body)
	}
	wantRedirect(t, ed.post(path, url.Values{"name": {"After chat"}, "question": {"Rate us"}, "delivery": {"chat"}, "scale": {"numeric"}}), path)
	e.restGet(fmt.Sprintf("/api/v1/surveys/%d", id), &sv)
	if sv.Question != "Rate us" || sv.Scale != "numeric" || sv.AllowComment {
		t.Errorf("after edit REST shows %+v", sv)
	}
	wantRedirect(t, ed.post(path+"/delete", nil), "/inbox/settings/surveys")
	if st := e.restGet(fmt.Sprintf("/api/v1/surveys/%d", id), nil); st != http.StatusNotFound {
		t.Errorf("deleted survey: REST %d", st)
	}
}

func TestConsoleSubscriptionTypes(t *testing.T) {
	e := setup(t, inbox.Config{})
	ed := e.withRole(e.bob, store.RoleEditor)
	p := ed.post("/inbox/settings/subscription-types", url.Values{"name": {""}, "description": {"Monthly"}})
	if p.status != http.StatusUnprocessableEntity || fieldErr(p.body, "name") == "" || !strings.Contains(p.body, "Monthly") {
		t.Fatalf("empty name: %d %q", p.status, fieldErr(p.body, "name"))
	}
	wantRedirect(t, ed.post("/inbox/settings/subscription-types", url.Values{"name": {"Newsletter"}, "description": {"Monthly"}}), "/inbox/settings/subscription-types")
	m := idLink("subscription-types").FindStringSubmatch(ed.get("/inbox/settings/subscription-types").body)
	if m == nil {
		t.Fatal("not listed")
	}
	path := "/inbox/settings/subscription-types/" + m[1]
	wantRedirect(t, ed.post(path, url.Values{"name": {"Product news"}, "description": {""}}), "/inbox/settings/subscription-types")
	var st store.SubscriptionType
	e.restGet("/api/v1/subscription-types/"+m[1], &st)
	if st.Name != "Product news" || st.Description != "" {
		t.Errorf("REST shows %+v", st)
	}
	wantRedirect(t, ed.post(path+"/delete", nil), "/inbox/settings/subscription-types")
	if s := e.restGet("/api/v1/subscription-types/"+m[1], nil); s != http.StatusNotFound {
		t.Errorf("deleted: REST %d", s)
	}
}

// botForm reads the editor's form fields back, as a browser would submit them.
func botForm(body string) url.Values {
	v := url.Values{}
	for _, m := range regexp.MustCompile(`<input (?:type="hidden" )?(?:id="[^"]*" )?name="([^"]+)" value="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		v.Set(htmlUnescape(m[1]), htmlUnescape(m[2]))
	}
	for _, m := range regexp.MustCompile(`(?s)<textarea id="[^"]*" name="([^"]+)"[^>]*>(.*?)</textarea>`).FindAllStringSubmatch(body, -1) {
		v.Set(htmlUnescape(m[1]), htmlUnescape(m[2]))
	}
	for _, m := range regexp.MustCompile(`(?s)<select id="[^"]*" name="([^"]+)"[^>]*>(.*?)</select>`).FindAllStringSubmatch(body, -1) {
		if s := regexp.MustCompile(`<option value="([^"]*)" selected>`).FindStringSubmatch(m[2]); s != nil {
			v.Set(htmlUnescape(m[1]), htmlUnescape(s[1]))
		} else if s := regexp.MustCompile(`<option value="([^"]*)"`).FindStringSubmatch(m[2]); s != nil {
			v.Set(htmlUnescape(m[1]), htmlUnescape(s[1]))
		}
	}
	v.Del("csrf_token")
	return v
}

func htmlUnescape(s string) string {
	r := strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&quot;", `"`, "&#43;", "+")
	return r.Replace(s)
}

func TestConsoleBots(t *testing.T) {
	e := setup(t, inbox.Config{})
	ed := e.withRole(e.bob, store.RoleEditor)
	p := ed.get("/inbox/settings/bots")
	if p.status != 200 || !strings.Contains(p.body, `id="tpl-lead_qualification"`) {
		t.Fatalf("bots page offers no templates: %d", p.status)
	}
	// A template opens in the editor; nothing is stored yet.
	p = ed.get("/inbox/settings/bots/new?template=lead_qualification&name=Leads")
	if p.status != 200 || !strings.Contains(p.body, `name="steps[4].cases"`) || !strings.Contains(p.body, `value="Leads"`) {
		t.Fatalf("template editor: %d %.2000s", p.status, p.body)
	}
	form := botForm(p.body)
	if form.Get("steps[4].cases") != "greater_than | 50 | sales" {
		t.Fatalf("cases read back as %q", form.Get("steps[4].cases"))
	}
	// A bad "go to" is REST's error, beside its field.
	form.Set("steps[0].next", "nowhere")
	form.Set("action", "save")
	p = ed.post("/inbox/settings/bots", form)
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(fieldErr(p.body, "steps[0].next"), "names no step") {
		t.Fatalf("bad next: %d %q %.3000s", p.status, fieldErr(p.body, "steps[0].next"), p.body)
	}
	// A bad quick reply shows beside the quick replies.
	form = botForm(p.body)
	form.Set("steps[0].next", "name")
	form.Set("steps[5].options", "This month | now\n | quarter")
	form.Set("action", "save")
	p = ed.post("/inbox/settings/bots", form)
	if !strings.Contains(fieldErr(p.body, "steps[5].options"), "label") {
		t.Fatalf("bad option: %d %q", p.status, fieldErr(p.body, "steps[5].options"))
	}
	form.Set("steps[5].options", "This month | now\nThis quarter | quarter\nJust looking | later")
	id := createdID(t, ed.post("/inbox/settings/bots", form), "/inbox/settings/bots/")
	var doc struct {
		Name    string
		Start   string
		Version int64
		Steps   []struct {
			ID, Type, Next, Text string
			Options              []struct{ Label, Value string }
			Properties           map[string]string
		}
	}
	e.restGet(fmt.Sprintf("/api/v1/bots/%d", id), &doc)
	if doc.Name != "Leads" || doc.Start != "welcome" || len(doc.Steps) != 10 || len(doc.Steps[5].Options) != 3 ||
		doc.Steps[7].Properties["pipeline"] != "sales" {
		t.Fatalf("REST shows %+v", doc)
	}

	// Edit: add an end step (the form redraws, nothing saved), point the goodbye at nothing else, save.
	path := fmt.Sprintf("/inbox/settings/bots/%d", id)
	form = botForm(ed.get(path).body)
	form.Set("action", "add")
	form.Set("new_type", "message")
	p = ed.post(path, form)
	if p.status != 200 || !strings.Contains(p.body, `name="steps[10].id" value="step_11"`) {
		t.Fatalf("add step: %d", p.status)
	}
	form = botForm(p.body)
	form.Set("steps[10].text", "One more thing")
	form.Set("steps[10].next", "name")
	form.Set("steps[0].next", "step_11")
	form.Set("action", "save")
	p = ed.post(path, form)
	wantRedirect(t, p, path)
	e.restGet(fmt.Sprintf("/api/v1/bots/%d", id), &doc)
	if len(doc.Steps) != 11 || doc.Steps[0].Next != "step_11" || doc.Steps[10].Text != "One more thing" {
		t.Fatalf("after edit REST shows %+v", doc)
	}

	// A stale save is refused, typed values kept.
	stale := botForm(ed.get(path).body)
	e.restDo(http.MethodPut, fmt.Sprintf("/api/v1/bots/%d", id), map[string]any{"name": "Leads v2", "start": "end", "steps": []any{map[string]any{"id": "end", "type": "end"}}})
	stale.Set("name", "My typed name")
	stale.Set("action", "save")
	p = ed.post(path, stale)
	if p.status != http.StatusConflict || !strings.Contains(p.body, "Someone saved this meanwhile") || !strings.Contains(p.body, `value="My typed name"`) {
		t.Fatalf("stale: %d %.2000s", p.status, p.body)
	}
	e.restGet(fmt.Sprintf("/api/v1/bots/%d", id), &doc)
	if doc.Name != "Leads v2" {
		t.Errorf("stale save stored: %q", doc.Name)
	}

	wantRedirect(t, ed.post(path+"/delete", nil), "/inbox/settings/bots")
	if st := e.restGet(fmt.Sprintf("/api/v1/bots/%d", id), nil); st != http.StatusNotFound {
		t.Errorf("deleted bot: REST %d", st)
	}
}

package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// internalGet calls an /internal endpoint as the edge does.
func (e *env) internalGet(path string) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.secret)
	res, err := http.DefaultClient.Do(req)
	must(e.t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out map[string]any
	json.Unmarshal(b, &out)
	return res.StatusCode, out
}

// linkKB publishes a chatflow with knowledge base kbID on its Help tab:
// only then may visitors read it. It returns the chatflow's id.
func (e *env) linkKB(kbID int64) int64 {
	e.t.Helper()
	return e.create("/api/v1/chatflows", `{"name":"Help `+itoa(kbID)+`","enabled":true,"inbox_id":`+itoa(e.inbox)+`,
		"options":{"knowledge_base_id":`+itoa(kbID)+`,"help_tab":true}}`)
}

func TestKnowledgeBaseArticlesAndPublicReads(t *testing.T) {
	e := setup(t)
	kbID := e.create("/api/v1/knowledge-bases", `{"name":"Help centre","language":"nl"}`)
	e.linkKB(kbID)
	kbPath := "/api/v1/knowledge-bases/" + itoa(kbID)
	billing := e.create(kbPath+"/categories", `{"name":"Betalen","description":"Alles over <betalen>","position":1}`)

	// An article defaults to the knowledge base's language; its Markdown is
	// rendered to HTML with script and handlers gone.
	code, art := e.do("POST", kbPath+"/articles", `{"title":"Je betaling wijzigen","category_id":`+itoa(billing)+`,"published":true,
		"body":"## Kaart\n\nKies een andere **betaling**.<script>alert(1)</script>\n\n<img src=x onerror=alert(2)> [x](javascript:alert(3))"}`)
	if code != 201 {
		t.Fatalf("create article: %d %v", code, art)
	}
	html := art["body_html"].(string)
	if art["language"] != "nl" || !strings.Contains(html, "<strong>betaling</strong>") ||
		strings.Contains(html, "<script") || strings.Contains(html, "onerror") || strings.Contains(html, "javascript:") {
		t.Fatalf("article: %v", art)
	}
	artID := int64(art["id"].(float64))
	draft := e.create(kbPath+"/articles", `{"title":"Concept over betalingen","body":"Nog niet klaar: betalingen.","published":false}`)
	e.create(kbPath+"/articles", `{"title":"Pay by card","body":"Payments by card.","language":"en","published":true}`)

	// Bad input: each field named, nothing stored.
	for body, field := range map[string]string{
		`{"title":"","body":"x"}`:                      "title",
		`{"title":"T","language":"xx"}`:                "language",
		`{"title":"T","category_id":999999}`:           "category_id",
		`{"title":"T","colour":"red"}`:                 "colour",
		`{"title":"T","published":"yes"}`:              "published",
		`{"title":"` + strings.Repeat("t", 201) + `"}`: "title",
	} {
		code, p := e.do("POST", kbPath+"/articles", body)
		if code != 400 || !slices.Contains(fields(p), field) {
			t.Errorf("POST %s: %d %v, want 400 on %s", body, code, p, field)
		}
	}
	if code, p := e.do("POST", "/api/v1/knowledge-bases", `{"name":"X","language":"klingon"}`); code != 400 || !slices.Contains(fields(p), "language") {
		t.Errorf("knowledge base in an unknown language: %d %v", code, p)
	}
	// A category of another knowledge base is refused.
	other := e.create("/api/v1/knowledge-bases", `{"name":"Other"}`)
	otherCat := e.create("/api/v1/knowledge-bases/"+itoa(other)+"/categories", `{"name":"Elsewhere"}`)
	if code, p := e.do("PATCH", "/api/v1/kb-articles/"+itoa(artID), `{"category_id":`+itoa(otherCat)+`}`); code != 400 || !slices.Contains(fields(p), "category_id") {
		t.Errorf("category of another knowledge base: %d %v", code, p)
	}
	// Another account sees none of it.
	if code, _ := e.doKey(e.other, "GET", "/api/v1/kb-articles/"+itoa(artID), ""); code != 404 {
		t.Errorf("other account read the article: %d", code)
	}
	if code, _ := e.doKey(e.other, "POST", kbPath+"/articles", `{"title":"Mine now"}`); code != 404 {
		t.Errorf("other account wrote into the knowledge base: %d", code)
	}

	// Optimistic concurrency on articles.
	req, _ := http.NewRequest("PATCH", e.srv.URL+"/api/v1/kb-articles/"+itoa(artID), strings.NewReader(`{"title":"Nieuw"}`))
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("If-Match", `"99"`)
	res, err := http.DefaultClient.Do(req)
	must(t, err)
	res.Body.Close()
	if res.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("stale If-Match: %d", res.StatusCode)
	}

	// The admin list pages and filters.
	_, list := e.do("GET", kbPath+"/articles?limit=1&published=true", "")
	if n := len(list["articles"].([]any)); n != 1 || list["next_cursor"] == nil {
		t.Fatalf("first page: %v", list)
	}
	_, list = e.do("GET", kbPath+"/articles?published=true&cursor="+list["next_cursor"].(string), "")
	if n := len(list["articles"].([]any)); n != 1 || list["next_cursor"] != nil {
		t.Fatalf("second page: %v", list)
	}
	// Admin search sees drafts; stemming finds "betaling" from "betalingen".
	_, found := e.do("GET", kbPath+"/search?q=betalingen", "")
	if res := found["results"].([]any); len(res) != 2 || found["language"] != "nl" {
		t.Fatalf("admin search: %v", found)
	}

	// Public reads through /internal: published only, snippets highlighted.
	site := "/internal/sites/acme/kb/" + itoa(kbID)
	code, cats := e.internalGet(site + "/categories")
	if code != 200 {
		t.Fatalf("public categories: %d %v", code, cats)
	}
	cs := cats["categories"].([]any)
	first := cs[0].(map[string]any)
	if len(cs) != 1 || first["description"] != "Alles over <betalen>" || len(first["articles"].([]any)) != 1 || len(cats["uncategorised"].([]any)) != 0 {
		t.Fatalf("public categories: %v", cats)
	}
	if code, a := e.internalGet(site + "/articles/" + itoa(artID)); code != 200 || a["html"] != html {
		t.Errorf("public article: %d %v", code, a)
	}
	if code, _ := e.internalGet(site + "/articles/" + itoa(draft)); code != 404 {
		t.Errorf("public read of a draft: %d", code)
	}
	code, s := e.internalGet(site + "/search?q=betalingen")
	if code != 200 {
		t.Fatalf("public search: %d %v", code, s)
	}
	hits := s["results"].([]any)
	if len(hits) != 1 || !strings.Contains(hits[0].(map[string]any)["snippet"].(string), "<mark>betaling</mark>") {
		t.Fatalf("public search: %v", s)
	}
	if code, s := e.internalGet(site + "/search?q=card&language=en"); code != 200 || len(s["results"].([]any)) != 1 {
		t.Errorf("English public search: %d %v", code, s)
	}
	if code, _ := e.internalGet("/internal/sites/acme/kb/" + itoa(kbID+1000) + "/categories"); code != 404 {
		t.Errorf("unknown knowledge base: %d", code)
	}
	if code, _ := e.internalGet(site + "/search?q=x&sort=new"); code != 400 {
		t.Errorf("unknown search parameter: %d", code)
	}
	// Deleting a category keeps its articles, uncategorised.
	if code, _ := e.do("DELETE", "/api/v1/kb-categories/"+itoa(billing), ""); code != 204 {
		t.Fatalf("delete category: %d", code)
	}
	_, cats = e.internalGet(site + "/categories")
	if len(cats["uncategorised"].([]any)) != 1 {
		t.Errorf("article lost with its category: %v", cats)
	}
}

// The Help tab's front page lists at most 25 titles a category, the first
// alphabetically, and says how many there are: search finds the rest.
func TestPublicCategoriesStaySmall(t *testing.T) {
	e := setup(t)
	kbID := e.create("/api/v1/knowledge-bases", `{"name":"Help","language":"en"}`)
	e.linkKB(kbID)
	kbPath := "/api/v1/knowledge-bases/" + itoa(kbID)
	cat := e.create(kbPath+"/categories", `{"name":"Orders"}`)
	for i := range 30 {
		e.create(kbPath+"/articles", fmt.Sprintf(`{"title":"Order question %02d","body":"b","published":true,"category_id":%d}`, 29-i, cat))
	}
	for i := range 27 {
		e.create(kbPath+"/articles", fmt.Sprintf(`{"title":"Loose %02d","body":"b","published":true}`, i))
	}
	e.create(kbPath+"/articles", `{"title":"AAA draft","body":"b","published":false,"category_id":`+itoa(cat)+`}`)
	code, out := e.internalGet("/internal/sites/acme/kb/" + itoa(kbID) + "/categories")
	if code != 200 {
		t.Fatalf("categories: %d %v", code, out)
	}
	c := out["categories"].([]any)[0].(map[string]any)
	arts := c["articles"].([]any)
	if len(arts) != 25 || c["article_count"] != float64(30) {
		t.Fatalf("category lists %d titles, count %v; want 25 of 30", len(arts), c["article_count"])
	}
	if arts[0].(map[string]any)["title"] != "Order question 00" || arts[24].(map[string]any)["title"] != "Order question 24" {
		t.Fatalf("not the first titles alphabetically: %v … %v", arts[0], arts[24])
	}
	if n := len(out["uncategorised"].([]any)); n != 25 || out["uncategorised_count"] != float64(27) {
		t.Fatalf("uncategorised: %d titles, count %v", n, out["uncategorised_count"])
	}
}

// Visitors read only knowledge bases a published chatflow of the site
// links: a published article of any other is not public, whatever its id.
func TestPublicReadsNeedAPublishedChatflow(t *testing.T) {
	e := setup(t)
	kbID := e.create("/api/v1/knowledge-bases", `{"name":"Internal","language":"en"}`)
	art := e.create("/api/v1/knowledge-bases/"+itoa(kbID)+"/articles", `{"title":"Staff discounts","body":"Secret codes.","published":true}`)
	site := "/internal/sites/acme/kb/" + itoa(kbID)
	paths := []string{site + "/categories", site + "/articles/" + itoa(art), site + "/search?q=discounts"}
	expect := func(want int, when string) {
		t.Helper()
		for _, p := range paths {
			if code, out := e.internalGet(p); code != want {
				t.Errorf("%s: GET %s = %d %v, want %d", when, p, code, out, want)
			}
		}
	}
	expect(404, "linked by no chatflow")

	cf := e.create("/api/v1/chatflows", `{"name":"Draft","enabled":false,"inbox_id":`+itoa(e.inbox)+`,
		"options":{"knowledge_base_id":`+itoa(kbID)+`,"help_tab":true}}`)
	expect(404, "linked by an unpublished chatflow")

	if code, out := e.do("PATCH", "/api/v1/chatflows/"+itoa(cf), `{"enabled":true}`); code != 200 {
		t.Fatalf("publish: %d %v", code, out)
	}
	expect(200, "linked by a published chatflow")
	// Another site never reads it, linked or not.
	_, other := e.doKey(e.other, "GET", "/api/v1/account", "")
	if code, _ := e.internalGet("/internal/sites/" + other["site_key"].(string) + "/kb/" + itoa(kbID) + "/categories"); code != 404 {
		t.Errorf("another site read it: %d", code)
	}

	if code, out := e.do("PATCH", "/api/v1/chatflows/"+itoa(cf), `{"options":{"knowledge_base_id":0}}`); code != 200 || out["options"].(map[string]any)["knowledge_base_id"] != nil {
		t.Fatalf("unlink: %d %v", code, out)
	}
	expect(404, "unlinked again")
}

package kb_test

import (
	"context"
	"strings"
	"testing"

	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/kb"
	"github.com/parleychat/parley/backend/internal/store"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// hostile holds every way we know of to smuggle script into Markdown.
const hostile = "# Billing <script>alert('h1')</script>\n\n" +
	"Pay by card.<script>alert(1)</script>\n\n" +
	"<img src=x onerror=\"alert(2)\"> <a href=\"https://example.com\" onclick=\"alert(3)\">site</a>\n\n" +
	"[click](javascript:alert(4)) [data](data:text/html;base64,PHNjcmlwdD4=) ![i](x \"t\")\n\n" +
	"<svg onload=alert(5)><circle/></svg><iframe src=\"https://evil.example\"></iframe>\n\n" +
	"<div style=\"background:url(javascript:alert(6))\" onmouseover=alert(7)>hover</div>\n\n" +
	"<form action=\"https://evil.example\"><input name=a></form><object data=x></object>\n\n" +
	"<a href=\"JaVaScRiPt:alert(8)\">x</a> <a href=\"&#106;avascript:alert(9)\">y</a>\n\n" +
	"**bold** and `code <b>` and [docs](https://docs.example.com/pay)\n"

func TestRenderLeavesScriptInert(t *testing.T) {
	r, err := kb.Render("Billing", hostile)
	if err != nil {
		t.Fatal(err)
	}
	low := strings.ToLower(r.HTML)
	for _, bad := range []string{"<script", "onerror", "onclick", "onload", "onmouseover", "javascript:", "data:text",
		"<iframe", "<svg", "<form", "<input", "<object", "style=", "alert(1)", "alert(6)"} {
		if strings.Contains(low, bad) {
			t.Errorf("sanitised HTML still holds %q:\n%s", bad, r.HTML)
		}
	}
	// Formatting survives; links leave in a new tab without a referrer.
	for _, want := range []string{"<h1>Billing", "<strong>bold</strong>", "<code>code &lt;b&gt;</code>",
		`href="https://docs.example.com/pay"`, `rel="nofollow noreferrer noopener"`, `target="_blank"`, "Pay by card."} {
		if !strings.Contains(r.HTML, want) {
			t.Errorf("HTML lost %q:\n%s", want, r.HTML)
		}
	}
	// The plain text holds words, not markup or script bodies.
	if strings.Contains(r.Text, "alert(") || strings.Contains(strings.ReplaceAll(r.Text, "code <b>", ""), "<") {
		t.Errorf("plain text holds markup or script: %q", r.Text)
	}
	for _, want := range []string{"Billing", "Pay by card.", "site", "bold and code <b> and docs"} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("plain text lost %q: %q", want, r.Text)
		}
	}
}

func TestRenderPassagesFollowSections(t *testing.T) {
	long := strings.Repeat("Refunds take five working days to reach your card. ", 10)
	md := "Intro about payments.\n\n## Refunds\n\n" + long + "\n\n" + long + "\n\n## Invoices\n\n- one\n- two\n\n```\ncode line\n```\n"
	r, err := kb.Render("Payments", md)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range r.Passages {
		got = append(got, p.Heading)
	}
	// The intro is headed by the title; the long Refunds section is split in two.
	want := []string{"Payments", "Refunds", "Refunds", "Invoices"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("passage headings %q, want %q", got, want)
	}
	if last := r.Passages[3].Body; last != "one\ntwo\ncode line" {
		t.Errorf("list and code passage %q", last)
	}
}

func TestSnippetEscapesAllButMark(t *testing.T) {
	in := `a <img src=x onerror=alert(1)> ` + store.HighlightStart + `pay&ment` + store.HighlightStop + ` "x" ` + store.HighlightStart + `open`
	got := kb.Snippet(in)
	want := `a &lt;img src=x onerror=alert(1)&gt; <mark>pay&amp;ment</mark> &#34;x&#34; <mark>open</mark>`
	if got != want {
		t.Errorf("Snippet:\n got %s\nwant %s", got, want)
	}
}

// fixture is one account with one knowledge base.
type fixture struct {
	st   *store.Store
	acct int64
	kb   int64
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	st := store.New(dbtest.New(t))
	a := &store.Account{Name: "Acme"}
	if err := st.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	k := &store.KnowledgeBase{AccountID: a.ID, Name: "Help", Language: "en"}
	if err := st.CreateKB(ctx, k); err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, acct: a.ID, kb: k.ID}
}

func (f *fixture) article(t testing.TB, lang, title, body string, published bool) int64 {
	t.Helper()
	a := &store.KBArticle{KBID: f.kb, Title: title, Body: body, Language: lang, Published: published}
	ps, err := kb.Prepare(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.CreateKBArticle(context.Background(), f.acct, a, ps); err != nil {
		t.Fatal(err)
	}
	return a.ID
}

func TestSearchStemsInEachLanguage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ids := map[string]int64{
		"en": f.article(t, "en", "Changing your payment method", "Open Settings, then Billing, and choose a new payment card.", true),
		"nl": f.article(t, "nl", "Je betaling wijzigen", "Ga naar Instellingen en kies een andere betaling per kaart.", true),
		"de": f.article(t, "de", "Ihre Rechnung herunterladen", "Unter Konto finden Sie jede Rechnung als PDF.", true),
		"fr": f.article(t, "fr", "Télécharger une facture", "Dans votre compte, chaque facture est disponible en PDF.", true),
		"es": f.article(t, "es", "Descargar una factura", "En su cuenta, cada factura está disponible en PDF.", true),
	}
	queries := map[string]string{
		"en": "payments",   // plural finds singular
		"nl": "betalingen", // the issue's own example
		"de": "Rechnungen", // plural, capitalised
		"fr": "factures",   // plural
		"es": "facturas",   // plural
	}
	for lang, q := range queries {
		hits, err := kb.Search(ctx, f.st, f.kb, lang, q, false, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 1 || hits[0].ID != ids[lang] {
			t.Errorf("%s %q: hits %+v, want only article %d", lang, q, hits, ids[lang])
			continue
		}
		if !strings.Contains(hits[0].Snippet, "<mark>") {
			t.Errorf("%s %q: snippet without highlight: %q", lang, q, hits[0].Snippet)
		}
	}
	// A language's search sees only that language's articles.
	if hits, _ := kb.Search(ctx, f.st, f.kb, "en", "factura", false, 10); len(hits) != 0 {
		t.Errorf("English search found Spanish articles: %+v", hits)
	}
}

func TestSearchRanksPublishedAndEscapes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	body := f.article(t, "en", "Account basics", "Among other things, refunds are mentioned once here.", true)
	title := f.article(t, "en", "Refunds", "How refunds work: a refund reaches your card in five days. Refund requests need an order number.", true)
	draft := f.article(t, "en", "Refund policy draft", "Refunds draft.", false)
	code := f.article(t, "en", "Embedding", "Paste this:\n\n```\n<script src=\"https://x/refund.js\"></script>\n```\n\nIf 5 < 6 & 7 > 3 the refund widget \"works\"", true)

	hits, err := kb.Search(ctx, f.st, f.kb, "en", "refund", false, 10)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]kb.Hit{}
	for _, h := range hits {
		got[h.ID] = h
	}
	if len(hits) != 3 || hits[0].ID != title || got[body].ID == 0 || got[code].ID == 0 {
		t.Fatalf("hits %+v: want the titled article %d first, then %d and %d", hits, title, body, code)
	}
	if _, leaked := got[draft]; leaked {
		t.Errorf("unpublished article %d found by a public search", draft)
	}
	if s := got[code].Snippet; strings.Contains(s, "<script") || !strings.Contains(s, "5 &lt; 6 &amp; 7 &gt; 3 the <mark>refund</mark>") {
		t.Errorf("snippet not escaped: %q", s)
	}
	for _, h := range hits {
		if strings.Count(h.Snippet, "<") != 2*strings.Count(h.Snippet, "<mark>") {
			t.Errorf("snippet holds markup other than <mark>: %q", h.Snippet)
		}
	}
	// The admin search sees drafts; web-search syntax works.
	all, _ := kb.Search(ctx, f.st, f.kb, "en", "refund", true, 10)
	if len(all) != 4 {
		t.Errorf("search with drafts: %d hits, want 4", len(all))
	}
	if ex, _ := kb.Search(ctx, f.st, f.kb, "en", `refund -card -widget`, false, 10); len(ex) != 1 || ex[0].ID != body {
		t.Errorf("refund -card -widget: %+v, want only %d", ex, body)
	}
	if none, err := kb.Search(ctx, f.st, f.kb, "en", `"' & | ! <-> :* (`, false, 10); err != nil || len(none) != 0 {
		t.Errorf("query of operators: %v %+v", err, none)
	}
}

func TestBestPassageAnswersOrSaysNo(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	pay := f.article(t, "en", "Payments", "We accept cards and bank transfers.\n\n## Refunds\n\nA refund reaches your card within five working days after we approve it.\n\n## Invoices\n\nInvoices are emailed monthly as PDF.", true)
	f.article(t, "en", "Shipping", "Parcels ship from Rotterdam.\n\n## Delivery times\n\nDelivery takes two days within the Netherlands.", true)
	f.article(t, "nl", "Betalingen", "## Terugbetalingen\n\nEen terugbetaling staat binnen vijf werkdagen op je kaart.", true)

	art, passage, score, ok, err := kb.BestPassage(ctx, f.st, f.kb, "en", "How long does a refund take to reach my card?")
	if err != nil || !ok {
		t.Fatalf("refund question: ok=%v err=%v score=%.2f", ok, err, score)
	}
	if art.ID != pay || art.Title != "Payments" || !strings.Contains(passage, "five working days") {
		t.Errorf("refund answer: %+v %q", art, passage)
	}
	if _, passage, _, ok, _ := kb.BestPassage(ctx, f.st, f.kb, "en", "How many days does delivery take?"); !ok || !strings.Contains(passage, "two days") {
		t.Errorf("delivery answer: ok=%v %q", ok, passage)
	}
	if _, passage, _, ok, _ := kb.BestPassage(ctx, f.st, f.kb, "nl", "Binnen hoeveel werkdagen staan terugbetalingen op mijn kaart?"); !ok || !strings.Contains(passage, "vijf werkdagen") {
		t.Errorf("Dutch answer: ok=%v %q", ok, passage)
	}
	for _, q := range []string{"What is the weather like on Mars?", "Do you sell refurbished telescopes?", "", "the and of"} {
		if art, passage, score, ok, err := kb.BestPassage(ctx, f.st, f.kb, "en", q); ok || err != nil {
			t.Errorf("%q answered (score %.2f) with %+v %q, err %v", q, score, art, passage, err)
		}
	}
	// A draft is never an answer.
	if _, _, _, ok, _ := kb.BestPassage(ctx, f.st, f.kb, "en", "telescope lenses"); ok {
		t.Error("answered from nothing")
	}
	f.article(t, "en", "Telescopes", "Telescope lenses are cleaned with a soft cloth.", false)
	if _, _, _, ok, _ := kb.BestPassage(ctx, f.st, f.kb, "en", "How do I clean telescope lenses?"); ok {
		t.Error("answered from an unpublished article")
	}
}

package inbox_test

import (
	"fmt"
	"net/http"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/inbox"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// consoleTargetMS is the console's budget: every page under 100 ms of
// server time with 200 chatflows and 10,000 articles.
const consoleTargetMS = 100

// seedConsole gives the account flows chatflows with settings in every
// group (office hours, targeting groups, consents) and one knowledge base
// of articles in 20 categories; it returns a chatflow, the knowledge
// base, a category and an article.
func (e *env) seedConsole(flows, articles int) (cf, kb, cat, article int64) {
	e.t.Helper()
	c := chatflow.Default()
	c.Look.Heading = widget.Heading{Kind: widget.HeadingBrand, BrandName: "Acme"}
	c.Welcome.Messages = map[string]string{"en": "Hi! How can we help?", "nl": "Hallo! Waarmee kunnen we helpen?"}
	c.Availability.Mode = chatflow.ModeOfficeHours
	for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday"} {
		c.Availability.OfficeHours = append(c.Availability.OfficeHours, chatflow.TimeRange{Day: d, Start: "09:00", End: "12:00"},
			chatflow.TimeRange{Day: d, Start: "13:00", End: "17:30"})
	}
	c.Targeting.Groups = []widget.RuleGroup{
		{Rules: []widget.Rule{{Kind: widget.RuleURL, Op: widget.OpContains, Value: "/pricing"}, {Kind: "device", Op: "is", Value: "desktop"}}},
		{Rules: []widget.Rule{{Kind: "query_param", Op: "is", Name: "utm_source", Value: "ads"}}},
	}
	c.Targeting.Exclusions = []widget.Rule{{Kind: widget.RuleURL, Op: "ends_with", Value: "/privacy"}}
	c.Options.CookieConsent.Enabled, c.Options.DataConsent.Enabled = true, true
	c.Name, c.InboxID = "seed", e.inboxA
	row, err := c.Row(e.account)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO chatflows (account_id, public_id, name, channel, inbox_id, language, type, enabled, priority, mobile_tag, settings)
			SELECT $1, 'bench_cf_' || g, 'Chatflow ' || g, CASE WHEN g % 5 = 0 THEN 'mobile' ELSE 'website' END, $2,
				(ARRAY['en','nl','de','fr','es'])[1 + g % 5], 'live_agent', g % 2 = 0, g % 50,
				CASE WHEN g % 5 = 0 THEN 'app-' || g ELSE '' END, $3::jsonb
			FROM generate_series(1, $4) g`, []any{e.account, e.inboxA, string(row.Settings), flows}},
		{`INSERT INTO knowledge_bases (account_id, name, language) VALUES ($1, 'Help centre', 'en')`, []any{e.account}},
		{`INSERT INTO kb_categories (kb_id, name, position)
			SELECT k.id, 'Category ' || g, g FROM knowledge_bases k, generate_series(1, 20) g WHERE k.account_id = $1`, []any{e.account}},
		{`INSERT INTO kb_articles (kb_id, category_id, title, body, body_html, body_text, language, search_config, published)
			SELECT k.id, (SELECT min(id) FROM kb_categories WHERE kb_id = k.id) + g % 20,
				'How to change ' || (ARRAY['your payment card','the delivery address','a subscription plan','your password','an invoice'])[1 + g % 5] || ' (' || g || ')',
				'## Steps' || E'\n\n' || 'Open the account page and choose settings. Then save. Article ' || g || '.',
				'<h2>Steps</h2><p>Open the account page and choose settings. Then save. Article ' || g || '.</p>',
				'Steps Open the account page and choose settings. Then save. Article ' || g || '.',
				'en', 'english', g % 3 <> 0
			FROM knowledge_bases k, generate_series(1, $2) g WHERE k.account_id = $1`, []any{e.account, articles}},
		{`ANALYZE`, nil},
	} {
		if _, err := e.db.Exec(q.sql, q.args...); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := e.db.QueryRow(`SELECT max(c.id), k.id, min(cat.id), max(a.id) FROM chatflows c, knowledge_bases k
		JOIN kb_categories cat ON cat.kb_id = k.id JOIN kb_articles a ON a.kb_id = k.id
		WHERE c.account_id = $1 AND k.account_id = $1 GROUP BY k.id`, e.account).Scan(&cf, &kb, &cat, &article); err != nil {
		e.t.Fatal(err)
	}
	return cf, kb, cat, article
}

var nextCursor = regexp.MustCompile(`cursor=([^"&]+)`)

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkConsole measures the server time of the console's pages (HTTP
// on loopback included) with 200 chatflows and 10,000 articles, each
// against the 100 ms target:
// go test ./backend/inbox -run '^$' -bench Console -benchtime 20x
func BenchmarkConsole(b *testing.B) {
	e := setup(b, inbox.Config{PublicURL: "https://chat.example"})
	cf, kb, cat, article := e.seedConsole(200, 10_000)
	admin := e.withRole(e.alice, store.RoleAdmin)
	kbPath := fmt.Sprintf("/inbox/settings/knowledge-bases/%d", kb)
	page2 := kbPath
	if m := nextCursor.FindStringSubmatch(admin.get(kbPath).body); m != nil {
		page2 = kbPath + "?cursor=" + m[1]
	} else {
		b.Log("the knowledge base page offers no next page")
	}
	pages := []struct{ name, path string }{
		{"chatflow_list", "/inbox/settings/chatflows"},
		{"chatflow_new", "/inbox/settings/chatflows/new"},
		{"chatflow_build", fmt.Sprintf("/inbox/settings/chatflows/%d?tab=build", cf)},
		{"chatflow_target", fmt.Sprintf("/inbox/settings/chatflows/%d?tab=target", cf)},
		{"chatflow_display", fmt.Sprintf("/inbox/settings/chatflows/%d?tab=display", cf)},
		{"chatflow_options", fmt.Sprintf("/inbox/settings/chatflows/%d?tab=options", cf)},
		{"kb_list", "/inbox/settings/knowledge-bases"},
		{"kb_articles_page1", kbPath},
		{"kb_articles_page2", page2},
		{"kb_category_filter", fmt.Sprintf("%s?category=%d", kbPath, cat)},
		{"kb_search", kbPath + "?q=payment+card"},
		{"kb_category", fmt.Sprintf("/inbox/settings/kb-categories/%d", cat)},
		{"kb_article", fmt.Sprintf("/inbox/settings/kb-articles/%d", article)},
		{"kb_article_new", kbPath + "/articles/new"},
		{"images", "/inbox/settings/images"},
		{"install", "/inbox/settings/install"},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			cpu := cpuTime()
			for b.Loop() {
				if pg := admin.get(p.path); pg.status != http.StatusOK {
					b.Fatalf("%s: %d", p.path, pg.status)
				}
			}
			// Wall time counts every other process on the machine too; the
			// process's CPU time is this server's work (and its client's),
			// PostgreSQL's not.
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N)/1000, "cpu-ms/page")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/page")
			b.ReportMetric(consoleTargetMS, "target-ms")
		})
	}
}

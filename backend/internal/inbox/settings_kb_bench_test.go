package inbox_test

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/inbox"
	"github.com/parleychat/parley/backend/internal/store"
)

// The knowledge base page stays one page of articles however many there
// are. With 10,000 articles it shows 50 and a next-page link; its times are
// logged (make bench holds the 100 ms budget: a shared test machine's
// timings would make a flaky assertion).
func TestConsoleKnowledgeBaseManyArticles(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 10,000 articles")
	}
	e := setup(t, inbox.Config{})
	ed := e.withRole(e.bob, store.RoleEditor)
	var kbID, cat int64
	if err := e.db.QueryRow(`INSERT INTO knowledge_bases (account_id, name, language) VALUES ($1, 'Big', 'en') RETURNING id`, e.account).Scan(&kbID); err != nil {
		t.Fatal(err)
	}
	if err := e.db.QueryRow(`INSERT INTO kb_categories (kb_id, name) VALUES ($1, 'Billing') RETURNING id`, kbID).Scan(&cat); err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("Some words about plans and invoices. ", 10)
	if _, err := e.db.Exec(`INSERT INTO kb_articles (kb_id, category_id, title, body, body_html, body_text, language, search_config, published)
		SELECT $1, CASE WHEN n % 3 = 0 THEN $2::bigint END, 'Article ' || n, $3, '<p>' || $3 || '</p>', $3, 'en', 'english', n % 2 = 0
		FROM generate_series(1, 10000) n`, kbID, cat, body); err != nil {
		t.Fatal(err)
	}
	e.db.Exec(`ANALYZE kb_articles`)
	for _, path := range []string{fmt.Sprintf("/inbox/settings/knowledge-bases/%d", kbID), fmt.Sprintf("/inbox/settings/knowledge-bases/%d?category=%d", kbID, cat)} {
		var times []time.Duration
		for i := 0; i < 20; i++ {
			start := time.Now()
			p := ed.get(path)
			times = append(times, time.Since(start))
			if p.status != http.StatusOK || strings.Count(p.body, `data-article="`) != 50 || !strings.Contains(p.body, `rel="next"`) {
				t.Fatalf("%s: %d, %d articles", path, p.status, strings.Count(p.body, `data-article="`))
			}
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		t.Logf("%s: median %v, p95 %v", path, times[10], times[18])
	}
}

package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/api"
	"github.com/parleychat/parley/backend/internal/store"
)

// What each role may change: agent keys work conversations and read the
// rest; editor keys also change what visitors see; only admin keys change
// the account itself or contacts' personal data. A lower key must never
// be able to make itself a higher one.
func TestRolesGuardEveryWrite(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	agent, err := e.st.CreateAPIKeyWithRole(ctx, e.acct.ID, "agent key", store.RoleAgent)
	must(t, err)
	editor, err := e.st.CreateAPIKeyWithRole(ctx, e.acct.ID, "editor key", store.RoleEditor)
	must(t, err)
	adminOnly := []struct{ method, path, body string }{
		{"POST", "/api/v1/users", `{"name":"Mallory","email":"m@example.com","role":"admin","password":"correct horse battery"}`},
		{"PATCH", "/api/v1/users/1", `{"role":"admin"}`},
		{"DELETE", "/api/v1/users/1", ``},
		{"POST", "/api/v1/inboxes", `{"name":"Side door"}`},
		{"PATCH", "/api/v1/inboxes/" + itoa(e.inbox), `{"name":"Renamed"}`},
		{"DELETE", "/api/v1/inboxes/" + itoa(e.inbox), ``},
		{"POST", "/api/v1/teams", `{"name":"T"}`},
		{"PATCH", "/api/v1/teams/1", `{"name":"T"}`},
		{"DELETE", "/api/v1/teams/1", ``},
		{"POST", "/api/v1/api-keys", `{"name":"mine","role":"admin"}`},
		{"GET", "/api/v1/contacts/1/export", ``},
		{"DELETE", "/api/v1/contacts/1", ``},
		{"PUT", "/api/v1/contacts/1/subscriptions/1", `{"status":"unsubscribed"}`},
		{"POST", "/api/v1/visitor-identification", `{"email":"cara@example.com","name":"Mallory"}`},
		{"GET", "/api/v1/api-keys", ``},
		{"GET", "/api/v1/reports", ``},
	}
	editors := []struct{ method, path, body string }{
		{"POST", "/api/v1/bots", `{"name":"B"}`},
		{"POST", "/api/v1/knowledge-bases", `{"name":"Help"}`},
		{"PATCH", "/api/v1/kb-articles/1", `{"title":"x"}`},
		{"POST", "/api/v1/subscription-types", `{"name":"News"}`},
		{"POST", "/api/v1/labels", `{"name":"VIP","color":"#aa0000"}`},
	}
	for _, r := range adminOnly {
		for name, key := range map[string]string{"agent": agent, "editor": editor} {
			if code, out := e.doKey(key, r.method, r.path, r.body); code != http.StatusForbidden {
				t.Errorf("%s key: %s %s answered %d %v, want 403", name, r.method, r.path, code, out)
			}
		}
	}
	for _, r := range editors {
		if code, out := e.doKey(agent, r.method, r.path, r.body); code != http.StatusForbidden {
			t.Errorf("agent key: %s %s answered %d %v, want 403", r.method, r.path, code, out)
		}
		if code, out := e.doKey(editor, r.method, r.path, r.body); code == http.StatusForbidden {
			t.Errorf("editor key: %s %s refused: %v", r.method, r.path, out)
		}
	}
	// Reads stay open to every role, and nothing above was changed.
	for _, path := range []string{"/api/v1/users", "/api/v1/inboxes", "/api/v1/teams", "/api/v1/bots", "/api/v1/knowledge-bases"} {
		if code, out := e.doKey(agent, "GET", path, ""); code != http.StatusOK {
			t.Errorf("agent key reading %s: %d %v", path, code, out)
		}
	}
	var admins, contacts int
	must(t, e.st.DB().Get(&admins, `SELECT count(*) FROM users WHERE email = 'm@example.com'`))
	if admins != 0 {
		t.Fatal("a lower key made a user")
	}
	must(t, e.st.DB().Get(&contacts, `SELECT count(*) FROM contacts`))
	if contacts != 0 {
		t.Fatal("a lower key identified a visitor")
	}
	// The admin key itself may do what the others may not.
	if code, out := e.do("POST", "/api/v1/teams", `{"name":"Night shift"}`); code != http.StatusCreated {
		t.Fatalf("admin key creates a team: %d %v", code, out)
	}
}

// roleSpec is the README's role table, route by route: the lowest role
// that may call it. Every GET not listed is open to every role.
var roleSpec = map[string]string{
	// Agents work conversations and tickets.
	"POST /api/v1/conversations/:id/assign":             store.RoleAgent,
	"POST /api/v1/conversations/:id/close":              store.RoleAgent,
	"POST /api/v1/conversations/:id/reopen":             store.RoleAgent,
	"POST /api/v1/conversations/:id/messages":           store.RoleAgent,
	"PATCH /api/v1/tickets/:id":                         store.RoleAgent,
	"PUT /api/v1/conversations/:id/labels/:label_id":    store.RoleAgent,
	"DELETE /api/v1/conversations/:id/labels/:label_id": store.RoleAgent,
	// Editors keep the account's labels.
	"POST /api/v1/labels":       store.RoleEditor,
	"PATCH /api/v1/labels/:id":  store.RoleEditor,
	"DELETE /api/v1/labels/:id": store.RoleEditor,
	// Editors change what visitors see.
	"POST /api/v1/chatflows":                      store.RoleEditor,
	"PUT /api/v1/chatflows/:id":                   store.RoleEditor,
	"PATCH /api/v1/chatflows/:id":                 store.RoleEditor,
	"DELETE /api/v1/chatflows/:id":                store.RoleEditor,
	"POST /api/v1/surveys":                        store.RoleEditor,
	"PATCH /api/v1/surveys/:id":                   store.RoleEditor,
	"DELETE /api/v1/surveys/:id":                  store.RoleEditor,
	"POST /api/v1/bots":                           store.RoleEditor,
	"PUT /api/v1/bots/:id":                        store.RoleEditor,
	"DELETE /api/v1/bots/:id":                     store.RoleEditor,
	"POST /api/v1/knowledge-bases":                store.RoleEditor,
	"PATCH /api/v1/knowledge-bases/:id":           store.RoleEditor,
	"DELETE /api/v1/knowledge-bases/:id":          store.RoleEditor,
	"POST /api/v1/knowledge-bases/:id/categories": store.RoleEditor,
	"POST /api/v1/knowledge-bases/:id/articles":   store.RoleEditor,
	"PATCH /api/v1/kb-categories/:id":             store.RoleEditor,
	"DELETE /api/v1/kb-categories/:id":            store.RoleEditor,
	"PUT /api/v1/kb-articles/:id":                 store.RoleEditor,
	"PATCH /api/v1/kb-articles/:id":               store.RoleEditor,
	"DELETE /api/v1/kb-articles/:id":              store.RoleEditor,
	"POST /api/v1/subscription-types":             store.RoleEditor,
	"PUT /api/v1/subscription-types/:id":          store.RoleEditor,
	"PATCH /api/v1/subscription-types/:id":        store.RoleEditor,
	"DELETE /api/v1/subscription-types/:id":       store.RoleEditor,
	"POST /api/v1/images":                         store.RoleEditor,
	// Admins change the account and contacts' personal data.
	"PATCH /api/v1/account":                           store.RoleAdmin,
	"GET /api/v1/account/push-webhook":                store.RoleAdmin,
	"PUT /api/v1/account/push-webhook":                store.RoleAdmin,
	"DELETE /api/v1/account/push-webhook":             store.RoleAdmin,
	"GET /api/v1/webhooks":                            store.RoleAdmin,
	"POST /api/v1/webhooks":                           store.RoleAdmin,
	"GET /api/v1/webhooks/:id":                        store.RoleAdmin,
	"PATCH /api/v1/webhooks/:id":                      store.RoleAdmin,
	"DELETE /api/v1/webhooks/:id":                     store.RoleAdmin,
	"GET /api/v1/webhooks/:id/deliveries":             store.RoleAdmin,
	"POST /api/v1/users":                              store.RoleAdmin,
	"PATCH /api/v1/users/:id":                         store.RoleAdmin,
	"DELETE /api/v1/users/:id":                        store.RoleAdmin,
	"POST /api/v1/users/:id/invitation":               store.RoleAdmin,
	"POST /api/v1/inboxes":                            store.RoleAdmin,
	"PATCH /api/v1/inboxes/:id":                       store.RoleAdmin,
	"DELETE /api/v1/inboxes/:id":                      store.RoleAdmin,
	"POST /api/v1/teams":                              store.RoleAdmin,
	"PATCH /api/v1/teams/:id":                         store.RoleAdmin,
	"DELETE /api/v1/teams/:id":                        store.RoleAdmin,
	"GET /api/v1/api-keys":                            store.RoleAdmin,
	"POST /api/v1/api-keys":                           store.RoleAdmin,
	"GET /api/v1/api-keys/:id":                        store.RoleAdmin,
	"DELETE /api/v1/api-keys/:id":                     store.RoleAdmin,
	"GET /api/v1/contacts/:id/export":                 store.RoleAdmin,
	"DELETE /api/v1/contacts/:id":                     store.RoleAdmin,
	"PUT /api/v1/contacts/:id/subscriptions/:type_id": store.RoleAdmin,
	"POST /api/v1/visitor-identification":             store.RoleAdmin,
	// Reports name each agent's figures.
	"GET /api/v1/reports": store.RoleAdmin,
}

// Every registered route has a role decision matching the README's table,
// checked by calling it with an agent, an editor and an admin key: a new
// route nobody decided on fails here. /internal routes take the edge's
// secret only, never an API key.
func TestRolesGuardEveryRoute(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	keys := map[string]string{store.RoleAdmin: e.key}
	for _, role := range []string{store.RoleAgent, store.RoleEditor} {
		k, err := e.st.CreateAPIKeyWithRole(ctx, e.acct.ID, role+" key", role)
		must(t, err)
		keys[role] = k
	}
	rank := map[string]int{store.RoleAgent: 1, store.RoleEditor: 2, store.RoleAdmin: 3}
	r := gin.New()
	api.New(e.st, e.secret).Register(r)
	params := regexp.MustCompile(`:[a-z_]+`)
	seen := map[string]bool{}
	for _, rt := range r.Routes() {
		key := rt.Method + " " + rt.Path
		seen[key] = true
		path := params.ReplaceAllString(rt.Path, "999999")
		if strings.HasPrefix(rt.Path, "/internal/") {
			for _, k := range []string{"", e.key} {
				req := httptest.NewRequest(rt.Method, path, nil)
				if k != "" {
					req.Header.Set("Authorization", "Bearer "+k)
				}
				w := httptest.NewRecorder()
				r.ServeHTTP(w, req)
				if w.Code != http.StatusUnauthorized {
					t.Errorf("%s with key %q: %d, want 401", key, k, w.Code)
				}
			}
			continue
		}
		if !strings.HasPrefix(rt.Path, "/api/v1/") {
			t.Errorf("%s: a route outside /api/v1 and /internal has no role decision", key)
			continue
		}
		want, ok := roleSpec[key]
		if !ok && rt.Method != http.MethodGet {
			t.Errorf("%s: no role decision in the README's table (roleSpec)", key)
			continue
		}
		if !ok {
			want = store.RoleAgent
		}
		for _, role := range []string{store.RoleAgent, store.RoleEditor, store.RoleAdmin} {
			code, out := e.doKey(keys[role], rt.Method, path, "{}")
			if denied := code == http.StatusForbidden; denied != (rank[role] < rank[want]) {
				t.Errorf("%s with an %s key: %d %v; the lowest role allowed is %s", key, role, code, out, want)
			}
		}
	}
	for key := range roleSpec {
		if !seen[key] {
			t.Errorf("%s is in the role table but not registered", key)
		}
	}
}

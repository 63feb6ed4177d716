package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/parleychat/parley/backend/store"
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
	}
	editors := []struct{ method, path, body string }{
		{"POST", "/api/v1/bots", `{"name":"B"}`},
		{"POST", "/api/v1/knowledge-bases", `{"name":"Help"}`},
		{"PATCH", "/api/v1/kb-articles/1", `{"title":"x"}`},
		{"POST", "/api/v1/subscription-types", `{"name":"News"}`},
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
	var admins int
	must(t, e.st.DB().Get(&admins, `SELECT count(*) FROM users WHERE email = 'm@example.com'`))
	if admins != 0 {
		t.Fatal("a lower key made a user")
	}
	// The admin key itself may do what the others may not.
	if code, out := e.do("POST", "/api/v1/teams", `{"name":"Night shift"}`); code != http.StatusCreated {
		t.Fatalf("admin key creates a team: %d %v", code, out)
	}
}

package inbox_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/parleychat/parley/backend/internal/inbox"
	"github.com/parleychat/parley/backend/internal/store"
)

// withRole gives u role and returns a browser signed in as u.
func (e *env) withRole(u *store.User, role string) *browser {
	e.t.Helper()
	if _, err := e.db.Exec(`UPDATE users SET role = $1 WHERE id = $2`, role, u.ID); err != nil {
		e.t.Fatal(err)
	}
	u.Role = role
	return e.signedIn(u)
}

// Pages of the console, for the role test: editorPaths open to editors
// and admins, adminPaths to admins alone.
var (
	editorPaths = []string{"/inbox/settings/knowledge-bases", "/inbox/settings/knowledge-bases/1", "/inbox/settings/knowledge-bases/1/articles/new",
		"/inbox/settings/kb-categories/1", "/inbox/settings/kb-articles/1", "/inbox/settings/surveys", "/inbox/settings/surveys/1",
		"/inbox/settings/bots", "/inbox/settings/bots/new", "/inbox/settings/bots/1", "/inbox/settings/subscription-types",
		"/inbox/settings/subscription-types/1", "/inbox/settings/images", "/inbox/settings/labels", "/inbox/settings/labels/1", "/inbox/settings/labels/1/delete"}
	adminPaths = []string{"/inbox/settings/account", "/inbox/settings/users", "/inbox/settings/users/1", "/inbox/settings/users/1/delete",
		"/inbox/settings/teams", "/inbox/settings/teams/1", "/inbox/settings/inboxes", "/inbox/settings/inboxes/1",
		"/inbox/settings/inboxes/1/delete", "/inbox/settings/api-keys", "/inbox/settings/api-keys/1/revoke", "/inbox/settings/install"}
)

// The console's links show only to those who may use them, and its URLs
// refuse everyone else whatever links they know.
func TestSettingsFollowRoles(t *testing.T) {
	e := setup(t, inbox.Config{})
	agent := e.withRole(e.alice, store.RoleAgent)
	editor := e.withRole(e.bob, store.RoleEditor)
	carol := &store.User{AccountID: e.account, Email: "carol@example.com", Name: "Carol Admin", PasswordHash: e.alice.PasswordHash}
	if err := e.st.CreateUser(context.Background(), carol); err != nil {
		t.Fatal(err)
	}
	admin := e.withRole(carol, store.RoleAdmin)

	if p := agent.get("/inbox"); strings.Contains(p.body, `id="settings-link"`) {
		t.Error("an agent sees the Settings link")
	}
	if p := editor.get("/inbox"); !strings.Contains(p.body, `id="settings-link"`) {
		t.Error("an editor does not see the Settings link")
	}
	// Each console page adds its paths to editorPaths or adminPaths.
	for _, path := range append([]string{"/inbox/settings"}, append(editorPaths, adminPaths...)...) {
		if p := agent.get(path); p.status != http.StatusForbidden {
			t.Errorf("agent at %s: %d, want 403", path, p.status)
		}
	}
	for _, path := range adminPaths {
		if p := editor.get(path); p.status != http.StatusForbidden {
			t.Errorf("editor at %s: %d, want 403", path, p.status)
		}
	}
	if p := admin.get("/inbox/settings"); p.status != http.StatusSeeOther {
		t.Errorf("admin at /inbox/settings: %d, want a redirect to the first section", p.status)
	}
}

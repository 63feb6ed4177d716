package inbox_test

import (
	"context"
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

// consoleAdmin adds an admin to e's account and returns their signed-in browser.
func (e *env) consoleAdmin() (*browser, *store.User) {
	e.t.Helper()
	u := &store.User{AccountID: e.account, Email: "carol@example.com", Name: "Carol Admin", PasswordHash: e.alice.PasswordHash}
	if err := e.st.CreateUser(context.Background(), u); err != nil {
		e.t.Fatal(err)
	}
	return e.withRole(u, store.RoleAdmin), u
}

// restGet reads path through the REST API as an admin key would, into v.
func (e *env) restGet(path string, v any) int {
	e.t.Helper()
	r := api.New(e.st, "").Local().Do(context.Background(), e.account, store.RoleAdmin, http.MethodGet, path, nil, nil)
	if r.OK() && v != nil {
		if err := r.Decode(v); err != nil {
			e.t.Fatal(err)
		}
	}
	return r.Status
}

// fieldErr finds the message shown beside field, or "".
func fieldErr(body, field string) string {
	m := regexp.MustCompile(`<p class="field-error" role="alert" id="err-` + regexp.QuoteMeta(field) + `">([^<]*)</p>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// wantRedirect checks a save answered 303 to a page with a notice.
func wantRedirect(t *testing.T, p page, prefix string) {
	t.Helper()
	if p.status != http.StatusSeeOther || !strings.HasPrefix(location(p), prefix) {
		t.Fatalf("want a redirect to %s, got %d %s: %.600s", prefix, p.status, location(p), p.body)
	}
}

var idLink = func(kind string) *regexp.Regexp {
	return regexp.MustCompile(`href="/inbox/settings/` + kind + `/(\d+)"`)
}

func TestConsoleAccount(t *testing.T) {
	e := setup(t, inbox.Config{})
	admin, _ := e.consoleAdmin()
	p := admin.get("/inbox/settings/account")
	if p.status != 200 || !strings.Contains(p.body, `value="Acme"`) {
		t.Fatalf("account page: %d %.500s", p.status, p.body)
	}
	// Bad input: each message beside its field, the typed values kept.
	p = admin.post("/inbox/settings/account", url.Values{"name": {"Acme"}, "timezone": {"Mars/Olympus"},
		"allowed_domains": {"shop.example.com\nhttps://bad domain/"}, "company_domain": {"not a domain"}})
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad account: %d", p.status)
	}
	for _, f := range []string{"timezone", "allowed_domains", "company_domain"} {
		if fieldErr(p.body, f) == "" {
			t.Errorf("no message beside %s: %.2000s", f, p.body)
		}
	}
	if !strings.Contains(p.body, "Mars/Olympus") || !strings.Contains(p.body, "https://bad domain/") {
		t.Error("the typed values are lost")
	}
	// A good save reaches REST.
	p = admin.post("/inbox/settings/account", url.Values{"name": {"Acme Ltd"}, "company_name": {"Acme"},
		"company_domain": {"acme.example"}, "timezone": {"Europe/Amsterdam"}, "allowed_domains": {"shop.example.com\n\nwww.example.com"}})
	wantRedirect(t, p, "/inbox/settings/account")
	var acct struct {
		Name, Timezone string
		CompanyDomain  string   `json:"company_domain"`
		AllowedDomains []string `json:"allowed_domains"`
	}
	e.restGet("/api/v1/account", &acct)
	if acct.Name != "Acme Ltd" || acct.Timezone != "Europe/Amsterdam" || acct.CompanyDomain != "acme.example" ||
		strings.Join(acct.AllowedDomains, ",") != "shop.example.com,www.example.com" {
		t.Errorf("REST shows %+v", acct)
	}
	if p = admin.get(location(p)); !strings.Contains(p.body, `id="notice"`) || !strings.Contains(p.body, "Europe/Amsterdam") {
		t.Error("no notice or not the saved values after saving")
	}
	// Clearing the allowed domains allows every origin again.
	p = admin.post("/inbox/settings/account", url.Values{"name": {"Acme Ltd"}, "timezone": {"UTC"}, "allowed_domains": {""}})
	wantRedirect(t, p, "/inbox/settings/account")
	e.restGet("/api/v1/account", &acct)
	if len(acct.AllowedDomains) != 0 {
		t.Errorf("allowed domains not cleared: %v", acct.AllowedDomains)
	}
}

func TestConsoleUsers(t *testing.T) {
	e := setup(t, inbox.Config{})
	admin, _ := e.consoleAdmin()
	p := admin.get("/inbox/settings/users")
	if p.status != 200 || !strings.Contains(p.body, "alice@example.com") {
		t.Fatalf("users page: %d %.500s", p.status, p.body)
	}
	// Bad input.
	p = admin.post("/inbox/settings/users", url.Values{"name": {"Dana"}, "email": {"not an email"}, "role": {"agent"},
		"status": {"offline"}, "max_open_chats": {"5"}})
	if p.status != http.StatusUnprocessableEntity || fieldErr(p.body, "email") == "" || !strings.Contains(p.body, `value="not an email"`) {
		t.Fatalf("bad email: %d email=%q", p.status, fieldErr(p.body, "email"))
	}
	p = admin.post("/inbox/settings/users", url.Values{"name": {"Dana"}, "email": {"dana@example.com"}, "role": {"agent"},
		"status": {"offline"}, "max_open_chats": {"lots"}})
	if p.status != http.StatusUnprocessableEntity || fieldErr(p.body, "max_open_chats") == "" || !strings.Contains(p.body, `value="lots"`) {
		t.Fatalf("bad limit: %d limit=%q", p.status, fieldErr(p.body, "max_open_chats"))
	}
	// Create: the invitation link shows once.
	p = admin.post("/inbox/settings/users", url.Values{"name": {"Dana Editor"}, "email": {"dana@example.com"}, "role": {"editor"},
		"status": {"offline"}, "max_open_chats": {"7"}, "has_seat": {"1"}})
	if p.status != http.StatusCreated || !strings.Contains(p.body, `id="invitation-url"`) || !strings.Contains(p.body, "/inbox/invite/") {
		t.Fatalf("create user: %d %.3000s", p.status, p.body)
	}
	var list struct{ Users []store.User }
	e.restGet("/api/v1/users", &list)
	var dana *store.User
	for i := range list.Users {
		if list.Users[i].Email == "dana@example.com" {
			dana = &list.Users[i]
		}
	}
	if dana == nil || dana.Role != store.RoleEditor || !dana.HasSeat || dana.MaxOpenChats != 7 {
		t.Fatalf("REST shows %+v", dana)
	}
	if strings.Contains(admin.get("/inbox/settings/users").body, "/inbox/invite/") {
		t.Error("the invitation link shows again on the list")
	}
	// Edit: role, seat, limit, status.
	path := fmt.Sprintf("/inbox/settings/users/%d", dana.ID)
	if p = admin.get(path); p.status != 200 || !strings.Contains(p.body, "dana@example.com") {
		t.Fatalf("user page: %d", p.status)
	}
	p = admin.post(path, url.Values{"name": {"Dana"}, "email": {"dana@example.com"}, "role": {"agent"}, "status": {"away"}, "max_open_chats": {"101"}})
	if p.status != http.StatusUnprocessableEntity || fieldErr(p.body, "max_open_chats") == "" {
		t.Fatalf("limit 101: %d %q", p.status, fieldErr(p.body, "max_open_chats"))
	}
	p = admin.post(path, url.Values{"name": {"Dana"}, "email": {"dana@example.com"}, "role": {"agent"}, "status": {"away"}, "max_open_chats": {"3"}})
	wantRedirect(t, p, "/inbox/settings/users")
	var got store.User
	e.restGet(fmt.Sprintf("/api/v1/users/%d", dana.ID), &got)
	if got.Name != "Dana" || got.Role != store.RoleAgent || got.HasSeat || got.Status != store.UserAway || got.MaxOpenChats != 3 {
		t.Errorf("REST shows %+v", got)
	}
	// A new invitation, shown once.
	p = admin.post(path+"/invitation", nil)
	if p.status != 200 || strings.Count(p.body, "/inbox/invite/") != 1 {
		t.Fatalf("resend invitation: %d %.2000s", p.status, p.body)
	}
	// An invitation to one who has a password is refused in words.
	p = admin.post(fmt.Sprintf("/inbox/settings/users/%d/invitation", e.alice.ID), nil)
	if p.status == 200 || !strings.Contains(p.body, "password already") {
		t.Errorf("invite alice: %d %.1000s", p.status, p.body)
	}
	// Delete, after a confirmation page.
	if p = admin.get(path + "/delete"); p.status != 200 || !strings.Contains(p.body, `id="confirm-delete"`) {
		t.Fatalf("confirm page: %d", p.status)
	}
	wantRedirect(t, admin.post(path+"/delete", nil), "/inbox/settings/users")
	if st := e.restGet(fmt.Sprintf("/api/v1/users/%d", dana.ID), nil); st != http.StatusNotFound {
		t.Errorf("deleted user: REST %d", st)
	}
}

func TestConsoleTeamsAndInboxes(t *testing.T) {
	e := setup(t, inbox.Config{})
	admin, _ := e.consoleAdmin()
	for _, kind := range []string{"teams", "inboxes"} {
		t.Run(kind, func(t *testing.T) {
			base := "/inbox/settings/" + kind
			p := admin.post(base, url.Values{"name": {""}, "member_ids": {fmt.Sprint(e.alice.ID)}})
			if p.status != http.StatusUnprocessableEntity || fieldErr(p.body, "name") == "" {
				t.Fatalf("empty name: %d %q", p.status, fieldErr(p.body, "name"))
			}
			if !regexp.MustCompile(fmt.Sprintf(`id="member-%d" name="member_ids" value="%d" checked`, e.alice.ID, e.alice.ID)).MatchString(p.body) {
				t.Error("the checked member is lost")
			}
			p = admin.post(base, url.Values{"name": {"Billing"}, "member_ids": {fmt.Sprint(e.alice.ID), fmt.Sprint(e.bob.ID)}, "has_chat_channel": {"1"}})
			wantRedirect(t, p, base)
			p = admin.get(base)
			if !strings.Contains(p.body, "Alice Agent, Bob Agent") {
				t.Errorf("list shows no members: %.2000s", p.body)
			}
			var id int64
			for _, m := range idLink(kind).FindAllStringSubmatch(p.body, -1) {
				var g struct{ Name string }
				fmt.Sscan(m[1], &id)
				e.restGet(fmt.Sprintf("/api/v1/%s/%d", kind, id), &g)
				if g.Name == "Billing" {
					break
				}
			}
			var g struct {
				Name           string
				MemberIDs      []int64 `json:"member_ids"`
				HasChatChannel bool    `json:"has_chat_channel"`
			}
			e.restGet(fmt.Sprintf("/api/v1/%s/%d", kind, id), &g)
			if g.Name != "Billing" || len(g.MemberIDs) != 2 {
				t.Fatalf("REST shows %+v", g)
			}
			path := fmt.Sprintf("%s/%d", base, id)
			p = admin.post(path, url.Values{"name": {"Billing EU"}, "member_ids": {fmt.Sprint(e.bob.ID)}})
			wantRedirect(t, p, base)
			e.restGet(fmt.Sprintf("/api/v1/%s/%d", kind, id), &g)
			if g.Name != "Billing EU" || len(g.MemberIDs) != 1 || g.MemberIDs[0] != e.bob.ID {
				t.Errorf("after edit REST shows %+v", g)
			}
			if kind == "inboxes" && g.HasChatChannel {
				t.Error("the chat channel is still on after unticking it")
			}
			if p = admin.get(path + "/delete"); p.status != 200 {
				t.Fatalf("confirm: %d", p.status)
			}
			if kind == "inboxes" { // an inbox with a conversation is refused, in words, on a console page
				conv, _ := e.conversation(id, "Vera")
				if p := admin.post(path+"/delete", nil); p.status != http.StatusConflict || !strings.Contains(p.body, `id="form-error"`) ||
					!strings.Contains(p.body, `class="settings-menu"`) {
					t.Fatalf("delete an inbox in use: %d %.2000s", p.status, p.body)
				}
				if _, err := e.db.Exec(`DELETE FROM conversations WHERE id = $1`, conv); err != nil {
					t.Fatal(err)
				}
			}
			wantRedirect(t, admin.post(path+"/delete", nil), base)
			if st := e.restGet(fmt.Sprintf("/api/v1/%s/%d", kind, id), nil); st != http.StatusNotFound {
				t.Errorf("deleted: REST %d", st)
			}
		})
	}
}

func TestConsoleAPIKeys(t *testing.T) {
	e := setup(t, inbox.Config{})
	admin, _ := e.consoleAdmin()
	p := admin.post("/inbox/settings/api-keys", url.Values{"name": {"CRM"}, "role": {"root"}})
	if p.status != http.StatusUnprocessableEntity || fieldErr(p.body, "role") == "" {
		t.Fatalf("bad role: %d %q", p.status, fieldErr(p.body, "role"))
	}
	p = admin.post("/inbox/settings/api-keys", url.Values{"name": {"CRM sync"}, "role": {"editor"}})
	m := regexp.MustCompile(`id="key-secret" class="copy" readonly value="([^"]+)"`).FindStringSubmatch(p.body)
	if p.status != http.StatusCreated || m == nil {
		t.Fatalf("create key: %d %.2000s", p.status, p.body)
	}
	secret := m[1]
	if n := strings.Count(p.body, secret); n != 1 {
		t.Errorf("the secret appears %d times on the page that made it", n)
	}
	if p.resp.Header.Get("Cache-Control") != "no-store" {
		t.Error("the page with the secret may be cached")
	}
	// It works as an editor key, and is never shown again.
	acct, role, err := e.st.APIKeyWithRole(context.Background(), secret)
	if err != nil || acct.ID != e.account || role != store.RoleEditor {
		t.Fatalf("the secret is no editor key of the account: %v %v", role, err)
	}
	p = admin.get("/inbox/settings/api-keys")
	if strings.Contains(p.body, secret) || !strings.Contains(p.body, "CRM sync") {
		t.Error("the list shows the secret again, or not the key")
	}
	var keys struct {
		Keys []store.APIKey `json:"api_keys"`
	}
	e.restGet("/api/v1/api-keys", &keys)
	if len(keys.Keys) != 1 || keys.Keys[0].Name != "CRM sync" || keys.Keys[0].Role != store.RoleEditor {
		t.Fatalf("REST shows %+v", keys.Keys)
	}
	path := fmt.Sprintf("/inbox/settings/api-keys/%d/revoke", keys.Keys[0].ID)
	if p = admin.get(path); p.status != 200 || !strings.Contains(p.body, "Revoke key") {
		t.Fatalf("confirm: %d", p.status)
	}
	wantRedirect(t, admin.post(path, nil), "/inbox/settings/api-keys")
	if _, _, err := e.st.APIKeyWithRole(context.Background(), secret); err == nil {
		t.Error("the revoked key still works")
	}
	// The account's last admin key is not revoked; the page says why.
	admin.post("/inbox/settings/api-keys", url.Values{"name": {"Ops"}, "role": {"admin"}})
	e.restGet("/api/v1/api-keys", &keys)
	if len(keys.Keys) != 1 {
		t.Fatalf("keys: %+v", keys.Keys)
	}
	p = admin.post(fmt.Sprintf("/inbox/settings/api-keys/%d/revoke", keys.Keys[0].ID), nil)
	if p.status != http.StatusConflict || !strings.Contains(p.body, `id="form-error"`) {
		t.Errorf("revoke the last admin key: %d %.1500s", p.status, p.body)
	}
}

// An editor sees and opens none of the admin's pages; an agent none at all.
func TestConsoleAdminPagesRefuseOthers(t *testing.T) {
	e := setup(t, inbox.Config{})
	editor := e.withRole(e.bob, store.RoleEditor)
	p := editor.get("/inbox/settings/knowledge-bases")
	for _, link := range []string{"/inbox/settings/account", "/inbox/settings/users", "/inbox/settings/api-keys", "/inbox/settings/teams", "/inbox/settings/inboxes"} {
		if strings.Contains(p.body, `href="`+link+`"`) {
			t.Errorf("an editor sees a link to %s", link)
		}
	}
	for _, post := range []string{"/inbox/settings/account", "/inbox/settings/users", "/inbox/settings/api-keys", "/inbox/settings/teams"} {
		if p := editor.post(post, url.Values{"name": {"x"}, "role": {"admin"}}); p.status != http.StatusForbidden {
			t.Errorf("editor POST %s: %d", post, p.status)
		}
	}
	var keys struct {
		Keys []store.APIKey `json:"api_keys"`
	}
	e.restGet("/api/v1/api-keys", &keys)
	if len(keys.Keys) != 0 {
		t.Error("an editor made an API key")
	}
	// An agent changes nothing, whatever form it posts.
	agent := e.withRole(e.alice, store.RoleAgent)
	for _, post := range []string{"/inbox/settings/knowledge-bases", "/inbox/settings/surveys", "/inbox/settings/bots",
		"/inbox/settings/subscription-types", "/inbox/settings/users", "/inbox/settings/api-keys"} {
		if p := agent.post(post, url.Values{"name": {"x"}, "role": {"admin"}, "action": {"save"}}); p.status != http.StatusForbidden {
			t.Errorf("agent POST %s: %d", post, p.status)
		}
	}
	var types struct {
		Types []store.SubscriptionType `json:"subscription_types"`
	}
	e.restGet("/api/v1/subscription-types", &types)
	if len(types.Types) != 0 {
		t.Error("an agent made a subscription type")
	}
}

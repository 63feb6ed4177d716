package api_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/parleychat/parley/backend/internal/store"
)

// raw sends a request with key and returns the response (body closed) and its body.
func (e *env) raw(key, method, path, body string) (*http.Response, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	must(e.t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

// newKey makes a key over REST with the account's admin key and returns the
// POST answer (the only one holding the secret).
func (e *env) newKey(name, role string) map[string]any {
	e.t.Helper()
	code, k := e.do("POST", "/api/v1/api-keys", `{"name":"`+name+`","role":"`+role+`"}`)
	if code != http.StatusCreated {
		e.t.Fatalf("POST /api-keys: %d %v", code, k)
	}
	return k
}

// keyList is the first page of GET /api-keys as key sees it.
func (e *env) keyList(key string) []any {
	e.t.Helper()
	code, p := e.doKey(key, "GET", "/api/v1/api-keys", "")
	if code != 200 {
		e.t.Fatalf("GET /api-keys: %d %v", code, p)
	}
	return p["api_keys"].([]any)
}

// keyIDByPrefix finds the listed key whose prefix starts secret.
func keyIDByPrefix(list []any, secret string) int64 {
	for _, k := range list {
		if m := k.(map[string]any); strings.HasPrefix(secret, m["prefix"].(string)) {
			return num(m["id"])
		}
	}
	return 0
}

// wantKeyShape checks a listed or read key shows exactly its public fields.
func wantKeyShape(t *testing.T, what string, k map[string]any) {
	t.Helper()
	want := []string{"created_at", "id", "last_used_at", "name", "prefix", "role"}
	if got := slices.Sorted(maps.Keys(k)); !reflect.DeepEqual(got, want) {
		t.Errorf("%s shows %v, want %v", what, got, want)
	}
}

func TestAPIKeySecretWorksAndIsShownOnce(t *testing.T) {
	e := setup(t)
	res, b := e.raw(e.key, "POST", "/api/v1/api-keys", `{"name":"CI deploys","role":"editor"}`)
	var k map[string]any
	must(t, json.Unmarshal(b, &k))
	if res.StatusCode != http.StatusCreated || k["name"] != "CI deploys" || k["role"] != "editor" || k["last_used_at"] != nil || k["created_at"] == nil {
		t.Fatalf("create: %d %v", res.StatusCode, k)
	}
	id := num(k["id"])
	secret, _ := k["secret"].(string)
	if !strings.HasPrefix(secret, "pk_") || len(secret) < 40 || k["prefix"] != secret[:10] {
		t.Fatalf("secret %q, prefix %v", secret, k["prefix"])
	}
	if res.Header.Get("Location") != "/api/v1/api-keys/"+itoa(id) || res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers: Location %q, Cache-Control %q", res.Header.Get("Location"), res.Header.Get("Cache-Control"))
	}

	// The secret is a working Bearer key of the account, with its role.
	if code, acct := e.doKey(secret, "GET", "/api/v1/account", ""); code != 200 || acct["site_key"] != "acme" {
		t.Fatalf("new key on /account: %d %v", code, acct)
	}
	if code, cf := e.doKey(secret, "POST", "/api/v1/chatflows", `{"name":"W","inbox_id":`+itoa(e.inbox)+`}`); code != http.StatusCreated {
		t.Fatalf("editor key making a chatflow: %d %v", code, cf)
	}

	// Neither read nor list shows the secret or its hash again.
	sum := store.HashToken(secret)
	leaks := []string{secret, base64.StdEncoding.EncodeToString(sum), hex.EncodeToString(sum)}
	for _, path := range []string{"/api/v1/api-keys/" + itoa(id), "/api/v1/api-keys"} {
		res, b := e.raw(e.key, "GET", path, "")
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, res.StatusCode, b)
		}
		for _, s := range leaks {
			if strings.Contains(string(b), s) {
				t.Errorf("GET %s shows the secret or its hash: %s", path, b)
			}
		}
	}
	code, got := e.do("GET", "/api/v1/api-keys/"+itoa(id), "")
	wantKeyShape(t, "GET /api-keys/{id}", got)
	if code != 200 || got["name"] != "CI deploys" || got["role"] != "editor" || got["prefix"] != secret[:10] || got["last_used_at"] == nil {
		t.Errorf("read after use: %d %v", code, got)
	}
	list := e.keyList(e.key)
	if len(list) != 2 || keyIDByPrefix(list, secret) != id || keyIDByPrefix(list, e.key) == 0 {
		t.Fatalf("list: %v", list)
	}
	for _, k := range list {
		wantKeyShape(t, "GET /api-keys", k.(map[string]any))
	}

	// Without a role a key gets the least one.
	if k := e.newKey("Reader", "agent"); k["role"] != "agent" {
		t.Fatalf("agent key: %v", k)
	}
	if code, k := e.do("POST", "/api/v1/api-keys", `{"name":"No role given"}`); code != http.StatusCreated || k["role"] != "agent" {
		t.Fatalf("default role: %d %v", code, k)
	}
}

func TestAPIKeyRevokeIsImmediate(t *testing.T) {
	e := setup(t)
	k := e.newKey("Zapier", "admin")
	secret, path := k["secret"].(string), "/api/v1/api-keys/"+itoa(num(k["id"]))
	if code, _ := e.doKey(secret, "GET", "/api/v1/account", ""); code != 200 {
		t.Fatalf("before revoke: %d", code)
	}
	if code, p := e.do("DELETE", path, ""); code != http.StatusNoContent {
		t.Fatalf("revoke: %d %v", code, p)
	}
	res, _ := e.raw(secret, "GET", "/api/v1/account", "")
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(res.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Fatalf("revoked key: %d %q", res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}
	if code, _ := e.do("GET", path, ""); code != 404 {
		t.Errorf("revoked key read: %d", code)
	}
	if code, _ := e.do("DELETE", path, ""); code != 404 {
		t.Errorf("revoked twice: %d", code)
	}
	if keyIDByPrefix(e.keyList(e.key), secret) != 0 {
		t.Errorf("revoked key still listed")
	}
	if code, _ := e.do("DELETE", "/api/v1/api-keys/abc", ""); code != 404 {
		t.Errorf("malformed id: %d", code)
	}

	// A key may revoke itself: that request completes, the next one fails.
	self := e.newKey("Leaked", "admin")
	selfSecret := self["secret"].(string)
	if code, p := e.doKey(selfSecret, "DELETE", "/api/v1/api-keys/"+itoa(num(self["id"])), ""); code != http.StatusNoContent {
		t.Fatalf("self-revoke: %d %v", code, p)
	}
	if code, _ := e.doKey(selfSecret, "GET", "/api/v1/api-keys", ""); code != http.StatusUnauthorized {
		t.Fatalf("self-revoked key: %d", code)
	}
	if code, _ := e.do("GET", "/api/v1/account", ""); code != 200 {
		t.Fatalf("other keys stop working: %d", code)
	}

	// The last admin key stays: without it nothing could make another.
	// Lower keys go whatever their number.
	agent := e.newKey("Reports", "agent")
	if code, p := e.do("DELETE", "/api/v1/api-keys/"+itoa(num(agent["id"])), ""); code != http.StatusNoContent {
		t.Fatalf("revoke an agent key: %d %v", code, p)
	}
	last := keyIDByPrefix(e.keyList(e.key), e.key)
	if code, p := e.do("DELETE", "/api/v1/api-keys/"+itoa(last), ""); code != http.StatusConflict {
		t.Fatalf("revoking the last admin key: %d %v", code, p)
	}
	if code, _ := e.do("GET", "/api/v1/account", ""); code != 200 {
		t.Fatalf("the last admin key stopped working: %d", code)
	}
}

func TestLowerRoleKeysCannotManageKeys(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	adminID := keyIDByPrefix(e.keyList(e.key), e.key)
	for _, role := range []string{store.RoleEditor, store.RoleAgent} {
		key, err := e.st.CreateAPIKeyWithRole(ctx, e.acct.ID, role+" key", role)
		must(t, err)
		for _, r := range []struct{ method, path, body string }{
			{"POST", "/api/v1/api-keys", `{"name":"Escalate","role":"admin"}`},
			{"POST", "/api/v1/api-keys", `{"nonsense":`}, // refused before the body is read
			{"GET", "/api/v1/api-keys", ""},
			{"GET", "/api/v1/api-keys/" + itoa(adminID), ""},
			{"DELETE", "/api/v1/api-keys/" + itoa(adminID), ""},
		} {
			if code, p := e.doKey(key, r.method, r.path, r.body); code != http.StatusForbidden || p["status"] != 403.0 || p["detail"] == nil {
				t.Errorf("%s key %s %s %s: %d %v", role, r.method, r.path, r.body, code, p)
			}
		}
	}
	// Nothing was made or revoked: the admin key and the two made above.
	if list := e.keyList(e.key); len(list) != 3 || keyIDByPrefix(list, e.key) != adminID {
		t.Fatalf("keys after refused requests: %v", list)
	}
}

func TestAPIKeysOfAnotherAccountAnswer404(t *testing.T) {
	e := setup(t)
	ours := e.newKey("Ours", "admin")
	ourSecret, ourPath := ours["secret"].(string), "/api/v1/api-keys/"+itoa(num(ours["id"]))
	for _, m := range []string{"GET", "DELETE"} {
		if code, p := e.doKey(e.other, m, ourPath, ""); code != 404 {
			t.Errorf("other account %s our key: %d %v", m, code, p)
		}
	}
	if code, _ := e.doKey(ourSecret, "GET", "/api/v1/account", ""); code != 200 {
		t.Fatalf("our key after the other account's DELETE: %d", code)
	}
	theirs := e.keyList(e.other)
	if len(theirs) != 1 || keyIDByPrefix(theirs, e.other) == 0 {
		t.Fatalf("other account lists %v", theirs)
	}

	code, k := e.doKey(e.other, "POST", "/api/v1/api-keys", `{"name":"Theirs","role":"agent"}`)
	if code != http.StatusCreated {
		t.Fatalf("other account creates: %d %v", code, k)
	}
	theirPath := "/api/v1/api-keys/" + itoa(num(k["id"]))
	for _, m := range []string{"GET", "DELETE"} {
		if code, _ := e.do(m, theirPath, ""); code != 404 {
			t.Errorf("we %s their key: %d", m, code)
		}
	}
	if code, acct := e.doKey(k["secret"].(string), "GET", "/api/v1/account", ""); code != 200 || acct["site_key"] == "acme" {
		t.Fatalf("their new key: %d %v", code, acct)
	}
	if list := e.keyList(e.key); len(list) != 2 || keyIDByPrefix(list, k["secret"].(string)) != 0 {
		t.Fatalf("we list %v", list)
	}
}

func TestAPIKeyBadInput(t *testing.T) {
	e := setup(t)
	cases := []struct {
		name, body string
		want       []string
	}{
		{"malformed JSON", `{"name": "x",`, []string{"body"}},
		{"not an object", `["x"]`, []string{"body"}},
		{"unknown field", `{"name":"x","scopes":["all"]}`, []string{"scopes"}},
		{"client-chosen secret", `{"name":"x","secret":"pk_mine"}`, []string{"secret"}},
		{"read-only field", `{"name":"x","prefix":"pk_"}`, []string{"prefix"}},
		{"missing name", `{"role":"agent"}`, []string{"name"}},
		{"blank name", `{"name":"   "}`, []string{"name"}},
		{"overlong name", `{"name":"` + strings.Repeat("n", 201) + `"}`, []string{"name"}},
		{"name not text", `{"name":5}`, []string{"name"}},
		{"unknown role", `{"name":"x","role":"owner"}`, []string{"role"}},
		{"role in capitals", `{"name":"x","role":"Admin"}`, []string{"role"}},
		{"every field bad", `{"role":"root"}`, []string{"name", "role"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, p := e.do("POST", "/api/v1/api-keys", tc.body)
			if code != 400 {
				t.Fatalf("status %d, want 400: %v", code, p)
			}
			if got := fields(p); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("fields %v, want %v (%v)", got, tc.want, p["errors"])
			}
		})
	}
	if list := e.keyList(e.key); len(list) != 1 {
		t.Fatalf("bad input made keys: %v", list)
	}
	// 200 characters is the limit, not 200 bytes.
	if k := e.newKey(strings.Repeat("é", 200), "agent"); k["secret"] == nil {
		t.Fatalf("200-character name: %v", k)
	}
	code, p := e.do("GET", "/api/v1/api-keys?limit=0&cursor=nope&role=admin", "")
	if got := fields(p); code != 400 || !reflect.DeepEqual(got, []string{"cursor", "limit", "role"}) {
		t.Fatalf("bad list query: %d %v", code, p)
	}
}

func TestAPIKeyListPages(t *testing.T) {
	e := setup(t)
	made := []int64{keyIDByPrefix(e.keyList(e.key), e.key)}
	for _, n := range []string{"a", "b", "c", "d"} {
		made = append(made, num(e.newKey(n, "agent")["id"]))
	}
	slices.Reverse(made) // newest first
	var seen []int64
	path := "/api/v1/api-keys?limit=2"
	for page := 0; ; page++ {
		code, p := e.do("GET", path, "")
		if code != 200 || page > 3 {
			t.Fatalf("page %d: %d %v", page, code, p)
		}
		seen = append(seen, ids(p["api_keys"])...)
		next, _ := p["next_cursor"].(string)
		if next == "" {
			break
		}
		path = "/api/v1/api-keys?limit=2&cursor=" + next
	}
	if !reflect.DeepEqual(seen, made) {
		t.Fatalf("pages gave %v, want %v", seen, made)
	}
}

package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/parleychat/parley/backend/internal/api"
	"github.com/parleychat/parley/backend/internal/store"
)

// A Local call is a REST call: the same role table, the same validation
// with its field names, the same version check.
func TestLocalCallsAreRESTCalls(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	l := api.New(e.st, "secret").Local()

	if r := l.Do(ctx, e.acct.ID, store.RoleEditor, "PATCH", "/api/v1/account", []byte(`{"name":"Mine now"}`), nil); r.Status != http.StatusForbidden {
		t.Fatalf("editor changed the account: %d %s", r.Status, r.Body)
	}
	r := l.Do(ctx, e.acct.ID, store.RoleAdmin, "PATCH", "/api/v1/account", []byte(`{"allowed_domains":["not a host!"]}`), nil)
	p := r.Problem()
	if r.Status != http.StatusBadRequest || p == nil || len(p.Errors) == 0 || p.Errors[0].Field != "allowed_domains[0]" {
		t.Fatalf("bad domain: %d %s", r.Status, r.Body)
	}
	r = l.Do(ctx, e.acct.ID, store.RoleAdmin, "GET", "/api/v1/account", nil, nil)
	var acct struct {
		Name string `json:"name"`
	}
	if !r.OK() || r.Decode(&acct) != nil || acct.Name == "" {
		t.Fatalf("admin read: %d %s", r.Status, r.Body)
	}
	// An account that does not exist is refused.
	if r := l.Do(ctx, e.acct.ID+1000, store.RoleAdmin, "GET", "/api/v1/account", nil, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("unknown account: %d %s", r.Status, r.Body)
	}
}

package inbox_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/parleychat/parley/backend/internal/inbox"
	"github.com/parleychat/parley/backend/internal/store"
)

// An email is unique within an account only. Another account's admin can
// neither learn that an address is in use elsewhere nor break its user's
// sign-in or password reset.
func TestEmailsArePerAccount(t *testing.T) {
	e := setup(t, inbox.Config{})
	api, _ := e.backend()
	ctx := context.Background()
	globex := &store.Account{Name: "Globex"}
	if err := e.st.CreateAccount(ctx, globex); err != nil {
		t.Fatal(err)
	}
	key, err := e.st.CreateAPIKeyWithRole(ctx, globex.ID, "admin", store.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	const globexPass = "globex password 1"
	// Acme's agents' addresses are taken in Globex like any other: no 409.
	if st := e.callAPI(api+"/api/v1", key, "POST", "/users", `{"email":"Alice@Example.com","name":"Alice Globex","password":"`+globexPass+`"}`); st != http.StatusCreated {
		t.Fatalf("Globex creating Acme's agent's address: %d", st)
	}
	if st := e.callAPI(api+"/api/v1", key, "POST", "/users", `{"email":"bob@example.com","name":"Bob Globex"}`); st != http.StatusCreated {
		t.Fatalf("Globex creating a password-less user: %d", st)
	}
	// Within one account the address stays unique.
	if st := e.callAPI(api+"/api/v1", key, "POST", "/users", `{"email":"alice@example.com","name":"Alice again"}`); st != http.StatusConflict {
		t.Fatalf("the same address twice in Globex: %d", st)
	}

	// Each password signs in to its own account's user.
	signedInAs := func(pw string) string {
		b := e.browser()
		if p := b.signIn("alice@example.com", pw); p.status != http.StatusSeeOther {
			t.Fatalf("sign in: %d %s", p.status, p.body)
		}
		return b.get("/inbox/account").body
	}
	if page := signedInAs(password); !strings.Contains(page, "Alice Agent") {
		t.Fatal("Acme's password did not sign in to Acme")
	}
	if page := signedInAs(globexPass); !strings.Contains(page, "Alice Globex") {
		t.Fatal("Globex's password did not sign in to Globex")
	}

	// Globex's password-less bob does not break the reset of Acme's bob:
	// the command names both accounts and resets the one named.
	_, err = inbox.ResetPassword(ctx, e.st, "bob@example.com", "")
	var amb *store.AmbiguousEmailError
	if !errors.As(err, &amb) || len(amb.Accounts) != 2 || !strings.Contains(err.Error(), strconv.FormatInt(e.account, 10)) {
		t.Fatalf("reset of a shared address without an account: %v", err)
	}
	if _, err := inbox.ResetPasswordIn(ctx, e.st, "bob@example.com", e.account, "bob's new password"); err != nil {
		t.Fatal(err)
	}
	if !e.canSignIn("bob@example.com", "bob's new password") {
		t.Fatal("Acme's bob cannot sign in after the reset")
	}

	// The same password in both accounts: the form asks which account.
	var globexAlice int64
	e.db.Get(&globexAlice, `SELECT id FROM users WHERE account_id = $1 AND lower(email) = 'alice@example.com'`, globex.ID)
	if st := e.callAPI(api+"/api/v1", key, "PATCH", "/users/"+strconv.FormatInt(globexAlice, 10), `{"password":"`+password+`"}`); st != http.StatusOK {
		t.Fatalf("PATCH: %d", st)
	}
	b := e.browser()
	p := b.signIn("alice@example.com", password)
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="account"`) || !strings.Contains(p.body, "Globex") || !strings.Contains(p.body, "Acme") {
		t.Fatalf("two accounts fit: %d %s", p.status, p.body)
	}
	m := fieldCSRF.FindStringSubmatch(p.body)
	p = b.do("POST", "/inbox/login", url.Values{"csrf_token": {m[1]}, "email": {"alice@example.com"}, "password": {password},
		"account": {strconv.FormatInt(globex.ID, 10)}}, nil)
	if p.status != http.StatusSeeOther || !strings.Contains(b.get("/inbox/account").body, "Alice Globex") {
		t.Fatalf("choosing Globex: %d", p.status)
	}
	// Naming an account whose user has another password fails like any wrong password.
	b = e.browser()
	b.signIn("alice@example.com", "wrong")
	m = fieldCSRF.FindStringSubmatch(b.get("/inbox/login").body)
	p = b.do("POST", "/inbox/login", url.Values{"csrf_token": {m[1]}, "email": {"alice@example.com"}, "password": {globexPass},
		"account": {strconv.FormatInt(e.account, 10)}}, nil)
	if p.status != http.StatusUnauthorized {
		t.Fatalf("Globex's old password for Acme: %d", p.status)
	}
}

package inbox_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parleychat/parley/backend/internal/inbox"
	pwrule "github.com/parleychat/parley/backend/internal/password"
)

const newPassword = "a brand new secret"

// changePassword posts the password form with the browser's CSRF token.
func (b *browser) changePassword(current, next, again string) page {
	return b.post("/inbox/account/password", url.Values{
		"current_password": {current}, "new_password": {next}, "new_password_again": {again}})
}

// canSignIn reports whether a fresh browser signs in as email with pw.
func (e *env) canSignIn(email, pw string) bool {
	e.t.Helper()
	return e.browser().signIn(email, pw).status == http.StatusSeeOther
}

func TestAccountProfile(t *testing.T) {
	e := setup(t, inbox.Config{})
	e.seatInA(e.alice)
	conv, _ := e.conversation(e.inboxA, "Vera")
	a := e.signedIn(e.alice)
	if p := a.post(fmt.Sprintf("/inbox/conversations/%d/assign", conv), url.Values{"assignee": {fmt.Sprint("user:", e.alice.ID)}}); p.status != http.StatusSeeOther {
		t.Fatalf("assign: %d %s", p.status, p.body)
	}

	// Not signed in: the page sends you to sign in.
	if p := e.browser().get("/inbox/account"); p.status != http.StatusSeeOther || !strings.HasPrefix(location(p), "/inbox/login") {
		t.Fatalf("anonymous account page: %d %q", p.status, location(p))
	}
	// Every page links to it; it shows name, email and avatar URL.
	if p := a.get("/inbox"); !strings.Contains(p.body, `href="/inbox/account"`) {
		t.Fatal("no link to My account in the header")
	}
	p := a.get("/inbox/account")
	if p.status != 200 || !strings.Contains(p.body, `value="Alice Agent"`) || !strings.Contains(p.body, "alice@example.com") ||
		!strings.Contains(p.body, `name="avatar_url"`) {
		t.Fatalf("account page: %d\n%s", p.status, p.body)
	}

	// Rename (text escaped) and set an avatar: the header and the list show the new name.
	p = a.post("/inbox/account/profile", url.Values{"name": {"  Alice <b>Best</b>  "}, "avatar_url": {"https://cdn.example/alice.png"}})
	if p.status != http.StatusSeeOther || location(p) != "/inbox/account?saved=profile" {
		t.Fatalf("save profile: %d %q %s", p.status, location(p), p.body)
	}
	if p := a.get(location(p)); !strings.Contains(p.body, "Your profile is saved.") || !strings.Contains(p.body, `value="https://cdn.example/alice.png"`) {
		t.Fatalf("after saving:\n%s", p.body)
	}
	const shown = "Alice &lt;b&gt;Best&lt;/b&gt;"
	list := a.get("/inbox?view=mine")
	if !strings.Contains(list.body, `<span class="who">`+shown+`</span>`) || !strings.Contains(list.body, "Support · "+shown) ||
		strings.Contains(list.body, "<b>Best</b>") {
		t.Fatalf("list after rename:\n%s", list.body)
	}

	// Bad input: a clear message, nothing changed.
	for _, bad := range []struct{ name, avatar, msg string }{
		{"   ", "", "Enter your name."},
		{strings.Repeat("n", 201), "", "at most 200 characters"},
		{"Alice", "javascript:alert(1)", "must be an http or https URL"},
		{"Alice", "ftp://cdn.example/a.png", "must be an http or https URL"},
	} {
		p := a.post("/inbox/account/profile", url.Values{"name": {bad.name}, "avatar_url": {bad.avatar}})
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, bad.msg) {
			t.Errorf("profile %q %q: %d\n%s", bad.name, bad.avatar, p.status, p.body)
		}
	}
	// Without the CSRF token: refused.
	if p := a.do("POST", "/inbox/account/profile", url.Values{"name": {"Mallory"}, "avatar_url": {""}}, nil); p.status != http.StatusForbidden {
		t.Fatalf("profile without CSRF: %d", p.status)
	}
	if p := a.do("POST", "/inbox/account/profile", url.Values{"csrf_token": {"forged"}, "name": {"Mallory"}}, nil); p.status != http.StatusForbidden {
		t.Fatalf("profile with a forged token: %d", p.status)
	}
	u, err := e.st.User(context.Background(), e.account, e.alice.ID)
	if err != nil || u.Name != "Alice <b>Best</b>" || u.AvatarURL != "https://cdn.example/alice.png" || u.PasswordHash != e.alice.PasswordHash {
		t.Fatalf("user after refused changes: %+v %v", u, err)
	}
	// Bob's profile is untouched.
	if b, _ := e.st.User(context.Background(), e.account, e.bob.ID); b.Name != "Bob Agent" {
		t.Fatalf("bob: %+v", b)
	}
}

func TestAccountPasswordChange(t *testing.T) {
	e := setup(t, inbox.Config{})
	a := e.signedIn(e.alice)     // changes the password: stays signed in
	other := e.signedIn(e.alice) // alice elsewhere (or a thief): signed out
	bob := e.signedIn(e.bob)     // another user: untouched

	// Refusals change nothing: the old password still works, the new one does not.
	for _, bad := range []struct {
		name, current, next, again string
		status                     int
		msg                        string
	}{
		{"wrong current", "not my password", newPassword, newPassword, http.StatusUnauthorized, "current password is not correct"},
		{"no current", "", newPassword, newPassword, http.StatusUnprocessableEntity, "Enter your current password."},
		{"mismatch", password, newPassword, newPassword + "!", http.StatusUnprocessableEntity, "confirmation differ"},
		{"short", password, "short", "short", http.StatusUnprocessableEntity, fmt.Sprintf("at least %d characters", pwrule.MinLen)},
		{"too long", password, strings.Repeat("x", 73), strings.Repeat("x", 73), http.StatusUnprocessableEntity, "at most 72 bytes"},
	} {
		p := a.changePassword(bad.current, bad.next, bad.again)
		if p.status != bad.status || !strings.Contains(p.body, bad.msg) || !strings.Contains(p.body, `id="password-error"`) {
			t.Errorf("%s: %d\n%s", bad.name, p.status, p.body)
		}
	}
	// Without the CSRF token: refused.
	form := url.Values{"current_password": {password}, "new_password": {newPassword}, "new_password_again": {newPassword}}
	if p := a.do("POST", "/inbox/account/password", form, nil); p.status != http.StatusForbidden {
		t.Fatalf("password without CSRF: %d", p.status)
	}
	if !e.canSignIn(e.alice.Email, password) || e.canSignIn(e.alice.Email, newPassword) {
		t.Fatal("a refused change changed the password")
	}
	if p := other.get("/inbox"); p.status != 200 {
		t.Fatalf("other session after refusals: %d", p.status)
	}

	// Success: back to the page with a notice, still signed in here.
	p := a.changePassword(password, newPassword, newPassword)
	if p.status != http.StatusSeeOther || location(p) != "/inbox/account?saved=password" {
		t.Fatalf("change: %d %q\n%s", p.status, location(p), p.body)
	}
	if p := a.get(location(p)); p.status != 200 || !strings.Contains(p.body, "Your password is changed.") {
		t.Fatalf("after change: %d\n%s", p.status, p.body)
	}
	if p := a.get("/inbox"); p.status != 200 || !strings.Contains(p.body, "Alice Agent") {
		t.Fatalf("current session after change: %d", p.status)
	}
	// The other session of alice is signed out; bob's is not.
	if p := other.get("/inbox"); p.status != http.StatusSeeOther || !strings.HasPrefix(location(p), "/inbox/login") {
		t.Fatalf("other session after change: %d %q", p.status, location(p))
	}
	if p := bob.get("/inbox"); p.status != 200 {
		t.Fatalf("bob after alice's change: %d", p.status)
	}
	// The new password signs in, the old one no longer does.
	if !e.canSignIn(e.alice.Email, newPassword) {
		t.Fatal("the new password does not sign in")
	}
	if e.canSignIn(e.alice.Email, password) {
		t.Fatal("the old password still signs in")
	}
	// The page still works with the current session's CSRF token.
	if p := a.changePassword(newPassword, password, password); p.status != http.StatusSeeOther {
		t.Fatalf("change back: %d", p.status)
	}
}

func TestAccountPasswordGuessesAreThrottled(t *testing.T) {
	e := setup(t, inbox.Config{LoginMaxFailures: 3})
	a := e.signedIn(e.alice)
	for i := 0; i < 3; i++ {
		if p := a.changePassword(fmt.Sprint("guess ", i), newPassword, newPassword); p.status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, p.status)
		}
	}
	// The guesses count as failed sign-ins: even the right password is refused
	// on the page and on the sign-in form, with a clear reason.
	if p := a.changePassword(password, newPassword, newPassword); p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "Too many wrong passwords") {
		t.Fatalf("throttled change: %d\n%s", p.status, p.body)
	}
	if p := e.browser().signIn(e.alice.Email, password); p.status != http.StatusTooManyRequests {
		t.Fatalf("sign-in after guesses on the account page: %d", p.status)
	}
	// Nothing changed: an admin's reset (which clears the throttle) aside,
	// the stored password is still the old one.
	u, _ := e.st.User(context.Background(), e.account, e.alice.ID)
	if u.PasswordHash != e.alice.PasswordHash {
		t.Fatal("the password changed while throttled")
	}
	// Bob is not affected.
	if !e.canSignIn(e.bob.Email, password) {
		t.Fatal("bob throttled")
	}
}

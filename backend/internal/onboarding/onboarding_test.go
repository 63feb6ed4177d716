package onboarding_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/onboarding"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func good() onboarding.Input {
	return onboarding.Input{Company: "Acme Bikes", Domains: []string{"Shop.Acme.example", "*.acme.example", "shop.acme.example"},
		Timezone: "Europe/Amsterdam", Language: "nl", AdminName: "Ana Admin", AdminEmail: "ana@acme.example",
		AdminPassword: "correct horse battery"}
}

// refs says every id exists, for validating the chatflow a new account gets.
type refs struct{}

func (refs) ChatInbox(int64) (bool, bool) { return true, true }
func (refs) User(int64) bool              { return true }
func (refs) Team(int64) bool              { return true }
func (refs) Bot(int64) bool               { return true }

// TestCreateMakesAWorkingAccount: one call makes the account, its domains,
// the admin with a seat who can sign in, the inbox with the admin in it,
// a published chatflow that passes the REST validation, and an admin key.
func TestCreateMakesAWorkingAccount(t *testing.T) {
	ctx := context.Background()
	st := store.New(dbtest.New(t))
	res, err := onboarding.Create(ctx, st, good(), onboarding.Options{PublicURL: "https://chat.acme.example/"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.SiteKey, "site_") || len(res.SiteKey) < 16 {
		t.Fatalf("site key %q is not random", res.SiteKey)
	}
	if want := `<script src="https://chat.acme.example/loader.js" data-site="` + res.SiteKey + `" async></script>`; res.ScriptTag != want {
		t.Fatalf("script tag %s, want %s", res.ScriptTag, want)
	}
	if got := strings.Join(res.CSP, "; "); got != "script-src https://chat.acme.example 'wasm-unsafe-eval'; connect-src https://chat.acme.example wss://chat.acme.example; style-src https://chat.acme.example; img-src https://chat.acme.example" {
		t.Fatalf("CSP %s", got)
	}
	acct, role, err := st.APIKeyWithRole(ctx, res.APIKey)
	if err != nil || acct.ID != res.AccountID || role != store.RoleAdmin {
		t.Fatalf("api key: %+v %q %v", acct, role, err)
	}
	if acct.Name != "Acme Bikes" || acct.CompanyName != "Acme Bikes" || acct.CompanyDomain != "shop.acme.example" || acct.Timezone != "Europe/Amsterdam" {
		t.Fatalf("account %+v", acct)
	}
	if ds, _ := st.AllowedDomains(ctx, acct.ID); strings.Join(ds, ",") != "shop.acme.example,*.acme.example" {
		t.Fatalf("allowed domains %q", ds)
	}
	admin, err := st.UserByLogin(ctx, "ANA@acme.example")
	if err != nil || admin.ID != res.AdminUserID || admin.Role != store.RoleAdmin || !admin.HasSeat || admin.AccountID != acct.ID {
		t.Fatalf("admin %+v %v", admin, err)
	}
	if bcrypt.CompareHashAndPassword([]byte(admin.PasswordHash), []byte("correct horse battery")) != nil {
		t.Fatal("the admin's password does not match")
	}
	in, err := st.Inbox(ctx, acct.ID, res.InboxID)
	if err != nil || !in.HasChatChannel || len(in.MemberIDs) != 1 || in.MemberIDs[0] != admin.ID {
		t.Fatalf("inbox %+v %v", in, err)
	}
	row, err := st.ChatflowByPublicID(ctx, res.ChatflowID)
	if err != nil || row.AccountID != acct.ID || row.InboxID != in.ID || !row.Enabled {
		t.Fatalf("chatflow %+v %v", row, err)
	}
	cf, err := chatflow.FromRow(row)
	if err != nil {
		t.Fatal(err)
	}
	if err := cf.Validate(refs{}); err != nil {
		t.Fatalf("the new chatflow fails validation: %v", err)
	}
	if cf.Language != "nl" || cf.Welcome.Messages["nl"] != onboarding.Welcome["nl"] || cf.Availability.Mode != chatflow.ModeUserAvailability ||
		!cf.Options.CookieConsent.Enabled || !cf.Options.DataConsent.Enabled || cf.Look.Heading.BrandName != "Acme Bikes" {
		t.Fatalf("chatflow settings %+v", cf)
	}
}

// TestCreateNamesEveryBadField: each bad answer is named with a message,
// and nothing is created.
func TestCreateNamesEveryBadField(t *testing.T) {
	ctx := context.Background()
	st := store.New(dbtest.New(t))
	in := onboarding.Input{Company: "  ", Domains: []string{"https://shop.example/path", "ok.example"}, Timezone: "Mars/Olympus",
		Language: "xx", AdminName: "", AdminEmail: "not-an-email", AdminPassword: "short"}
	_, err := onboarding.Create(ctx, st, in, onboarding.Options{PublicURL: "http://x"})
	var bad problem.Errors
	if !errors.As(err, &bad) {
		t.Fatalf("want field errors, got %v", err)
	}
	got := map[string]string{}
	for _, f := range bad {
		got[f.Field] = f.Message
	}
	for _, f := range []string{"company", "domains", "timezone", "language", "admin_name", "admin_email", "admin_password"} {
		if got[f] == "" {
			t.Errorf("no message for %s (got %v)", f, got)
		}
	}
	if !strings.Contains(got["domains"], `"https://shop.example/path"`) || strings.Contains(got["domains"], "ok.example") {
		t.Errorf("the domains message should name the bad entry only: %s", got["domains"])
	}
	if has, _ := st.HasAccounts(ctx); has {
		t.Fatal("an account was created from bad input")
	}
	in = good()
	in.Domains = nil
	if _, err := onboarding.Create(ctx, st, in, onboarding.Options{}); !errors.As(err, &bad) || bad[0].Field != "domains" {
		t.Fatalf("no domains: %v", err)
	}
}

// TestTwoAccountsAndOneLogin: two accounts are independent; emails are
// unique per account only, so an admin email that signs in to another
// account makes a second, separate admin (sign-in tells them apart by
// password, or asks which account).
func TestTwoAccountsAndOneLogin(t *testing.T) {
	ctx := context.Background()
	st := store.New(dbtest.New(t))
	a, err := onboarding.Create(ctx, st, good(), onboarding.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := good()
	in.Company, in.AdminEmail = "Other Co", "olga@other.example"
	b, err := onboarding.Create(ctx, st, in, onboarding.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.AccountID == b.AccountID || a.SiteKey == b.SiteKey || a.APIKey == b.APIKey || a.InboxID == b.InboxID {
		t.Fatalf("accounts share something: %+v %+v", a, b)
	}
	in.Company, in.AdminEmail = "Third Co", "Ana@Acme.example"
	c, err := onboarding.Create(ctx, st, in, onboarding.Options{})
	if err != nil || c.AccountID == a.AccountID || c.AdminUserID == a.AdminUserID {
		t.Fatalf("a second account's admin with the same email: %+v %v", c, err)
	}
	if us, err := st.UsersByLogin(ctx, "ana@acme.example"); err != nil || len(us) != 2 {
		t.Fatalf("users signing in as ana: %d %v", len(us), err)
	}
}

// TestSetupTokenWorksOnce: any handed-out token opens setup while no
// account exists; the first setup uses them all up; unknown tokens never work.
func TestSetupTokenWorksOnce(t *testing.T) {
	ctx := context.Background()
	st := store.New(dbtest.New(t))
	var logged strings.Builder
	url, err := onboarding.AnnounceSetup(ctx, st, "https://chat.example", logTo(&logged))
	if err != nil || !strings.HasPrefix(url, "https://chat.example/setup?token=") || !strings.Contains(logged.String(), url) {
		t.Fatalf("announce: %q %v, log %s", url, err, logged.String())
	}
	token := strings.TrimPrefix(url, "https://chat.example/setup?token=")
	other, _ := st.CreateSetupToken(ctx) // a second backend's
	for _, tok := range []string{token, other} {
		if ok, err := st.SetupTokenValid(ctx, tok); !ok || err != nil {
			t.Fatalf("token not valid before setup: %v", err)
		}
	}
	if ok, _ := st.SetupTokenValid(ctx, "made-up"); ok {
		t.Fatal("a made-up token opens setup")
	}
	if _, err := onboarding.Create(ctx, st, good(), onboarding.Options{SetupToken: "made-up"}); !errors.Is(err, store.ErrSetupToken) {
		t.Fatalf("made-up token: %v", err)
	}
	if _, err := onboarding.Create(ctx, st, good(), onboarding.Options{SetupToken: other}); err != nil {
		t.Fatal(err)
	}
	if _, err := onboarding.Create(ctx, st, good(), onboarding.Options{SetupToken: token}); !errors.Is(err, store.ErrAlreadySetUp) {
		t.Fatalf("setup after setup: %v", err)
	}
	if ok, _ := st.SetupTokenValid(ctx, token); ok {
		t.Fatal("a token still opens setup after an account exists")
	}
	if url, err := onboarding.AnnounceSetup(ctx, st, "https://chat.example", logTo(&logged)); url != "" || err != nil {
		t.Fatalf("a setup link with an account: %q %v", url, err)
	}
}

// TestInvitation: a link works once, a new one revokes the old, an expired
// one is refused, and a user with a password gets none.
func TestInvitation(t *testing.T) {
	ctx := context.Background()
	db := dbtest.New(t)
	st := store.New(db)
	res, err := onboarding.Create(ctx, st, good(), onboarding.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bob := &store.User{AccountID: res.AccountID, Email: "bob@acme.example", Name: "Bob"}
	if err := st.CreateUser(ctx, bob); err != nil {
		t.Fatal(err)
	}
	old, _, err := onboarding.CreateInvitation(ctx, st, "https://chat.example", res.AccountID, bob.ID, 0)
	if err != nil || !strings.HasPrefix(old, "https://chat.example/inbox/invite/") {
		t.Fatalf("invitation %q %v", old, err)
	}
	link, expires, err := onboarding.CreateInvitation(ctx, st, "https://chat.example", res.AccountID, bob.ID, 0)
	if err != nil || time.Until(expires) < 7*24*time.Hour-time.Minute || time.Until(expires) > 7*24*time.Hour+time.Minute {
		t.Fatalf("second invitation: expires %v, %v", expires, err)
	}
	tokenOf := func(l string) string { return strings.TrimPrefix(l, "https://chat.example/inbox/invite/") }
	if _, err := st.InvitedUser(ctx, tokenOf(old)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the replaced link still works: %v", err)
	}
	if u, err := st.InvitedUser(ctx, tokenOf(link)); err != nil || u.ID != bob.ID {
		t.Fatalf("invited user %+v %v", u, err)
	}
	if _, err := st.AcceptInvitation(ctx, tokenOf(link), "$2a$hash"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AcceptInvitation(ctx, tokenOf(link), "$2a$other"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a used link works again: %v", err)
	}
	if _, _, err := onboarding.CreateInvitation(ctx, st, "", res.AccountID, bob.ID, 0); !errors.Is(err, store.ErrHasPassword) {
		t.Fatalf("an invitation for a user with a password: %v", err)
	}
	if _, _, err := onboarding.CreateInvitation(ctx, st, "", res.AccountID+1000, bob.ID, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an invitation from another account: %v", err)
	}

	cy := &store.User{AccountID: res.AccountID, Email: "cy@acme.example", Name: "Cy"}
	if err := st.CreateUser(ctx, cy); err != nil {
		t.Fatal(err)
	}
	link, _, _ = onboarding.CreateInvitation(ctx, st, "", res.AccountID, cy.ID, time.Hour)
	db.MustExec(`UPDATE user_invitations SET expires_at = now() - interval '1 second' WHERE user_id = $1`, cy.ID)
	if _, err := st.AcceptInvitation(ctx, strings.TrimPrefix(link, "/inbox/invite/"), "$2a$hash"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an expired link works: %v", err)
	}
}

func logTo(b *strings.Builder) *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

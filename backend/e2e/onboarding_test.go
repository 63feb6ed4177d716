package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/backend/internal/onboarding"
)

// setupURLRE finds the setup link a backend logs on an empty database.
var setupURLRE = regexp.MustCompile(`https?://[^\s"]+/setup\?token=[A-Za-z0-9_-]+`)

// setupURL waits for backend n's log to show the setup link.
func setupURL(t *testing.T, n *Node) string {
	t.Helper()
	var u string
	waitFor(t, "the setup link in the log of "+n.Name, 10*time.Second, func() bool {
		u = setupURLRE.FindString(n.Log())
		return u != ""
	})
	return u
}

// rest calls the admin REST API through the edge with key.
func rest(t *testing.T, edge, key, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, edge+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	json.Unmarshal(raw, &out)
	return res.StatusCode, out
}

// hostPage serves a page carrying tag on another origin than the edge
// (http://localhost:PORT, while the edge is at 127.0.0.1), under the
// Content-Security-Policy csp when it is not empty.
func hostPage(t *testing.T, tag, csp string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if csp != "" {
			w.Header().Set("Content-Security-Policy", csp)
		}
		fmt.Fprintf(w, "<!doctype html><html lang=en><head><meta charset=utf-8><title>Acme Bikes</title></head><body><h1>Acme Bikes</h1><p>Bikes.</p>%s</body></html>", tag)
	}))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return "http://localhost:" + fmt.Sprint(l.Addr().(*net.TCPAddr).Port) + "/"
}

// fill sets form fields by id (replacing what they hold).
func fill(values map[string]string) chromedp.Action[chromedp.Void] {
	b, _ := json.Marshal(values)
	return js(`for (const [id, v] of Object.entries(` + string(b) + `)) document.getElementById(id).value = v`)
}

// TestCleanInstall: a first install in real processes and Chromium. The
// backend on an empty database logs a setup link; the setup form names
// each bad answer beside its field and keeps what was typed; the good
// answers make an account whose API key works and whose script tag, put on
// a page of another origin that sends the setup page's CSP lines, lets a
// visitor chat with the new admin, who signs in to the inbox and answers.
// The setup link is refused afterwards.
//
// PARLEY_RELEASE_BIN names a folder of release binaries to install instead
// of the ones the harness builds.
func TestCleanInstall(t *testing.T) {
	// Two backends, each with its own setup link; the edge proxies to the
	// first, and the second's link works there.
	c := StartCluster(t, ClusterOptions{Empty: true, Backends: 2, EdgeBackend: func(int) int { return 0 }, BinDir: os.Getenv("PARLEY_RELEASE_BIN")})
	edge := c.Edges[0].URL
	link := setupURL(t, c.Backends[1])
	if !strings.HasPrefix(link, edge+"/setup?token=") {
		t.Fatalf("setup link %s is not on the edge %s", link, edge)
	}
	if first := setupURL(t, c.Backends[0]); first == link {
		t.Fatal("two backends logged the same setup token")
	}
	for _, b := range c.Backends {
		if n := strings.Count(b.Log(), "/setup?token="); n != 1 {
			t.Fatalf("%s logs the setup link %d times", b.Name, n)
		}
	}

	// A form posted from elsewhere (no CSRF cookie) is refused, even with the token.
	token := link[strings.Index(link, "token=")+len("token="):]
	if r, err := http.PostForm(edge+"/setup", map[string][]string{"token": {token}, "csrf_token": {"x"}, "company": {"Evil"},
		"domains": {"evil.example"}, "timezone": {"UTC"}, "admin_name": {"Eve"}, "admin_email": {"eve@evil.example"},
		"admin_password": {"eve-password-1"}}); err != nil || r.StatusCode != http.StatusForbidden {
		t.Fatalf("setup without the CSRF cookie: %v %v", r, err)
	}

	admin := Tab(t)
	runT(t, admin, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"})
		return err
	}), chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("setup")))
	waitJS(t, admin, "the time zone from the browser", `document.getElementById('setup-timezone').value === 'Asia/Tokyo'`, 5*time.Second)

	// Every answer wrong: each field says why, and what was typed stays.
	runT(t, admin, fill(map[string]string{
		"setup-company": "", "setup-domains": "https://acme.example/shop, localhost", "setup-timezone": "Mars/Olympus_Mons",
		"setup-admin-name": "  ", "setup-admin-email": "ana-at-acme", "setup-admin-password": "short",
	}))
	runT(t, admin, chromedp.Click(chromedp.CSS(`[data-action=setup]`)))
	waitJS(t, admin, "the field messages", `!!document.getElementById('error-admin_password')`, 10*time.Second)
	for field, want := range map[string]string{
		"company":        "Enter your company's name.",
		"domains":        `"https://acme.example/shop"`,
		"timezone":       "IANA name",
		"admin_name":     "Enter your name.",
		"admin_email":    "email address",
		"admin_password": "at least 10 characters",
	} {
		got := evalString(t, admin, fmt.Sprintf(`(document.getElementById('error-%s')||{}).textContent||''`, field))
		if !strings.Contains(got, want) {
			t.Errorf("message beside %s: %q, want it to say %q", field, got, want)
		}
	}
	if got := evalString(t, admin, `['setup-domains','setup-timezone','setup-admin-email'].map(id => document.getElementById(id).value).join('|')`); got != "https://acme.example/shop, localhost|Mars/Olympus_Mons|ana-at-acme" {
		t.Fatalf("typed values not kept: %q", got)
	}
	if n := evalString(t, admin, `String(document.querySelectorAll('#setup .error').length)`); n != "6" {
		t.Fatalf("%s messages on the form, want 6", n)
	}
	if has, _ := c.Store.HasAccounts(context.Background()); has {
		t.Fatal("a bad form created an account")
	}

	// The good answers.
	runT(t, admin, fill(map[string]string{
		"setup-company": "Acme Bikes", "setup-domains": "localhost, shop.acme.example", "setup-timezone": "Europe/Amsterdam",
		"setup-admin-name": "Ana Admin", "setup-admin-email": "ana@acme.example", "setup-admin-password": "ana-password-1",
	}))
	runT(t, admin, chromedp.Click(chromedp.CSS(`[data-action=setup]`)))
	waitJS(t, admin, "the finished setup", `!!document.getElementById('api-key')`, 15*time.Second)
	tag := evalString(t, admin, `document.getElementById('script-tag').textContent`)
	key := strings.TrimSpace(evalString(t, admin, `document.getElementById('api-key').textContent`))
	csp := evalString(t, admin, `document.getElementById('csp').textContent`)
	site := regexp.MustCompile(`data-site="([^"]+)"`).FindStringSubmatch(tag)
	if site == nil || !strings.HasPrefix(tag, `<script src="`+edge+`/loader.js" data-site="site_`) {
		t.Fatalf("script tag %q", tag)
	}
	host := strings.TrimPrefix(edge, "http://")
	for _, want := range []string{"script-src " + edge + " 'wasm-unsafe-eval';", "connect-src " + edge + " ws://" + host + ";", "style-src " + edge + ";", "img-src " + edge + ";"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP lines %q lack %q", csp, want)
		}
	}
	code, acct := rest(t, edge, key, "GET", "/api/v1/account", nil)
	if code != 200 || acct["site_key"] != site[1] || acct["company_name"] != "Acme Bikes" || acct["timezone"] != "Europe/Amsterdam" ||
		fmt.Sprint(acct["allowed_domains"]) != "[localhost shop.acme.example]" {
		t.Fatalf("the API key on /api/v1/account: %d %v", code, acct)
	}

	// Setup is over: the link is refused, as is any other token.
	for _, u := range []string{link, setupURL(t, c.Backends[0]), edge + "/setup?token=guess"} {
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusGone || !strings.Contains(string(body), "set up already") {
			t.Fatalf("setup after setup: %d %s", res.StatusCode, body)
		}
	}
	runT(t, admin, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("setup-refused")))
	// Setup signed its admin in.
	runT(t, admin, chromedp.Navigate(edge+"/inbox"))
	waitJS(t, admin, "the admin in the inbox after setup", `document.querySelector('.who') && document.querySelector('.who').textContent === 'Ana Admin'`, 10*time.Second)

	// The admin signs in to the inbox with the password chosen at setup.
	agent := Tab(t)
	runT(t, agent,
		chromedp.Navigate(edge+"/inbox/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "ana@acme.example"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "ana-password-1"),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
	)
	waitJS(t, agent, "the inbox list", `location.pathname === '/inbox' && document.querySelector('.who').textContent === 'Ana Admin'`, 10*time.Second)

	// A visitor on the site (another origin) chats with the new admin.
	// The site sends a strict policy with the setup page's lines added.
	page := hostPage(t, tag, "default-src 'self'; "+strings.ReplaceAll(strings.TrimSpace(csp), "\n", " "))
	visitor := Tab(t)

	runT(t, visitor, chromedp.Navigate(page))
	waitJS(t, visitor, "the widget", `window.Parley && Parley.status() === 'ready'`, 20*time.Second)
	runT(t, visitor, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=launcher]')`)))
	waitJS(t, visitor, "the chat window", shadow+`.querySelector('[data-parley=window]').hidden === false`, 5*time.Second)
	waitJS(t, visitor, "the welcome message", shadow+`.querySelector('[data-parley=welcome]').textContent.includes(`+fmt.Sprintf("%q", onboarding.Welcome["en"])+`)`, 5*time.Second)
	visitorSays(t, visitor, "Do you have red bikes?")
	waitJS(t, visitor, "the visitor's message sent", `[...`+shadow+`.querySelectorAll('[data-parley=message][data-from=visitor]')].some(m => m.dataset.state === 'sent')`, 10*time.Second)

	waitJS(t, agent, "the conversation in the list", `document.querySelector('[data-conversation]')`, 10*time.Second)
	runT(t, agent, chromedp.Click(chromedp.CSS(`[data-conversation]`)))
	waitJS(t, agent, "the message in the thread", threadHas("Do you have red bikes?"), 10*time.Second)
	runT(t, agent,
		chromedp.WaitVisible(chromedp.CSS(`#live-status[data-state=live]`)),
		chromedp.SendKeys(chromedp.CSS(`#reply textarea[name=text]`), "Yes, in every size!"),
		chromedp.Click(chromedp.CSS(`#reply [data-action=send]`)),
	)
	waitJS(t, visitor, "the admin's reply", widgetHas("agent", "Yes, in every size!"), 10*time.Second)
}

// createAccount runs parley-backend create-account against the cluster's database.
func createAccount(t *testing.T, c *Cluster, stdin string, env []string, args ...string) (map[string]any, string, error) {
	t.Helper()
	bin, _ := binaries(t)
	cmd := exec.Command(filepath.Join(bin, "parley-backend"), append([]string{"create-account"}, args...)...)
	cmd.Env = append(append(os.Environ(), "DATABASE_URL="+c.DSN, "PUBLIC_URL="+c.Edges[0].URL), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var out map[string]any
	if err == nil {
		if jerr := json.Unmarshal(stdout.Bytes(), &out); jerr != nil {
			t.Fatalf("create-account printed no JSON: %v\n%s", jerr, stdout.String())
		}
	}
	return out, stderr.String(), err
}

// TestCreateAccountCommand: two accounts from the command line are two
// isolated accounts whose printed API keys work; bad flags name each
// problem and create nothing; the setup link is refused once one exists.
func TestCreateAccountCommand(t *testing.T) {
	c := StartCluster(t, ClusterOptions{Empty: true})
	edge := c.Edges[0].URL
	link := setupURL(t, c.Backends[0])

	_, stderr, err := createAccount(t, c, "", nil, "--company", "Bad", "--domains", "http://x.example/", "--timezone", "Nowhere/Town",
		"--admin-name", "B", "--admin-email", "b@", "--admin-password", "short")
	for _, want := range []string{"--domains:", "--timezone:", "--admin-email:", "--admin-password:", "nothing was created"} {
		if err == nil || !strings.Contains(stderr, want) {
			t.Errorf("bad flags: %v, stderr lacks %q:\n%s", err, want, stderr)
		}
	}
	if has, _ := c.Store.HasAccounts(context.Background()); has {
		t.Fatal("bad flags created an account")
	}

	a, stderr, err := createAccount(t, c, "alpha-password-1\n", nil, "--company", "Alpha Shop", "--domains", "alpha.example,www.alpha.example",
		"--timezone", "Europe/Berlin", "--admin-name", "Alma", "--admin-email", "alma@alpha.example", "--language", "de")
	if err != nil {
		t.Fatalf("create-account: %v\n%s", err, stderr)
	}
	b, stderr, err := createAccount(t, c, "", []string{"PARLEY_ADMIN_PASSWORD=beta-password-1"}, "--company", "Beta Store", "--domains", "beta.example",
		"--admin-name", "Bert", "--admin-email", "bert@beta.example")
	if err != nil {
		t.Fatalf("create-account: %v\n%s", err, stderr)
	}
	for _, r := range []map[string]any{a, b} {
		for _, k := range []string{"account_id", "site_key", "admin_user_id", "api_key", "script_tag"} {
			if r[k] == nil || r[k] == "" {
				t.Fatalf("the JSON lacks %s: %v", k, r)
			}
		}
	}
	if a["account_id"] == b["account_id"] || a["site_key"] == b["site_key"] || a["api_key"] == b["api_key"] {
		t.Fatalf("two accounts share an id or a key: %v %v", a, b)
	}
	if want := fmt.Sprintf(`<script src="%s/loader.js" data-site="%s" async></script>`, edge, a["site_key"]); a["script_tag"] != want {
		t.Fatalf("script tag %v, want %s", a["script_tag"], want)
	}
	for _, tc := range []struct {
		r            map[string]any
		name, domain string
		admin        string
	}{{a, "Alpha Shop", "alpha.example", "alma@alpha.example"}, {b, "Beta Store", "beta.example", "bert@beta.example"}} {
		key := tc.r["api_key"].(string)
		code, acct := rest(t, edge, key, "GET", "/api/v1/account", nil)
		if code != 200 || acct["name"] != tc.name || acct["site_key"] != tc.r["site_key"] || acct["company_domain"] != tc.domain {
			t.Fatalf("%s's key on /api/v1/account: %d %v", tc.name, code, acct)
		}
		code, users := rest(t, edge, key, "GET", "/api/v1/users", nil)
		list, _ := users["users"].([]any)
		if code != 200 || len(list) != 1 || list[0].(map[string]any)["email"] != tc.admin || list[0].(map[string]any)["role"] != "admin" {
			t.Fatalf("%s's users: %d %v", tc.name, code, users)
		}
	}
	// Alpha's key cannot reach Beta's admin.
	if code, _ := rest(t, edge, a["api_key"].(string), "GET", fmt.Sprintf("/api/v1/users/%v", b["admin_user_id"]), nil); code != 404 {
		t.Fatalf("alpha's key reads beta's admin: %d", code)
	}
	// The chatflow speaks the chosen language.
	code, flows := rest(t, edge, a["api_key"].(string), "GET", "/api/v1/chatflows", nil)
	if list, _ := flows["chatflows"].([]any); code != 200 || len(list) != 1 || list[0].(map[string]any)["language"] != "de" || list[0].(map[string]any)["enabled"] != true {
		t.Fatalf("alpha's chatflows: %d %v", code, flows)
	}
	// Emails are unique per account only: the same admin email makes a
	// separate admin of a third account, and Alpha still sees only its own.
	g, stderr, err := createAccount(t, c, "", []string{"PARLEY_ADMIN_PASSWORD=gamma-password-1"}, "--company", "Gamma", "--domains", "gamma.example",
		"--admin-name", "Alma", "--admin-email", "ALMA@alpha.example")
	if err != nil || g["account_id"] == a["account_id"] || g["admin_user_id"] == a["admin_user_id"] {
		t.Fatalf("a third account with Alpha's admin email: %v %v %s", g, err, stderr)
	}
	if code, users := rest(t, edge, a["api_key"].(string), "GET", "/api/v1/users", nil); code != 200 || len(users["users"].([]any)) != 1 {
		t.Fatalf("alpha's users after gamma: %d %v", code, users)
	}
	// An account exists: the first-run setup link is refused.
	if res, err := http.Get(link); err != nil || res.StatusCode != http.StatusGone {
		t.Fatalf("setup after create-account: %v %v", res, err)
	}
}

// TestInvitedAgent: an admin adds an agent without a password and gets a
// link; the agent sets a password there and is signed in; the used link
// is refused, as is an expired one; the password works on the sign-in page.
func TestInvitedAgent(t *testing.T) {
	c := StartCluster(t, ClusterOptions{Empty: true})
	edge := c.Edges[0].URL
	res, err := onboarding.Create(context.Background(), c.Store, onboarding.Input{Company: "Acme", Domains: []string{"acme.example"},
		Timezone: "UTC", AdminName: "Ana", AdminEmail: "ana@acme.example", AdminPassword: "ana-password-1"}, onboarding.Options{PublicURL: edge})
	if err != nil {
		t.Fatal(err)
	}
	code, u := rest(t, edge, res.APIKey, "POST", "/api/v1/users", map[string]any{"email": "bob@acme.example", "name": "Bob Agent", "has_seat": true})
	link, _ := u["invitation_url"].(string)
	if code != 201 || !strings.HasPrefix(link, edge+"/inbox/invite/") {
		t.Fatalf("create agent: %d %v", code, u)
	}

	bob := Tab(t)
	runT(t, bob, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("invite")))
	if got := evalString(t, bob, `document.getElementById('invite-email').textContent`); got != "bob@acme.example" {
		t.Fatalf("the invitation is for %q", got)
	}
	runT(t, bob,
		chromedp.SendKeys(chromedp.ID("new-password"), "bob-password-1"),
		chromedp.SendKeys(chromedp.ID("new-password-again"), "bob-password-2"),
		chromedp.Click(chromedp.CSS(`[data-action=set-password]`)),
	)
	waitJS(t, bob, "the mismatch message", `(document.getElementById('invite-error')||{textContent:''}).textContent.includes('differ')`, 10*time.Second)
	runT(t, bob,
		chromedp.SendKeys(chromedp.ID("new-password"), "bob-password-1"),
		chromedp.SendKeys(chromedp.ID("new-password-again"), "bob-password-1"),
		chromedp.Click(chromedp.CSS(`[data-action=set-password]`)),
	)
	waitJS(t, bob, "signed in to the inbox", `location.pathname === '/inbox' && document.querySelector('.who').textContent === 'Bob Agent'`, 10*time.Second)

	// The link is used up.
	runT(t, bob, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("invite-refused")))
	if r, err := http.Get(link); err != nil || r.StatusCode != http.StatusGone {
		t.Fatalf("a used link: %v %v", r, err)
	}

	// The new password signs in (in a browser of its own).
	again := Tab(t)
	runT(t, again,
		chromedp.Navigate(edge+"/inbox/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "bob@acme.example"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "bob-password-1"),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
	)
	waitJS(t, again, "Bob signed in with his new password", `location.pathname === '/inbox' && document.querySelector('.who').textContent === 'Bob Agent'`, 10*time.Second)

	// An expired link is refused, and so is setting a password through it.
	code, u = rest(t, edge, res.APIKey, "POST", "/api/v1/users", map[string]any{"email": "cy@acme.example", "name": "Cy"})
	late, _ := u["invitation_url"].(string)
	if code != 201 || late == "" {
		t.Fatalf("create agent: %d %v", code, u)
	}
	cy := Tab(t)
	runT(t, cy, chromedp.Navigate(late), chromedp.WaitVisible(chromedp.ID("invite")))
	c.DB.MustExec(`UPDATE user_invitations SET expires_at = now() - interval '1 second' WHERE user_id = $1`, int64(u["id"].(float64)))
	runT(t, cy,
		chromedp.SendKeys(chromedp.ID("new-password"), "cy-password-12"),
		chromedp.SendKeys(chromedp.ID("new-password-again"), "cy-password-12"),
		chromedp.Click(chromedp.CSS(`[data-action=set-password]`)),
	)
	runT(t, cy, chromedp.WaitVisible(chromedp.ID("invite-refused")))
	var hash string
	c.DB.Get(&hash, `SELECT password_hash FROM users WHERE email = 'cy@acme.example'`)
	if hash != "" {
		t.Fatal("an expired link set a password")
	}
	// A fresh link works again.
	code, inv := rest(t, edge, res.APIKey, "POST", fmt.Sprintf("/api/v1/users/%v/invitation", u["id"]), nil)
	if fresh, _ := inv["invitation_url"].(string); code != 201 || fresh == "" || fresh == late {
		t.Fatalf("fresh invitation: %d %v", code, inv)
	}
}

package inbox_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/api"
	"github.com/parleychat/parley/backend/internal/chat"
	"github.com/parleychat/parley/backend/internal/inbox"
	"github.com/parleychat/parley/backend/internal/proxies"
)

// behind serves the env's inbox, admin API and visitor attachments wired
// as the server wires them (security headers, forwarding headers believed
// from trusted proxies only), trusting the proxies in trusted. It returns
// the server's URL. The test client connects from 127.0.0.1.
func (e *env) behind(trusted string, cfg inbox.Config) string {
	e.t.Helper()
	tr, err := proxies.Parse(trusted)
	if err != nil {
		e.t.Fatal(err)
	}
	r := gin.New()
	r.Use(proxies.SecurityHeaders)
	eng := chat.New(e.st, nil, chat.Config{})
	r.Any(chat.AttachmentPath+"/:id", gin.WrapH(eng.AttachmentHandler()))
	inbox.New(e.st, nil, cfg).Register(r)
	api.New(e.st, "").Register(r)
	h, err := tr.Wrap(r)
	if err != nil {
		e.t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	e.t.Cleanup(srv.Close)
	return srv.URL
}

// signInAs fills in the sign-in form at base with extra request headers
// (what a proxy in front would add).
func (b *browser) signInAs(email, pw string, hdr map[string]string) page {
	b.e.t.Helper()
	p := b.do("GET", "/inbox/login", nil, hdr)
	m := fieldCSRF.FindStringSubmatch(p.body)
	if m == nil {
		b.e.t.Fatalf("login page: %d %s", p.status, p.body)
	}
	return b.do("POST", "/inbox/login", url.Values{"csrf_token": {m[1]}, "email": {email}, "password": {pw}}, hdr)
}

func from(addr string) map[string]string { return map[string]string{"X-Forwarded-For": addr} }

// An attacker failing from one address cannot keep the agent out from
// another; the attacker's address is throttled, per agent and overall.
func TestSignInThrottleCannotLockTheAgentOut(t *testing.T) {
	e := setup(t, inbox.Config{})
	base := e.behind(proxies.DefaultTrusted, inbox.Config{})
	attacker := &browser{e: e, c: e.browser().c, base: base}
	const addrA, addrB = "198.51.100.7", "203.0.113.9"
	for i := 0; i < 12; i++ {
		p := attacker.signInAs(e.alice.Email, fmt.Sprint("guess ", i), from(addrA))
		want := http.StatusUnauthorized
		if i >= inbox.DefaultLoginMaxFailures {
			want = http.StatusTooManyRequests
		}
		if p.status != want {
			t.Fatalf("guess %d from A: %d, want %d", i, p.status, want)
		}
	}
	// The agent, from their own address, signs in at once.
	agent := &browser{e: e, c: e.browser().c, base: base}
	if p := agent.signInAs(e.alice.Email, password, from(addrB)); p.status != http.StatusSeeOther {
		t.Fatalf("agent from B: %d %s", p.status, p.body)
	}
	// The attacker stays throttled for alice, even with her right password.
	if p := attacker.signInAs(e.alice.Email, password, from(addrA)); p.status != http.StatusTooManyRequests {
		t.Fatalf("right password from the throttled pair: %d", p.status)
	}
	// Spraying other emails from A meets the looser per-address limit.
	status := 0
	for i := 0; i < inbox.DefaultLoginMaxFailuresPerIP && status != http.StatusTooManyRequests; i++ {
		status = attacker.signInAs(fmt.Sprintf("user%d@example.com", i), "guess", from(addrA)).status
	}
	if status != http.StatusTooManyRequests {
		t.Fatalf("spraying from A never throttled: %d", status)
	}
	if p := attacker.signInAs(e.bob.Email, password, from(addrA)); p.status != http.StatusTooManyRequests {
		t.Fatalf("bob from the throttled address: %d", p.status)
	}
	if p := (&browser{e: e, c: e.browser().c, base: base}).signInAs(e.bob.Email, password, from(addrB)); p.status != http.StatusSeeOther {
		t.Fatalf("bob from B: %d", p.status)
	}
}

// A client that is not a trusted proxy cannot choose its address, host or
// scheme with forwarding headers.
func TestForwardingHeadersOnlyFromTrustedProxies(t *testing.T) {
	e := setup(t, inbox.Config{})
	direct := e.behind("192.0.2.1", inbox.Config{}) // the test client (127.0.0.1) is not a proxy here
	b := &browser{e: e, c: e.browser().c, base: direct}
	for i := 0; i < inbox.DefaultLoginMaxFailures; i++ {
		hdr := map[string]string{"X-Forwarded-For": fmt.Sprintf("198.51.100.%d", i), "X-Real-IP": fmt.Sprintf("203.0.113.%d", i)}
		if p := b.signInAs(e.alice.Email, "guess", hdr); p.status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, p.status)
		}
	}
	// Counted by the real address: a fresh forged one does not help.
	if p := b.signInAs(e.alice.Email, password, from("192.0.2.200")); p.status != http.StatusTooManyRequests {
		t.Fatalf("forged address escaped the throttle: %d", p.status)
	}
	var addrs []string
	e.db.Select(&addrs, `SELECT DISTINCT ip FROM login_failures`)
	if len(addrs) != 1 || addrs[0] != "127.0.0.1" {
		t.Fatalf("failures recorded under %q, want the peer's 127.0.0.1", addrs)
	}
	// A forged scheme does not make the cookie Secure; a trusted proxy's does.
	p := (&browser{e: e, c: e.browser().c, base: direct}).signInAs(e.bob.Email, password, map[string]string{"X-Forwarded-Proto": "https"})
	if c := cookie(p.resp, inbox.SessionCookie); c == nil || c.Secure {
		t.Fatalf("cookie after a forged X-Forwarded-Proto: %+v", c)
	}
	proxied := e.behind(proxies.DefaultTrusted, inbox.Config{})
	p = (&browser{e: e, c: e.browser().c, base: proxied}).signInAs(e.bob.Email, password, map[string]string{"X-Forwarded-Proto": "https"})
	if c := cookie(p.resp, inbox.SessionCookie); c == nil || !c.Secure {
		t.Fatalf("cookie over HTTPS behind a trusted proxy: %+v", c)
	}
	// A forged X-Forwarded-Host does not let a foreign page open the live socket.
	bob := e.signedIn(e.bob)
	bob.base = direct
	if _, resp, err := bob.dialAt(direct, "http://evil.example", "evil.example"); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin socket with a forged X-Forwarded-Host: %v", err)
	}
}

// Every answer carries the security headers; private files are not cached.
func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	e := setup(t, inbox.Config{})
	base := e.behind(proxies.DefaultTrusted, inbox.Config{})
	conv, _ := e.conversation(e.inboxA, "Vera")
	a := e.signedIn(e.alice)
	path := fmt.Sprintf("/inbox/conversations/%d", conv)
	a.get(path)
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 32)...)
	if p := a.sendFile(path+"/attachments", "shot.png", png, true); p.status != http.StatusSeeOther {
		t.Fatalf("upload: %d", p.status)
	}
	var pub string
	e.db.Get(&pub, `SELECT public_id FROM attachments WHERE conversation_id = $1`, conv)
	a.base = base
	key := e.adminKey()

	check := func(name string, resp *http.Response, wantStatus int) {
		t.Helper()
		if resp.StatusCode != wantStatus {
			t.Errorf("%s: status %d, want %d", name, resp.StatusCode, wantStatus)
		}
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || h.Get("X-Frame-Options") != "DENY" ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" {
			t.Errorf("%s: security headers missing: CSP %q, XFO %q, XCTO %q, RP %q", name, csp,
				h.Get("X-Frame-Options"), h.Get("X-Content-Type-Options"), h.Get("Referrer-Policy"))
		}
	}
	check("sign-in page", a.get("/inbox/login").resp, http.StatusSeeOther)
	check("list", a.get("/inbox").resp, http.StatusOK)
	check("thread", a.get(path).resp, http.StatusOK)
	check("unknown page", a.get("/inbox/nope").resp, http.StatusNotFound)
	check("asset", a.get("/static/inbox/inbox.js").resp, http.StatusOK)
	dl := a.get("/inbox/attachments/" + pub)
	check("agent download", dl.resp, http.StatusOK)
	if cc := dl.resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") || !strings.Contains(cc, "private") {
		t.Errorf("agent download Cache-Control %q, want private, no-store", cc)
	}
	for _, c := range []struct {
		name, path string
		status     int
	}{{"API", "/api/v1/account", http.StatusOK}, {"API 404", "/api/v1/nope", http.StatusNotFound}} {
		req, _ := http.NewRequest("GET", base+c.path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		check(c.name, resp, c.status)
	}
	resp, err := http.Get(base + chat.AttachmentPath + "/att_nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	check("visitor download", resp, http.StatusUnauthorized)
}

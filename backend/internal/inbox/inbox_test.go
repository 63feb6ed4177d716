package inbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"

	"github.com/parleychat/parley/backend/internal/api"
	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/backend/internal/inbox"
	pwrule "github.com/parleychat/parley/backend/internal/password"
	"github.com/parleychat/parley/backend/internal/store"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const password = "correct horse battery"

// env is one test's world: a real database, bus and HTTP server, one account
// with two inboxes; alice is in inbox A, bob in inbox B.
type env struct {
	t            testing.TB
	dsn          string
	db           *sqlx.DB
	st           *store.Store
	srv          *httptest.Server
	account      int64
	inboxA       int64
	inboxB       int64
	alice, bob   *store.User
	visitorCount int
}

func setup(t testing.TB, cfg inbox.Config) *env {
	t.Helper()
	dsn := dbtest.URL(t)
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	bus, err := events.Listen(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	st := store.New(db)
	st.SetNotifier(bus.Send) // as the server wires it: this process's writes reach its sockets directly
	gin.SetMode(gin.TestMode)
	r := gin.New()
	if cfg.REST == nil {
		cfg.REST = api.New(st, "").Local() // the console's saves, as the server wires them
	}
	inbox.New(st, bus, cfg).Register(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	e := &env{t: t, dsn: dsn, db: db, st: st, srv: srv}
	ctx := context.Background()
	acc := &store.Account{Name: "Acme"}
	if err := st.CreateAccount(ctx, acc); err != nil {
		t.Fatal(err)
	}
	e.account = acc.ID
	hash, err := pwrule.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	e.alice = &store.User{AccountID: acc.ID, Email: "alice@example.com", Name: "Alice Agent", PasswordHash: hash}
	e.bob = &store.User{AccountID: acc.ID, Email: "bob@example.com", Name: "Bob Agent", PasswordHash: hash}
	for _, u := range []*store.User{e.alice, e.bob} {
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	a := &store.Inbox{AccountID: acc.ID, Name: "Support", HasChatChannel: true, MemberIDs: []int64{e.alice.ID}}
	b := &store.Inbox{AccountID: acc.ID, Name: "Sales", HasChatChannel: true, MemberIDs: []int64{e.bob.ID}}
	for _, in := range []*store.Inbox{a, b} {
		if err := st.CreateInbox(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	e.inboxA, e.inboxB = a.ID, b.ID
	return e
}

// conversation inserts a visitor and an open conversation in inboxID.
func (e *env) conversation(inboxID int64, visitorName string) (id int64, publicID string) {
	e.t.Helper()
	e.visitorCount++
	var visitor int64
	err := e.db.QueryRow(`INSERT INTO visitors (account_id, token_hash, name) VALUES ($1, $2, $3) RETURNING id`,
		e.account, store.HashToken(fmt.Sprintf("visitor-%d", e.visitorCount)), visitorName).Scan(&visitor)
	if err != nil {
		e.t.Fatal(err)
	}
	publicID = store.NewPublicID("conv")
	err = e.db.QueryRow(`INSERT INTO conversations (account_id, public_id, inbox_id, visitor_id, page_url)
		VALUES ($1, $2, $3, $4, 'https://shop.example/pricing') RETURNING id`, e.account, publicID, inboxID, visitor).Scan(&id)
	if err != nil {
		e.t.Fatal(err)
	}
	return id, publicID
}

// say appends a visitor message, as the chat backend would.
func (e *env) say(conv int64, text string) *store.Message {
	e.t.Helper()
	m, _, err := e.st.AppendMessage(context.Background(), store.NewMessage{ConversationID: conv, AuthorType: store.AuthorVisitor, Body: text})
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// browser is an HTTP client with a cookie jar that does not follow redirects.
type browser struct {
	e    *env
	c    *http.Client
	csrf string // the session's token, from the last page's meta tag
	base string // the server's URL when not e.srv's
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{
		Jar:           jar,
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type page struct {
	status int
	body   string
	resp   *http.Response
}

func (b *browser) do(method, path string, form url.Values, header map[string]string) page {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	base := b.e.srv.URL
	if b.base != "" {
		base = b.base
	}
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if m := metaCSRF.FindStringSubmatch(string(raw)); m != nil {
		b.csrf = m[1]
	}
	return page{resp.StatusCode, string(raw), resp}
}

func (b *browser) get(path string) page { return b.do("GET", path, nil, nil) }

var (
	fieldCSRF = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	metaCSRF  = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)
	clientID  = regexp.MustCompile(`name="client_id" value="([^"]+)"`)
)

// signIn fills in the sign-in form like a person would.
func (b *browser) signIn(email, pw string) page {
	b.e.t.Helper()
	p := b.get("/inbox/login")
	m := fieldCSRF.FindStringSubmatch(p.body)
	if p.status != 200 || m == nil {
		b.e.t.Fatalf("login page: %d %s", p.status, p.body)
	}
	return b.do("POST", "/inbox/login", url.Values{"csrf_token": {m[1]}, "email": {email}, "password": {pw}}, nil)
}

func (e *env) signedIn(u *store.User) *browser {
	e.t.Helper()
	b := e.browser()
	if p := b.signIn(u.Email, password); p.status != http.StatusSeeOther {
		e.t.Fatalf("sign in: %d %s", p.status, p.body)
	}
	b.get("/inbox") // picks up the CSRF token
	return b
}

func cookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func location(p page) string { return p.resp.Header.Get("Location") }

func TestSignIn(t *testing.T) {
	e := setup(t, inbox.Config{})
	b := e.browser()

	// Not signed in: the inbox sends you to the sign-in form.
	if p := b.get("/inbox"); p.status != http.StatusSeeOther || !strings.HasPrefix(location(p), "/inbox/login") {
		t.Fatalf("anonymous /inbox: %d %q", p.status, location(p))
	}

	// A wrong password and an unknown email look exactly alike.
	wrong := b.signIn("alice@example.com", "nope")
	unknown := b.signIn("nobody@example.com", "nope")
	for _, p := range []page{wrong, unknown} {
		if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "Email or password is incorrect.") {
			t.Fatalf("bad sign-in: %d %s", p.status, p.body)
		}
		if cookie(p.resp, inbox.SessionCookie) != nil {
			t.Fatal("a failed sign-in set a session cookie")
		}
	}
	strip := func(s string) string {
		return fieldCSRF.ReplaceAllString(strings.ReplaceAll(s, "nobody@", "alice@"), "")
	}
	if strip(wrong.body) != strip(unknown.body) {
		t.Fatal("the answers to a wrong password and an unknown email differ")
	}

	// Right password (email in another case): a session cookie with safe flags.
	p := b.signIn("Alice@Example.com", password)
	if p.status != http.StatusSeeOther || location(p) != "/inbox" {
		t.Fatalf("sign in: %d %q", p.status, location(p))
	}
	c := cookie(p.resp, inbox.SessionCookie)
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Value == "" {
		t.Fatalf("session cookie: %+v", c)
	}
	if c.MaxAge < 11*3600 || c.MaxAge > 12*3600 {
		t.Fatalf("session cookie lasts %ds, want 12h", c.MaxAge)
	}
	// Only the hash of the secret is stored.
	var stored int
	e.db.Get(&stored, `SELECT count(*) FROM user_sessions WHERE id_hash = $1 AND user_id = $2`, store.HashToken(c.Value), e.alice.ID)
	var plain int
	e.db.Get(&plain, `SELECT count(*) FROM user_sessions WHERE id_hash = $1`, []byte(c.Value))
	if stored != 1 || plain != 0 {
		t.Fatalf("sessions by hash %d, by plain secret %d", stored, plain)
	}
	if p := b.get("/inbox"); p.status != 200 || !strings.Contains(p.body, "Alice Agent") {
		t.Fatalf("inbox after sign-in: %d", p.status)
	}
	// Signed in, the sign-in page goes straight to the inbox.
	if p := b.get("/inbox/login"); p.status != http.StatusSeeOther {
		t.Fatalf("login page when signed in: %d", p.status)
	}
}

func TestSignInRedirectsBackButNeverAway(t *testing.T) {
	e := setup(t, inbox.Config{})
	conv, _ := e.conversation(e.inboxA, "Vera")
	b := e.browser()
	p := b.get(fmt.Sprintf("/inbox/conversations/%d", conv))
	next := location(p)
	if !strings.Contains(next, "next=") {
		t.Fatalf("no next in %q", next)
	}
	lp := b.get(next)
	m := fieldCSRF.FindStringSubmatch(lp.body)
	nm := regexp.MustCompile(`name="next" value="([^"]*)"`).FindStringSubmatch(lp.body)
	for _, target := range []struct{ next, want string }{
		{"//evil.example/x", "/inbox"},
		{"https://evil.example/inbox", "/inbox"},
		{"/inbox/../%2Fevil.example/..%2Fdemo", "/inbox"},
		{"/inbox/..%2F..%2F%2Fevil.example", "/inbox"},
		{"/inbox/%2e%2e/%2e%2e//evil.example", "/inbox"},
		{"/inbox/../../evil.example", "/inbox"},
		{"/inbox/%5C%5Cevil.example", "/inbox"},
		{"/\\evil.example/inbox", "/inbox"},
		{"/inbox/\\evil.example", "/inbox"},
		{"/inbox//evil.example/x", "/inbox/evil.example/x"},
		{"/inbox/%0d%0aSet-Cookie:x=y", "/inbox/%0D%0ASet-Cookie:x=y"},
		{"/inbox/login?next=//evil.example", "/inbox"},
		{"/inbox/./replies", "/inbox/replies"},
		{"https:/inbox", "/inbox"},
		{"/inbox?view=mine", "/inbox?view=mine"},
		{strings.ReplaceAll(nm[1], "&#43;", "+"), fmt.Sprintf("/inbox/conversations/%d", conv)},
	} {
		b2 := e.browser()
		lp := b2.get("/inbox/login")
		m = fieldCSRF.FindStringSubmatch(lp.body)
		p := b2.do("POST", "/inbox/login", url.Values{"csrf_token": {m[1]}, "email": {"alice@example.com"}, "password": {password}, "next": {target.next}}, nil)
		if location(p) != target.want {
			t.Errorf("next %q: went to %q, want %q", target.next, location(p), target.want)
		}
		// Signed in already, the sign-in page redirects on the same rule.
		if p := b2.get("/inbox/login?next=" + url.QueryEscape(target.next)); location(p) != target.want {
			t.Errorf("signed in, next %q: went to %q, want %q", target.next, location(p), target.want)
		}
	}
}

func TestSecureCookies(t *testing.T) {
	e := setup(t, inbox.Config{SecureCookies: true, SessionLifetime: time.Hour})
	// The cookie jar would not send Secure cookies over http, so look at the answer only.
	p := e.browser().signIn("alice@example.com", password)
	c := cookie(p.resp, inbox.SessionCookie)
	if c == nil || !c.Secure || c.MaxAge != 3600 {
		t.Fatalf("cookie: %+v", c)
	}
}

func TestLoginNeedsCSRF(t *testing.T) {
	e := setup(t, inbox.Config{})
	b := e.browser()
	b.get("/inbox/login") // sets the cookie half
	p := b.do("POST", "/inbox/login", url.Values{"email": {"alice@example.com"}, "password": {password}}, nil)
	if p.status != http.StatusForbidden || cookie(p.resp, inbox.SessionCookie) != nil {
		t.Fatalf("sign-in without token: %d", p.status)
	}
	// A token not matching the cookie (a cross-site form) fails too.
	p = b.do("POST", "/inbox/login", url.Values{"csrf_token": {store.NewToken()}, "email": {"alice@example.com"}, "password": {password}}, nil)
	if p.status != http.StatusForbidden {
		t.Fatalf("sign-in with a forged token: %d", p.status)
	}
}

func TestLogout(t *testing.T) {
	e := setup(t, inbox.Config{})
	b := e.signedIn(e.alice)
	u, _ := url.Parse(e.srv.URL + "/inbox")
	secret := b.c.Jar.Cookies(u)[0].Value

	// Without the token: refused, still signed in.
	if p := b.do("POST", "/inbox/logout", url.Values{}, nil); p.status != http.StatusForbidden {
		t.Fatalf("logout without token: %d", p.status)
	}
	if p := b.do("POST", "/inbox/logout", url.Values{"csrf_token": {"wrong"}}, nil); p.status != http.StatusForbidden {
		t.Fatalf("logout with a wrong token: %d", p.status)
	}
	if p := b.get("/inbox"); p.status != 200 {
		t.Fatalf("signed out by a forged request: %d", p.status)
	}

	p := b.do("POST", "/inbox/logout", url.Values{"csrf_token": {b.csrf}}, nil)
	if p.status != http.StatusSeeOther || location(p) != "/inbox/login" {
		t.Fatalf("logout: %d %q", p.status, location(p))
	}
	if c := cookie(p.resp, inbox.SessionCookie); c == nil || c.MaxAge >= 0 {
		t.Fatalf("logout did not clear the cookie: %+v", c)
	}
	if p := b.get("/inbox"); p.status != http.StatusSeeOther {
		t.Fatalf("/inbox after logout: %d", p.status)
	}
	// The old secret is dead on the server too, not just forgotten by the browser.
	old := e.browser()
	old.c.Jar.SetCookies(u, []*http.Cookie{{Name: inbox.SessionCookie, Value: secret, Path: "/inbox"}})
	if p := old.get("/inbox"); p.status != http.StatusSeeOther {
		t.Fatalf("old session secret after logout: %d", p.status)
	}
}

func TestExpiredSessionRedirects(t *testing.T) {
	e := setup(t, inbox.Config{})
	b := e.signedIn(e.alice)
	if _, err := e.db.Exec(`UPDATE user_sessions SET expires_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	p := b.get("/inbox")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(location(p), "/inbox/login") {
		t.Fatalf("expired session: %d %q", p.status, location(p))
	}
	// The script's fetch gets a 401 it can act on.
	if p := b.do("GET", "/inbox", nil, map[string]string{"Accept": "application/json"}); p.status != http.StatusUnauthorized {
		t.Fatalf("expired session, JSON: %d", p.status)
	}
	var n int
	e.db.Get(&n, `SELECT count(*) FROM user_sessions`)
	if n != 0 {
		t.Fatalf("%d expired sessions left", n)
	}
}

func TestListShowsOnlyOwnInboxes(t *testing.T) {
	e := setup(t, inbox.Config{})
	mine, minePub := e.conversation(e.inboxA, "Vera Visitor")
	e.say(mine, "Where is my parcel?")
	theirs, _ := e.conversation(e.inboxB, "Otto Outsider")
	e.say(theirs, "Sales question")
	closed, _ := e.conversation(e.inboxA, "Clara Closed")
	e.db.Exec(`UPDATE conversations SET status = 'closed' WHERE id = $1`, closed)
	newer, _ := e.conversation(e.inboxA, "Nina Newer")
	e.say(newer, "Hello?")

	p := e.signedIn(e.alice).get("/inbox")
	if p.status != 200 {
		t.Fatalf("list: %d", p.status)
	}
	if !strings.Contains(p.body, `data-conversation="`+minePub+`" href="/inbox/conversations/`+fmt.Sprint(mine)+`"`) ||
		!strings.Contains(p.body, "Vera Visitor") || !strings.Contains(p.body, "Where is my parcel?") {
		t.Fatalf("own conversation missing:\n%s", p.body)
	}
	if strings.Contains(p.body, "Otto Outsider") || strings.Contains(p.body, "Sales question") {
		t.Fatal("list shows a conversation of another inbox")
	}
	if strings.Contains(p.body, "Clara Closed") {
		t.Fatal("list shows a closed conversation")
	}
	if strings.Index(p.body, "Nina Newer") > strings.Index(p.body, "Vera Visitor") {
		t.Fatal("newest activity is not first")
	}
}

func TestThreadAccess(t *testing.T) {
	e := setup(t, inbox.Config{})
	conv, _ := e.conversation(e.inboxA, "Vera")
	e.say(conv, "secret of inbox A")
	bob := e.signedIn(e.bob)
	p := bob.get(fmt.Sprintf("/inbox/conversations/%d", conv))
	if p.status != http.StatusForbidden || strings.Contains(p.body, "secret of inbox A") {
		t.Fatalf("outsider sees thread: %d", p.status)
	}
	p = bob.do("POST", fmt.Sprintf("/inbox/conversations/%d/messages", conv), url.Values{"csrf_token": {bob.csrf}, "text": {"hi"}}, nil)
	if p.status != http.StatusForbidden {
		t.Fatalf("outsider replies: %d", p.status)
	}
	for _, path := range []string{"/inbox/conversations/999999", "/inbox/conversations/abc"} {
		if p := bob.get(path); p.status != http.StatusNotFound {
			t.Fatalf("%s: %d", path, p.status)
		}
	}
	var n int
	e.db.Get(&n, `SELECT count(*) FROM messages WHERE conversation_id = $1`, conv)
	if n != 1 {
		t.Fatalf("%d messages after refused reply", n)
	}
}

func TestReply(t *testing.T) {
	e := setup(t, inbox.Config{})
	conv, _ := e.conversation(e.inboxA, "Vera")
	e.say(conv, "Can you help?")
	b := e.signedIn(e.alice)
	path := fmt.Sprintf("/inbox/conversations/%d", conv)
	th := b.get(path)
	if !strings.Contains(th.body, `<form id="reply" method="post" action="`+path+`/messages">`) ||
		!strings.Contains(th.body, `<textarea id="reply-text" name="text"`) || !strings.Contains(th.body, `data-action="send"`) {
		t.Fatalf("reply form missing:\n%s", th.body)
	}
	cid := clientID.FindStringSubmatch(th.body)[1]

	// No CSRF token: refused, nothing stored.
	if p := b.do("POST", path+"/messages", url.Values{"text": {"sneaky"}, "client_id": {cid}}, nil); p.status != http.StatusForbidden {
		t.Fatalf("reply without token: %d", p.status)
	}
	// Empty: a clear error, on the thread page.
	p := b.do("POST", path+"/messages", url.Values{"csrf_token": {b.csrf}, "text": {"   "}, "client_id": {cid}}, nil)
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "Write a reply before sending.") {
		t.Fatalf("empty reply: %d", p.status)
	}
	// Too long: the error, and the text is still in the box.
	long := strings.Repeat("ab", 2001) + "<b>end</b>"
	p = b.do("POST", path+"/messages", url.Values{"csrf_token": {b.csrf}, "text": {long}, "client_id": {cid}}, nil)
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "the limit is 4000") ||
		!strings.Contains(p.body, strings.Repeat("ab", 2001)+"&lt;b&gt;end&lt;/b&gt;</textarea>") {
		t.Fatalf("long reply: %d\n%s", p.status, p.body)
	}
	var n int
	e.db.Get(&n, `SELECT count(*) FROM messages WHERE conversation_id = $1`, conv)
	if n != 1 {
		t.Fatalf("refused replies stored: %d messages", n)
	}

	// A good reply is stored, goes back to the thread and shows there.
	form := url.Values{"csrf_token": {b.csrf}, "text": {"  Of course, Vera!  "}, "client_id": {cid}}
	p = b.do("POST", path+"/messages", form, nil)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(location(p), path) {
		t.Fatalf("reply: %d %q", p.status, location(p))
	}
	// Sent twice (a double click, a retry): stored once.
	b.do("POST", path+"/messages", form, nil)
	var rows []store.Message
	e.db.Select(&rows, `SELECT m.*, '' AS author_name FROM messages m WHERE conversation_id = $1 AND author_type = 'agent'`, conv)
	if len(rows) != 1 || rows[0].Body != "Of course, Vera!" || *rows[0].AuthorID != e.alice.ID || *rows[0].ClientID != cid || rows[0].Internal {
		t.Fatalf("stored replies: %+v", rows)
	}
	th = b.get(path)
	if !regexp.MustCompile(`data-seq="2" data-from="agent">\s*<div class="head"><span class="avatar" aria-hidden="true">AA</span><span class="name">Alice Agent</span>`).MatchString(th.body) ||
		!strings.Contains(th.body, "Of course, Vera!") {
		t.Fatalf("reply not in thread:\n%s", th.body)
	}

	// The script's fetch gets JSON, with the token in a header.
	p = b.do("POST", path+"/messages", url.Values{"text": {"Looking into it"}, "client_id": {"js-1"}, "internal": {"1"}},
		map[string]string{"X-CSRF-Token": b.csrf, "Accept": "application/json"})
	var ack struct {
		Seq int64  `json:"seq"`
		ID  string `json:"id"`
	}
	if err := json.Unmarshal([]byte(p.body), &ack); p.status != 200 || err != nil || ack.Seq != 3 || ack.ID != "js-1" {
		t.Fatalf("fetch reply: %d %s", p.status, p.body)
	}
	th = b.get(path)
	if !strings.Contains(th.body, `class="msg note" data-seq="3" data-from="agent" data-internal="1"`) || !strings.Contains(th.body, "Internal note") {
		t.Fatalf("internal note not marked:\n%s", th.body)
	}
	p = b.do("POST", path+"/messages", url.Values{"text": {""}}, map[string]string{"X-CSRF-Token": b.csrf, "Accept": "application/json"})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "Write a reply") {
		t.Fatalf("empty fetch reply: %d %s", p.status, p.body)
	}
}

func TestVisitorTextIsEscaped(t *testing.T) {
	e := setup(t, inbox.Config{})
	conv, _ := e.conversation(e.inboxA, `<img src=x onerror=alert(2)>`)
	e.say(conv, `<script>alert(1)</script>`)
	e.say(conv, `<img src=x onerror=alert(1)>`)
	b := e.signedIn(e.alice)
	for _, path := range []string{"/inbox", fmt.Sprintf("/inbox/conversations/%d", conv)} {
		p := b.get(path)
		if strings.Contains(p.body, "<script>alert") || strings.Contains(p.body, "<img") {
			t.Fatalf("%s renders visitor HTML:\n%s", path, p.body)
		}
		if !strings.Contains(p.body, "&lt;img src=x onerror=alert(") {
			t.Fatalf("%s lost the visitor's text:\n%s", path, p.body)
		}
	}
	th := b.get(fmt.Sprintf("/inbox/conversations/%d", conv))
	if !strings.Contains(th.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatal("script text not shown escaped")
	}
	if csp := th.resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Fatalf("CSP: %q", csp)
	}
}

func TestThreadPages(t *testing.T) {
	e := setup(t, inbox.Config{})
	conv, _ := e.conversation(e.inboxA, "Vera")
	for i := 1; i <= 60; i++ {
		e.say(conv, fmt.Sprintf("message number %d.", i))
	}
	b := e.signedIn(e.alice)
	seqs := regexp.MustCompile(`data-seq="(\d+)"`)
	p := b.get(fmt.Sprintf("/inbox/conversations/%d", conv))
	got := seqs.FindAllStringSubmatch(p.body, -1)
	if len(got) != 50 || got[0][1] != "11" || got[49][1] != "60" {
		t.Fatalf("first page shows %d messages from %v", len(got), got[0])
	}
	older := regexp.MustCompile(`href="(/inbox/conversations/\d+\?before=11)">Older`).FindStringSubmatch(p.body)
	if older == nil || !strings.Contains(p.body, `data-live="1"`) {
		t.Fatal("no older link or not live")
	}
	p = b.get(older[1])
	got = seqs.FindAllStringSubmatch(p.body, -1)
	if len(got) != 10 || got[0][1] != "1" || got[9][1] != "10" || strings.Contains(p.body, "Older messages") || strings.Contains(p.body, `data-live`) {
		t.Fatalf("older page: %v", got)
	}
}

func TestAssetsCached(t *testing.T) {
	e := setup(t, inbox.Config{})
	b := e.browser()
	p := b.get("/inbox/login")
	href := regexp.MustCompile(`href="(/static/inbox/inbox\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(p.body)
	if href == nil || !strings.Contains(p.body, `src="/static/inbox/inbox.js?v=`) {
		t.Fatalf("no versioned assets in page:\n%s", p.body)
	}
	css := b.get(href[1])
	if css.status != 200 || !strings.Contains(css.resp.Header.Get("Content-Type"), "text/css") ||
		!strings.Contains(css.resp.Header.Get("Cache-Control"), "immutable") || !strings.Contains(css.body, "#thread") {
		t.Fatalf("css: %d %v", css.status, css.resp.Header)
	}
	again := b.do("GET", "/static/inbox/inbox.css", nil, map[string]string{"If-None-Match": css.resp.Header.Get("ETag")})
	if again.status != http.StatusNotModified {
		t.Fatalf("revalidation: %d", again.status)
	}
	if p := b.get("/static/inbox/nope.js"); p.status != 404 {
		t.Fatalf("missing asset: %d", p.status)
	}
}

// dial opens the live socket as b from a page of origin; a non-empty
// forwardedHost is what a reverse proxy in front would report.
func (b *browser) dial(t *testing.T, origin string, forwardedHost ...string) (*websocket.Conn, *http.Response, error) {
	return b.dialAt(b.e.srv.URL, origin, forwardedHost...)
}

// dialAt is dial to the server at base.
func (b *browser) dialAt(base, origin string, forwardedHost ...string) (*websocket.Conn, *http.Response, error) {
	return b.dialPath(base, "/inbox/ws", origin, forwardedHost...)
}

// dialPath is dialAt with the socket's path and query.
func (b *browser) dialPath(base, path, origin string, forwardedHost ...string) (*websocket.Conn, *http.Response, error) {
	u, _ := url.Parse(base + "/inbox")
	h := http.Header{}
	h.Set("Origin", origin)
	for _, fh := range forwardedHost {
		h.Set("X-Forwarded-Host", fh)
	}
	for _, c := range b.c.Jar.Cookies(u) {
		h.Add("Cookie", c.Name+"="+c.Value)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+path, &websocket.DialOptions{HTTPHeader: h})
}

// frame is a frame of the live socket as the tests read it.
type frame struct {
	Type         string         `json:"type"`
	Conversation int64          `json:"conversation"`
	Seq          int64          `json:"seq"`
	From         string         `json:"from"`
	Name         string         `json:"name"`
	Text         string         `json:"text"`
	Internal     bool           `json:"internal"`
	At           string         `json:"at"`
	State        string         `json:"state"`
	Items        []liveRow      `json:"items"`
	AlertItems   []liveRow      `json:"alert_items"`
	Removed      []string       `json:"removed"`
	Counts       map[string]int `json:"counts"`
	File         *struct {
		URL  string `json:"url"`
		Name string `json:"name"`
	} `json:"file"`
}

// read returns the next frame other than a view-count update (readCounts
// reads those).
func read(t *testing.T, c *websocket.Conn, within time.Duration) frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		var f frame
		if err := wsjson.Read(ctx, c, &f); err != nil {
			t.Fatalf("no frame within %v: %v", within, err)
		}
		if f.Type != "counts" {
			return f
		}
	}
}

func TestLiveThread(t *testing.T) {
	e := setup(t, inbox.Config{})
	conv, _ := e.conversation(e.inboxA, "Vera")
	e.say(conv, "first")
	e.say(conv, "second")
	b := e.signedIn(e.alice)
	c, _, err := b.dial(t, e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	// Resuming after seq 1: the missed message comes first.
	wsjson.Write(context.Background(), c, map[string]any{"type": "subscribe", "conversation": conv, "last_seq": 1})
	if f := read(t, c, time.Second); f.Seq != 2 || f.Text != "second" || f.From != "visitor" || f.Name != "Vera" {
		t.Fatalf("catch-up: %+v", f)
	}

	// Another writer (the visitor's backend) appends: it arrives within a second.
	start := time.Now()
	e.say(conv, "<b>are you there?</b>")
	f := read(t, c, time.Second)
	if f.Type != "message" || f.Seq != 3 || f.Text != "<b>are you there?</b>" || f.Conversation != conv {
		t.Fatalf("pushed: %+v", f)
	}
	t.Logf("pushed after %v", time.Since(start))

	// Agents' notes reach agents too.
	e.st.AppendMessage(context.Background(), store.NewMessage{ConversationID: conv, AuthorType: store.AuthorAgent, AuthorID: e.bob.ID, Internal: true, Body: "VIP"})
	if f := read(t, c, time.Second); f.Seq != 4 || !f.Internal || f.Name != "Bob Agent" {
		t.Fatalf("note: %+v", f)
	}

	// Someone else's inbox cannot be followed.
	other, _ := e.conversation(e.inboxB, "Otto")
	wsjson.Write(context.Background(), c, map[string]any{"type": "subscribe", "conversation": other})
	if f := read(t, c, time.Second); f.Type != "error" {
		t.Fatalf("subscribe to another inbox: %+v", f)
	}
}

func TestLiveList(t *testing.T) {
	e := setup(t, inbox.Config{})
	b := e.signedIn(e.alice)
	c, _, err := b.dial(t, e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	wsjson.Write(context.Background(), c, map[string]any{"type": "list"})
	if f := read(t, c, time.Second); f.Type != "list" || len(f.Items) != 0 {
		t.Fatalf("initial list: %+v", f)
	}
	// A conversation in another inbox stays invisible; one in ours shows up.
	other, _ := e.conversation(e.inboxB, "Otto")
	e.say(other, "not for alice")
	conv, pub := e.conversation(e.inboxA, "Vera")
	e.say(conv, "new chat")
	f := read(t, c, time.Second)
	if f.Type != "rows" || len(f.Items) != 1 || f.Items[0].PublicID != pub || f.Items[0].Preview != "new chat" || f.Items[0].Label != "Vera" {
		t.Fatalf("list push: %+v", f)
	}
}

func TestLiveRefusesCrossOriginAndStrangers(t *testing.T) {
	e := setup(t, inbox.Config{})
	b := e.signedIn(e.alice)
	if _, resp, err := b.dial(t, "https://evil.example"); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin handshake accepted: %v %v", err, resp)
	}
	if _, resp, err := e.browser().dial(t, e.srv.URL); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("handshake without session: %v", err)
	}
	// Behind the edge, the page's origin is the public host the proxy reports.
	c, _, err := b.dial(t, "https://chat.example", "chat.example")
	if err != nil {
		t.Fatalf("same-origin handshake through a proxy: %v", err)
	}
	c.CloseNow()
	if _, resp, err := b.dial(t, "https://evil.example", "chat.example"); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin handshake through a proxy accepted: %v", err)
	}
}

package inbox

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"

	"github.com/parleychat/parley/backend/internal/presence"
	"github.com/parleychat/parley/backend/internal/proxies"
	"github.com/parleychat/parley/backend/internal/store"
)

// Cookie names.
const (
	// SessionCookie holds the session secret (the table keeps its hash).
	SessionCookie = "parley_session"
	// LoginCSRFCookie holds the sign-in form's double-submit token.
	LoginCSRFCookie = "parley_login_csrf"
)

// CSRFField is the form field, and CSRFHeader the fetch header, that carry
// the session's CSRF token.
const (
	CSRFField  = "csrf_token"
	CSRFHeader = "X-CSRF-Token"
)

// cookiePath scopes the inbox cookies to the inbox pages.
const cookiePath = "/inbox"

// badLogin is the one message every failed sign-in gets, so it never tells
// whether the email exists.
const badLogin = "Email or password is incorrect."

// dummyHash is compared against when the email is unknown, so an unknown
// email takes as long to refuse as a wrong password.
var dummyHash = sync.OnceValue(func() []byte {
	b, _ := bcrypt.GenerateFromPassword([]byte("parley-no-such-user"), bcrypt.DefaultCost)
	return b
})

// Context keys.
const (
	ctxSession = "inbox.session"
	ctxUser    = "inbox.user"
)

func session(c *gin.Context) *store.Session { return c.MustGet(ctxSession).(*store.Session) }
func user(c *gin.Context) *store.User       { return c.MustGet(ctxUser).(*store.User) }

// requireSession loads the signed-in agent or sends the browser to sign in.
func (h *Handler) requireSession(c *gin.Context) {
	secret, _ := c.Cookie(SessionCookie)
	sess, err := h.st.SessionBySecret(c, secret)
	var u *store.User
	if err == nil {
		u, err = h.st.UserByID(c, sess.UserID)
	}
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			h.fail(c, "session", err)
			c.Abort()
			return
		}
		if secret != "" {
			h.clearCookie(c, SessionCookie, cookiePath)
		}
		switch {
		case wantsJSON(c) || c.Request.URL.Path == "/inbox/ws":
			c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "Your session has ended; sign in again.", "login": "/inbox/login"})
		default:
			target := "/inbox/login"
			if c.Request.Method == http.MethodGet {
				target += "?next=" + url.QueryEscape(c.Request.URL.RequestURI())
			}
			c.Redirect(http.StatusSeeOther, target)
			c.Abort()
		}
		return
	}
	if u.ChosenStatus != nil && c.Request.Method == http.MethodGet {
		h.returned(c, u)
	}
	c.Set(ctxSession, sess)
	c.Set(ctxUser, u)
	c.Next()
}

// returned puts back the status an agent chose when Parley had set theirs
// (away while no inbox page was open, offline after signing out): they
// are looking at the inbox again. Waiting chats may go to them now.
func (h *Handler) returned(c *gin.Context, u *store.User) {
	back, err := h.st.Returned(c, u.ID)
	if err != nil {
		h.log.Warn("inbox: status on return", "user", u.ID, "err", err)
		return
	}
	if back == nil {
		return
	}
	u.Status, u.ChosenStatus = back.Status, nil
	presence.RouteReturned(c, h.st, h.log, []store.Changed{*back})
}

// requireCSRF refuses a state-changing request whose token (form field or
// header) does not match the session's.
func (h *Handler) requireCSRF(c *gin.Context) {
	token := c.GetHeader(CSRFHeader)
	if token == "" {
		token = c.PostForm(CSRFField)
	}
	if !tokensEqual(token, session(c).CSRFToken) {
		forbidCSRF(c)
		return
	}
	c.Next()
}

func forbidCSRF(c *gin.Context) {
	const msg = "This form has expired or did not come from Parley. Go back, reload the page and try again."
	if wantsJSON(c) {
		c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": msg})
		return
	}
	c.Data(http.StatusForbidden, "text/plain; charset=utf-8", []byte(msg))
	c.Abort()
}

// tokensEqual compares in constant time; an empty token never matches.
func tokensEqual(got, want string) bool {
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

type loginData struct {
	basePage
	Email    string
	Next     string
	Error    string
	Accounts []accountChoice // set when the email and password fit users of several accounts
}

// accountChoice is one account the sign-in form offers.
type accountChoice struct {
	ID   int64
	Name string
}

// loginPage shows the sign-in form, or the inbox to an agent already signed in.
func (h *Handler) loginPage(c *gin.Context) {
	if secret, _ := c.Cookie(SessionCookie); secret != "" {
		if _, err := h.st.SessionBySecret(c, secret); err == nil {
			c.Redirect(http.StatusSeeOther, safeNext(c.Query("next")))
			return
		}
	}
	h.renderLogin(c, http.StatusOK, "", "")
}

// renderLogin shows the form with a double-submit token: the same random
// value in a cookie and in the form. A cross-site form cannot read the cookie,
// so it cannot send the matching field (no login CSRF).
func (h *Handler) renderLogin(c *gin.Context, status int, email, msg string) {
	h.renderLoginWith(c, status, loginData{Email: email, Error: msg})
}

func (h *Handler) renderLoginWith(c *gin.Context, status int, d loginData) {
	token, _ := c.Cookie(LoginCSRFCookie)
	if len(token) != 43 { // NewToken's length; anything else is not ours
		token = store.NewToken()
		h.setCookie(c, LoginCSRFCookie, token, "/inbox/login", 3600)
	}
	next := c.Query("next")
	if next == "" {
		next = c.PostForm("next")
	}
	d.basePage = basePage{Title: "Sign in", CSRF: token}
	d.Next = safeNext(next)
	h.render(c, status, "login.html", d)
}

func (h *Handler) login(c *gin.Context) {
	cookie, _ := c.Cookie(LoginCSRFCookie)
	if !tokensEqual(c.PostForm(CSRFField), cookie) {
		forbidCSRF(c)
		return
	}
	email := strings.TrimSpace(c.PostForm("email"))
	password := c.PostForm("password")
	if email == "" || password == "" {
		h.renderLogin(c, http.StatusUnprocessableEntity, email, "Enter your email and password.")
		return
	}
	// Throttle before any password check: guessing costs the guesser, not bcrypt time.
	byPair, byIP, err := h.st.LoginFailures(c, email, c.ClientIP(), h.cfg.LoginWindow)
	if err != nil {
		h.fail(c, "login", err)
		return
	}
	if byPair >= h.cfg.LoginMaxFailures || byIP >= h.cfg.LoginMaxFailuresPerIP {
		c.Header("Retry-After", strconv.Itoa(int(h.cfg.LoginWindow.Seconds())))
		h.renderLogin(c, http.StatusTooManyRequests, email, fmt.Sprintf(
			"Too many failed sign-ins. Wait %d minutes and try again, or ask an admin to reset your password.", int(h.cfg.LoginWindow.Minutes())))
		return
	}
	// An email is unique within an account only: the password says which
	// of the accounts' users is signing in (the form names the account
	// once several fit).
	users, err := h.st.UsersByLogin(c, email)
	if err != nil {
		h.fail(c, "login", err)
		return
	}
	chosen, _ := strconv.ParseInt(c.PostForm("account"), 10, 64)
	var fits []store.User
	compared := false
	for _, cand := range users {
		if chosen != 0 && cand.AccountID != chosen {
			continue
		}
		compared = true
		if bcrypt.CompareHashAndPassword([]byte(cand.PasswordHash), []byte(password)) == nil {
			fits = append(fits, cand)
		}
	}
	if !compared {
		bcrypt.CompareHashAndPassword(dummyHash(), []byte(password)) // same time as a wrong password
	}
	if len(fits) == 0 {
		h.loginFailed(c, email)
		return
	}
	if len(fits) > 1 {
		d := loginData{Email: email, Error: "This email and password sign in to several accounts. Choose one and enter your password again."}
		for _, f := range fits {
			name := strconv.FormatInt(f.AccountID, 10)
			if a, err := h.st.Account(c, f.AccountID); err == nil {
				name = a.Name
			}
			d.Accounts = append(d.Accounts, accountChoice{ID: f.AccountID, Name: name})
		}
		h.renderLoginWith(c, http.StatusOK, d)
		return
	}
	u := fits[0]
	if err := h.st.ClearLoginFailures(c, email, c.ClientIP()); err != nil {
		h.log.Warn("inbox: clear login failures", "err", err)
	}
	secret, _, err := h.st.CreateSession(c, u.ID, h.cfg.SessionLifetime)
	if err != nil {
		h.fail(c, "login", err)
		return
	}
	h.setCookie(c, SessionCookie, secret, cookiePath, int(h.cfg.SessionLifetime.Seconds()))
	c.Redirect(http.StatusSeeOther, safeNext(c.PostForm("next")))
}

// loginFailed records a failed sign-in and shows the form again.
func (h *Handler) loginFailed(c *gin.Context, email string) {
	if err := h.st.RecordLoginFailure(c, email, c.ClientIP(), h.cfg.LoginWindow); err != nil {
		h.log.Warn("inbox: record login failure", "err", err)
	}
	h.renderLogin(c, http.StatusUnauthorized, email, badLogin)
}

func (h *Handler) logout(c *gin.Context) {
	secret, _ := c.Cookie(SessionCookie)
	// Offline first: ending the session closes the agent's inbox sockets,
	// whose pages then leave for the sign-in page, cancelling this request;
	// by then the status must be written, and neither write may be dropped.
	ctx := context.WithoutCancel(c)
	if u := user(c); u != nil {
		// Signed out is offline; their own choice comes back when they return.
		if err := h.st.SignedOut(ctx, u.AccountID, u.ID); err != nil {
			h.log.Warn("inbox: offline on sign-out", "user", u.ID, "err", err)
		}
	}
	if err := h.st.DeleteSession(ctx, secret); err != nil {
		h.fail(c, "logout", err)
		return
	}
	h.clearCookie(c, SessionCookie, cookiePath)
	c.Redirect(http.StatusSeeOther, "/inbox/login")
}

// safeNext keeps a post-sign-in redirect inside the inbox (no open redirect).
// The path is judged after decoding and cleaning (so "/inbox/../x" and
// "%2F" tricks land outside and are refused), and the redirect is rebuilt
// from the cleaned path and the query alone: nothing of the raw text that a
// browser or proxy might read differently reaches the Location header.
func safeNext(next string) string {
	const home = "/inbox"
	if next == "" || strings.ContainsAny(next, "\\\x00\r\n\t") || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return home
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return home
	}
	// An encoded slash or backslash only hides a path boundary; refuse it.
	if raw := strings.ToLower(u.EscapedPath()); strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c") {
		return home
	}
	p := path.Clean(u.Path)
	if p != home && !strings.HasPrefix(p, home+"/") || strings.HasPrefix(p, "/inbox/login") || p == "/inbox/ws" {
		return home
	}
	out := (&url.URL{Path: p, RawQuery: u.Query().Encode()}).String()
	if !strings.HasPrefix(out, home) {
		return home
	}
	return out
}

// setCookie sets an inbox cookie: Secure when configured so, and whenever
// the request came over HTTPS (TLS here, or a trusted proxy's
// X-Forwarded-Proto; backend/proxies drops an untrusted peer's).
func (h *Handler) setCookie(c *gin.Context, name, value, path string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: h.cfg.SecureCookies || proxies.HTTPS(c.Request), SameSite: http.SameSiteLaxMode,
	})
}

func (h *Handler) clearCookie(c *gin.Context, name, path string) {
	h.setCookie(c, name, "", path, -1)
}

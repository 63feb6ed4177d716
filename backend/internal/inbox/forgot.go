package inbox

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/onboarding"
	"github.com/parleychat/parley/backend/internal/password"
	"github.com/parleychat/parley/backend/internal/store"
)

// "Forgot password" (with Config.Mail): the sign-in page links to a form
// that mails a one-time link, answering the same whether or not anyone
// signs in with the address; the link's page sets the new password.

// ResetCSRFCookie holds the forgot and reset forms' double-submit token.
const ResetCSRFCookie = "parley_reset_csrf"

// ResetPath is where reset links point: ResetPath + token.
const ResetPath = "/inbox/reset/"

// forgotSent is the one answer to a "forgot password" request.
const forgotSent = "If an account signs in with that address, we have emailed it a link to set a new password. The link works once, for an hour."

// resetGone answers a reset link that is unknown, used or expired.
const resetGone = "This link no longer works: it was used already, or it expired. Ask for a new one."

// resetData is the forgot and reset pages.
type resetData struct {
	basePage
	Sent, Error, Refused string
	User                 *store.User
	MinPassword          int
}

func (h *Handler) renderReset(c *gin.Context, status int, page string, d resetData) {
	d.basePage = basePage{Title: "Set a new password"}
	token, _ := c.Cookie(ResetCSRFCookie)
	if len(token) != 43 {
		token = store.NewToken()
		h.setCookie(c, ResetCSRFCookie, token, "/inbox/", 3600)
	}
	d.CSRF = token
	d.MinPassword = password.MinLen
	h.render(c, status, page, d)
}

func (h *Handler) resetCSRF(c *gin.Context) bool {
	cookie, _ := c.Cookie(ResetCSRFCookie)
	if !tokensEqual(c.PostForm(CSRFField), cookie) {
		forbidCSRF(c)
		return false
	}
	return true
}

func (h *Handler) forgotPage(c *gin.Context) {
	if h.cfg.Mail == nil {
		c.String(http.StatusNotFound, "This Parley sends no email; ask an admin to reset your password.")
		return
	}
	h.renderReset(c, http.StatusOK, "forgot.html", resetData{})
}

// forgot mails a reset link when the address signs in (and the throttle
// allows); the page says the same in every case.
func (h *Handler) forgot(c *gin.Context) {
	if h.cfg.Mail == nil {
		c.String(http.StatusNotFound, "This Parley sends no email; ask an admin to reset your password.")
		return
	}
	if !h.resetCSRF(c) {
		return
	}
	email := strings.TrimSpace(c.PostForm("email"))
	if email == "" || len(email) > 254 || !strings.Contains(email, "@") {
		h.renderReset(c, http.StatusUnprocessableEntity, "forgot.html", resetData{Error: "Enter the email address you sign in with."})
		return
	}
	base := onboarding.Base(h.cfg.PublicURL, c.Request)
	err := h.cfg.Mail.RequestPasswordReset(c, email, c.ClientIP(), func(token string) string {
		return strings.TrimRight(base, "/") + ResetPath + token
	})
	if err != nil {
		h.fail(c, "forgot", err)
		return
	}
	h.renderReset(c, http.StatusOK, "forgot.html", resetData{Sent: forgotSent})
}

func (h *Handler) resetPage(c *gin.Context) {
	u, err := h.st.PasswordResetUser(c, c.Param("token"))
	if errors.Is(err, store.ErrNotFound) {
		h.renderReset(c, http.StatusGone, "reset.html", resetData{Refused: resetGone})
		return
	}
	if err != nil {
		h.fail(c, "reset", err)
		return
	}
	h.renderReset(c, http.StatusOK, "reset.html", resetData{User: u})
}

// reset sets the new password, spends the link (and every other of the
// user's), ends their sessions and sends them to sign in.
func (h *Handler) reset(c *gin.Context) {
	if !h.resetCSRF(c) {
		return
	}
	token := c.Param("token")
	u, err := h.st.PasswordResetUser(c, token)
	if errors.Is(err, store.ErrNotFound) {
		h.renderReset(c, http.StatusGone, "reset.html", resetData{Refused: resetGone})
		return
	}
	if err != nil {
		h.fail(c, "reset", err)
		return
	}
	if msg := passwordProblem(c.PostForm("new_password"), c.PostForm("new_password_again")); msg != "" {
		h.renderReset(c, http.StatusUnprocessableEntity, "reset.html", resetData{User: u, Error: msg})
		return
	}
	hash, err := password.Hash(c.PostForm("new_password"))
	if err != nil {
		h.fail(c, "reset", err)
		return
	}
	if _, err := h.st.UsePasswordReset(c, token, hash); errors.Is(err, store.ErrNotFound) {
		h.renderReset(c, http.StatusGone, "reset.html", resetData{Refused: resetGone})
		return
	} else if err != nil {
		h.fail(c, "reset", err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/inbox/login?reset=1")
}

// saveMailPref stores the agent's choice of email news.
func (h *Handler) saveMailPref(c *gin.Context) {
	n := c.PostForm("notify")
	switch n {
	case store.NotifyOff, store.NotifyInstant, store.NotifyHourly:
	default:
		c.String(http.StatusBadRequest, "notify must be off, instant or hourly")
		return
	}
	if err := h.st.SetAgentMailPref(c, user(c).ID, n); err != nil {
		h.fail(c, "account", err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/inbox/account?saved=email")
}

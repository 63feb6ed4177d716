package inbox

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/onboarding"
	"github.com/parleychat/parley/backend/internal/password"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
)

// SetupCSRFCookie holds the setup form's double-submit token.
const SetupCSRFCookie = "parley_setup_csrf"

// language is one choice of the setup form's language list.
type language struct{ Code, Name string }

var setupLanguages = []language{{"en", "English"}, {"nl", "Nederlands"}, {"de", "Deutsch"}, {"fr", "Français"}, {"es", "Español"}}

// setupData is the first-run setup page: the form (refilled after an
// error, each bad field with its message), the refusal, or the result.
type setupData struct {
	basePage
	Token       string
	Form        onboarding.Input
	DomainsText string
	Prefill     bool              // the time zone is the server's guess: the browser may replace it
	Errors      map[string]string // field → message
	Languages   []language
	MinPassword int
	Refused     string             // why the page shows no form
	Done        *onboarding.Result // the account made
	Domains     []string
}

// setupPage shows the setup form to the holder of a setup token while no
// account exists.
func (h *Handler) setupPage(c *gin.Context) {
	token := c.Query("token")
	if !h.setupOpen(c, token) {
		return
	}
	h.renderSetup(c, http.StatusOK, setupData{Token: token, Prefill: true,
		Form: onboarding.Input{Timezone: "UTC", Language: "en"}})
}

// setupOpen answers the refusal page and false unless token opens setup.
func (h *Handler) setupOpen(c *gin.Context, token string) bool {
	has, err := h.st.HasAccounts(c)
	if err != nil {
		h.fail(c, "setup", err)
		return false
	}
	if has {
		h.refuseSetup(c, store.ErrAlreadySetUp)
		return false
	}
	ok, err := h.st.SetupTokenValid(c, token)
	if err != nil {
		h.fail(c, "setup", err)
		return false
	}
	if !ok {
		h.refuseSetup(c, store.ErrSetupToken)
		return false
	}
	return true
}

func (h *Handler) refuseSetup(c *gin.Context, why error) {
	d := setupData{}
	status := http.StatusForbidden
	if errors.Is(why, store.ErrAlreadySetUp) {
		status = http.StatusGone
		d.Refused = "Parley is set up already: this installation has an account, so setup is over. Sign in to your inbox instead."
	} else {
		d.Refused = "This setup link is not valid. Use the link the backend wrote to its log when it started on the empty database."
	}
	h.renderSetup(c, status, d)
}

func (h *Handler) renderSetup(c *gin.Context, status int, d setupData) {
	d.basePage = basePage{Title: "Set up Parley"}
	if d.Refused == "" && d.Done == nil {
		token, _ := c.Cookie(SetupCSRFCookie)
		if len(token) != 43 { // NewToken's length; anything else is not ours
			token = store.NewToken()
			h.setCookie(c, SetupCSRFCookie, token, onboarding.SetupPath, 3600)
		}
		d.CSRF = token
	}
	if d.DomainsText == "" {
		d.DomainsText = strings.Join(d.Form.Domains, ", ")
	}
	d.Languages, d.MinPassword = setupLanguages, password.MinLen
	h.render(c, status, "setup.html", d)
}

// setup creates the account from the form, signs its admin in and shows
// the script tag, the CSP lines and the admin API key, once.
func (h *Handler) setup(c *gin.Context) {
	cookie, _ := c.Cookie(SetupCSRFCookie)
	if !tokensEqual(c.PostForm(CSRFField), cookie) {
		forbidCSRF(c)
		return
	}
	token := c.PostForm("token")
	if !h.setupOpen(c, token) {
		return
	}
	domainsText := c.PostForm("domains")
	in := onboarding.Input{
		Company: c.PostForm("company"), Domains: onboarding.SplitDomains(domainsText), Timezone: c.PostForm("timezone"),
		Language: c.PostForm("language"), AdminName: c.PostForm("admin_name"), AdminEmail: c.PostForm("admin_email"),
		AdminPassword: c.PostForm("admin_password"),
	}
	res, err := onboarding.Create(c, h.st, in, onboarding.Options{PublicURL: onboarding.Base(h.cfg.PublicURL, c.Request), SetupToken: token})
	var bad problem.Errors
	switch {
	case errors.As(err, &bad):
		d := setupData{Token: token, Form: in, DomainsText: strings.TrimSpace(domainsText), Errors: map[string]string{}}
		for _, f := range bad {
			d.Errors[f.Field] = f.Message
		}
		if d.Errors["admin_password"] != "" {
			d.Form.AdminPassword = "" // a refused password is typed again, not echoed
		}
		h.renderSetup(c, http.StatusUnprocessableEntity, d)
		return
	case errors.Is(err, store.ErrAlreadySetUp), errors.Is(err, store.ErrSetupToken):
		h.refuseSetup(c, err)
		return
	case err != nil:
		h.fail(c, "setup", err)
		return
	}
	h.clearCookie(c, SetupCSRFCookie, onboarding.SetupPath)
	// The admin is signed in: the next step is the inbox.
	secret, _, err := h.st.CreateSession(c, res.AdminUserID, h.cfg.SessionLifetime)
	if err == nil {
		h.setCookie(c, SessionCookie, secret, cookiePath, int(h.cfg.SessionLifetime.Seconds()))
	} else {
		h.log.Warn("inbox: setup sign-in", "err", err)
	}
	clean, _ := onboarding.Validate(in) // as stored: trimmed, domains normalized
	h.renderSetup(c, http.StatusCreated, setupData{Done: res, Domains: clean.Domains, Form: clean})
}

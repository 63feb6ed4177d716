package inbox

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"

	"github.com/parleychat/parley/backend/internal/api"
	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/password"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// accountData is the "My account" page: the profile form, refilled after an
// error, and the password form.
type accountData struct {
	basePage
	Name           string
	AvatarURL      string
	AvatarImage    string // the uploaded avatar's path on the edge; "" for none
	ProfileError   string
	PasswordError  string
	Saved          string // what the last form changed, shown once after the redirect
	Notify         string // email news: store.NotifyOff, NotifyInstant or NotifyHourly
	MinPasswordLen int
}

// account shows the signed-in agent's profile and the password form.
func (h *Handler) account(c *gin.Context) {
	u := user(c)
	d := accountData{Name: u.Name, AvatarURL: u.AvatarURL}
	switch c.Query("saved") {
	case "profile":
		d.Saved = "Your profile is saved."
	case "password":
		d.Saved = "Your password is changed. Every other session of yours is signed out."
	case "email":
		d.Saved = "Your email choice is saved."
	}
	h.renderAccount(c, http.StatusOK, d)
}

func (h *Handler) renderAccount(c *gin.Context, status int, d accountData) {
	d.basePage = h.base(c, "My account")
	if id := user(c).AvatarImageID; id != "" {
		if acct, err := h.st.Account(c, user(c).AccountID); err == nil {
			d.AvatarImage = widget.ImagePath(acct.PublicID, id)
		}
	}
	d.MinPasswordLen = password.MinLen
	if n, err := h.st.AgentMailPref(c, user(c).ID); err == nil {
		d.Notify = n
	}
	h.render(c, status, "account.html", d)
}

// profileProblem answers why a name and avatar URL are refused, or "". The
// rules are the REST users endpoint's (backend/internal/api checkName and decodeUser).
func profileProblem(name, avatarURL string) string {
	switch {
	case name == "":
		return "Enter your name."
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > chatflow.MaxNameLen:
		return fmt.Sprintf("Your name must be text of at most %d characters.", chatflow.MaxNameLen)
	case !utf8.ValidString(avatarURL):
		return "The avatar URL must be an http or https URL."
	case avatarURL != "" && !strings.HasPrefix(avatarURL, "https://") && !strings.HasPrefix(avatarURL, "http://"):
		return "The avatar URL must be an http or https URL (or empty for none)."
	}
	return ""
}

func (h *Handler) updateProfile(c *gin.Context) {
	u := user(c)
	d := accountData{Name: strings.TrimSpace(c.PostForm("name")), AvatarURL: strings.TrimSpace(c.PostForm("avatar_url"))}
	if d.ProfileError = profileProblem(d.Name, d.AvatarURL); d.ProfileError != "" {
		h.renderAccount(c, http.StatusUnprocessableEntity, d)
		return
	}
	imageID := u.AvatarImageID
	if c.PostForm("remove_avatar_image") != "" {
		imageID = ""
	}
	if fh, err := c.FormFile("avatar_image"); err == nil && fh.Size > 0 {
		// An uploaded avatar goes to the account's image store, which the
		// edge serves to widgets on any site.
		max := int64(api.DefaultImageMaxBytes)
		if h.cfg.REST != nil {
			max = h.cfg.REST.ImageMaxBytes()
		}
		var data []byte
		if fh.Size <= max {
			if f, err := fh.Open(); err == nil {
				data, _ = io.ReadAll(io.LimitReader(f, max+1))
				f.Close()
			}
		}
		if int64(len(data)) > max || fh.Size > max {
			d.ProfileError = fmt.Sprintf("The avatar image is larger than %d bytes.", max)
			h.renderAccount(c, http.StatusUnprocessableEntity, d)
			return
		}
		n, errs := api.CheckImage(data)
		if len(errs) > 0 {
			d.ProfileError = "The avatar image " + errs[0].Message + "."
			h.renderAccount(c, http.StatusUnprocessableEntity, d)
			return
		}
		img, _, err := h.st.PutBrandImage(c, u.AccountID, n)
		if err != nil {
			h.fail(c, "profile", err)
			return
		}
		imageID = img.ID
	}
	if err := h.st.UpdateUserProfile(c, u.AccountID, u.ID, d.Name, d.AvatarURL, imageID); err != nil {
		h.fail(c, "profile", err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/inbox/account?saved=profile")
}

// passwordProblem answers why a new password is refused, or "": the one
// password rule (backend/password), then the confirmation.
func passwordProblem(pw, again string) string {
	switch {
	case pw == "":
		return "Enter a new password."
	case password.Check(pw) != nil:
		return "The new password " + password.Check(pw).Error() + "."
	case pw != again:
		return "The new password and its confirmation differ; type the same password twice."
	}
	return ""
}

// changePassword sets a new password after checking the current one. Wrong
// current passwords count as failed sign-ins of the agent's email and the
// client's address, so a stolen session cannot be used to guess the
// password faster than the sign-in form allows. On success every other
// session of the agent ends; this one stays.
func (h *Handler) changePassword(c *gin.Context) {
	u := user(c)
	current := c.PostForm("current_password")
	next, again := c.PostForm("new_password"), c.PostForm("new_password_again")
	refuse := func(status int, msg string) {
		h.renderAccount(c, status, accountData{Name: u.Name, AvatarURL: u.AvatarURL, PasswordError: msg})
	}
	if current == "" {
		refuse(http.StatusUnprocessableEntity, "Enter your current password.")
		return
	}
	if msg := passwordProblem(next, again); msg != "" {
		refuse(http.StatusUnprocessableEntity, msg)
		return
	}
	// Throttle before the password check, exactly as sign-in does.
	byPair, byIP, err := h.st.LoginFailures(c, u.Email, c.ClientIP(), h.cfg.LoginWindow)
	if err != nil {
		h.fail(c, "password", err)
		return
	}
	if byPair >= h.cfg.LoginMaxFailures || byIP >= h.cfg.LoginMaxFailuresPerIP {
		c.Header("Retry-After", strconv.Itoa(int(h.cfg.LoginWindow.Seconds())))
		refuse(http.StatusTooManyRequests, fmt.Sprintf(
			"Too many wrong passwords. Wait %d minutes and try again, or ask an admin to reset your password.", int(h.cfg.LoginWindow.Minutes())))
		return
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(current)) != nil {
		if err := h.st.RecordLoginFailure(c, u.Email, c.ClientIP(), h.cfg.LoginWindow); err != nil {
			h.log.Warn("inbox: record login failure", "err", err)
		}
		refuse(http.StatusUnauthorized, "Your current password is not correct. Nothing was changed.")
		return
	}
	hash, err := password.Hash(next)
	if err != nil {
		h.fail(c, "password", err)
		return
	}
	secret, _ := c.Cookie(SessionCookie)
	if err := h.st.ChangePassword(c, u.ID, hash, secret); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			h.deny(c, http.StatusNotFound, "Your user no longer exists.")
			return
		}
		h.fail(c, "password", err)
		return
	}
	if err := h.st.ClearLoginFailures(c, u.Email, c.ClientIP()); err != nil {
		h.log.Warn("inbox: clear login failures", "err", err)
	}
	c.Redirect(http.StatusSeeOther, "/inbox/account?saved=password")
}

package inbox

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/onboarding"
	"github.com/parleychat/parley/backend/internal/password"
	"github.com/parleychat/parley/backend/internal/store"
)

// InviteCSRFCookie holds the invitation form's double-submit token.
const InviteCSRFCookie = "parley_invite_csrf"

// inviteData is the page where an invited user sets their password.
type inviteData struct {
	basePage
	Invitee     *store.User
	Error       string
	Refused     string
	MinPassword int
}

// invitationGone is the one answer for a link that is unknown, used,
// replaced by a newer one or expired: which of these it was helps no one.
const invitationGone = "This invitation link no longer works: it was used already, replaced by a newer one, or it expired. Ask an admin of your team for a new link."

// invitePage shows the password form to the holder of a live invitation.
func (h *Handler) invitePage(c *gin.Context) {
	u, err := h.st.InvitedUser(c, c.Param("token"))
	if errors.Is(err, store.ErrNotFound) {
		h.renderInvite(c, http.StatusGone, inviteData{Refused: invitationGone})
		return
	}
	if err != nil {
		h.fail(c, "invite", err)
		return
	}
	h.renderInvite(c, http.StatusOK, inviteData{Invitee: u})
}

func (h *Handler) renderInvite(c *gin.Context, status int, d inviteData) {
	d.basePage = basePage{Title: "Set your password"}
	if d.Refused == "" {
		token, _ := c.Cookie(InviteCSRFCookie)
		if len(token) != 43 {
			token = store.NewToken()
			h.setCookie(c, InviteCSRFCookie, token, onboarding.InvitationPath, 3600)
		}
		d.CSRF = token
	}
	d.MinPassword = password.MinLen
	h.render(c, status, "invite.html", d)
}

// acceptInvite sets the invited user's password, uses the link up and signs
// them in.
func (h *Handler) acceptInvite(c *gin.Context) {
	cookie, _ := c.Cookie(InviteCSRFCookie)
	if !tokensEqual(c.PostForm(CSRFField), cookie) {
		forbidCSRF(c)
		return
	}
	token := c.Param("token")
	u, err := h.st.InvitedUser(c, token)
	if errors.Is(err, store.ErrNotFound) {
		h.renderInvite(c, http.StatusGone, inviteData{Refused: invitationGone})
		return
	}
	if err != nil {
		h.fail(c, "invite", err)
		return
	}
	if msg := passwordProblem(c.PostForm("new_password"), c.PostForm("new_password_again")); msg != "" {
		h.renderInvite(c, http.StatusUnprocessableEntity, inviteData{Invitee: u, Error: msg})
		return
	}
	hash, err := password.Hash(c.PostForm("new_password"))
	if err != nil {
		h.fail(c, "invite", err)
		return
	}
	accepted, err := h.st.AcceptInvitation(c, token, hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.renderInvite(c, http.StatusGone, inviteData{Refused: invitationGone})
		return
	case err != nil:
		h.fail(c, "invite", err)
		return
	}
	h.clearCookie(c, InviteCSRFCookie, onboarding.InvitationPath)
	secret, _, err := h.st.CreateSession(c, accepted.ID, h.cfg.SessionLifetime)
	if err != nil {
		h.fail(c, "invite", err)
		return
	}
	h.setCookie(c, SessionCookie, secret, cookiePath, int(h.cfg.SessionLifetime.Seconds()))
	c.Redirect(http.StatusSeeOther, "/inbox")
}

package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/onboarding"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
)

// invitation is a one-time link where an invited user sets their password.
type invitation struct {
	URL       string    `json:"invitation_url"`
	ExpiresAt time.Time `json:"invitation_expires_at"`
}

// userCreated answers POST /users: the user, and for one made without a
// password the invitation link to hand them (shown to the admin, who
// passes it on).
func (a *API) userCreated(c *gin.Context, u *store.User) {
	if u.PasswordHash != "" {
		c.JSON(http.StatusCreated, u)
		return
	}
	inv, err := a.invite(c, u.AccountID, u.ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, struct {
		*store.User
		invitation
	}{u, inv})
}

// inviteUser is POST /users/{id}/invitation: a fresh link for a user who
// has not set a password yet; the earlier link stops working.
func (a *API) inviteUser(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	inv, err := a.invite(c, account(c).ID, id)
	if errors.Is(err, store.ErrHasPassword) {
		problem.Status(c.Writer, http.StatusConflict, "This user has set a password already and signs in with it; nothing to invite to.")
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, inv)
}

func (a *API) invite(c *gin.Context, accountID, userID int64) (invitation, error) {
	base := onboarding.Base(a.PublicURL, c.Request)
	if a.Mail == nil {
		link, expires, err := onboarding.CreateInvitation(c, a.st, base, accountID, userID, a.InvitationTTL)
		return invitation{URL: link, ExpiresAt: expires}, err
	}
	ttl := a.InvitationTTL
	if ttl <= 0 {
		ttl = onboarding.DefaultInvitationTTL
	}
	acct := account(c)
	name := acct.CompanyName
	if name == "" {
		name = acct.Name
	}
	token, expires, err := a.st.CreateInvitation(c, accountID, userID, ttl, func(u *store.User, token string) (*store.OutboxEmail, error) {
		return a.Mail.InvitationEmail(u, name, onboarding.InvitationLink(base, token))
	})
	if err == nil {
		a.Mail.Poke()
	}
	return invitation{URL: onboarding.InvitationLink(base, token), ExpiresAt: expires}, err
}

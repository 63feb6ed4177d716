package api

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/identity"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
)

// registerPrivacy mounts subscription types, consent records, contacts
// (list, get, export, erase, subscriptions) and visitor identification.
// See PRIVACY.md beside this file.
func (a *API) registerPrivacy(v1 *gin.RouterGroup) {
	v1.GET("/subscription-types", a.listSubscriptionTypes)
	v1.POST("/subscription-types", a.createSubscriptionType)
	v1.GET("/subscription-types/:id", a.getSubscriptionType)
	v1.PUT("/subscription-types/:id", a.replaceSubscriptionType)
	v1.PATCH("/subscription-types/:id", a.patchSubscriptionType)
	v1.DELETE("/subscription-types/:id", a.deleteSubscriptionType)

	v1.GET("/consents", a.listConsents)

	v1.GET("/contacts", a.listContacts)
	v1.GET("/contacts/:id", a.getContact)
	v1.GET("/contacts/:id/export", a.exportContact)
	v1.DELETE("/contacts/:id", a.eraseContact)
	v1.PUT("/contacts/:id/subscriptions/:type_id", a.setContactSubscription)

	v1.POST("/visitor-identification", a.identifyVisitor)
}

// Limits on subscription types.
const (
	MaxSubscriptionName        = 200
	MaxSubscriptionDescription = 2000
)

type subscriptionTypeInput struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

func (a *API) listSubscriptionTypes(c *gin.Context) {
	ts, err := a.st.SubscriptionTypes(c, account(c).ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"subscription_types": ts})
}

func (a *API) getSubscriptionType(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	t, err := a.st.SubscriptionType(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, t)
}

func (a *API) createSubscriptionType(c *gin.Context) {
	var in subscriptionTypeInput
	if !a.decodeSubscriptionType(c, &in) {
		return
	}
	t := &store.SubscriptionType{AccountID: account(c).ID, Name: in.Name, Description: in.Description}
	if err := a.st.CreateSubscriptionType(c, t); err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/subscription-types/"+strconv.FormatInt(t.ID, 10))
	c.JSON(http.StatusCreated, t)
}

// replaceSubscriptionType: PUT replaces; an omitted description becomes empty.
func (a *API) replaceSubscriptionType(c *gin.Context) { a.updateSubscriptionType(c, false) }

// patchSubscriptionType: PATCH changes only the fields the body names.
func (a *API) patchSubscriptionType(c *gin.Context) { a.updateSubscriptionType(c, true) }

func (a *API) updateSubscriptionType(c *gin.Context, patch bool) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	t, err := a.st.SubscriptionType(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	var in subscriptionTypeInput
	if patch {
		in = subscriptionTypeInput{Name: t.Name, Description: t.Description}
	}
	if !a.decodeSubscriptionType(c, &in) {
		return
	}
	t.Name, t.Description = in.Name, in.Description
	if err := a.st.UpdateSubscriptionType(c, t); err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, t)
}

func (a *API) decodeSubscriptionType(c *gin.Context, in *subscriptionTypeInput) bool {
	b, ok := body(c)
	if !ok {
		return false
	}
	if err := chatflow.DecodeStrict(b, in, "id", "created_at", "updated_at"); err != nil {
		a.fail(c, err)
		return false
	}
	in.Name, in.Description = strings.TrimSpace(in.Name), strings.TrimSpace(in.Description)
	var e problem.Errors
	checkPrivacyText(&e, "name", in.Name, MaxSubscriptionName, true)
	checkPrivacyText(&e, "description", in.Description, MaxSubscriptionDescription, false)
	if err := e.Err(); err != nil {
		a.fail(c, err)
		return false
	}
	return true
}

func (a *API) deleteSubscriptionType(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	if err := a.st.DeleteSubscriptionType(c, account(c).ID, id); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// checkPrivacyText records a missing, invalid or too long text.
func checkPrivacyText(e *problem.Errors, field, v string, max int, required bool) {
	switch {
	case required && v == "":
		e.Add(field, "is required")
	case !utf8.ValidString(v):
		e.Add(field, "must be valid UTF-8")
	case utf8.RuneCountInString(v) > max:
		e.Add(field, "must be at most "+strconv.Itoa(max)+" characters")
	}
}

// listConsents: GET /consents?contact_id=&conversation_id=&visitor_id=&limit=&cursor=
// — consent records newest first; a filter naming another account's object is 404.
func (a *API) listConsents(c *gin.Context) {
	var e problem.Errors
	limit, cursor := listQuery(c, &e, "contact_id", "conversation_id", "visitor_id")
	f := store.ConsentFilter{
		ContactID: idQuery(c, &e, "contact_id"), ConversationID: idQuery(c, &e, "conversation_id"),
		VisitorID: idQuery(c, &e, "visitor_id"), Before: cursor, Limit: limit + 1,
	}
	if err := e.Err(); err != nil {
		a.fail(c, err)
		return
	}
	cs, err := a.st.Consents(c, account(c).ID, f)
	if err != nil {
		a.fail(c, err)
		return
	}
	cs, next := trimPage(cs, limit, func(r *store.Consent) int64 { return r.ID })
	c.JSON(http.StatusOK, gin.H{"consents": cs, "next_cursor": next})
}

// identifyVisitor: POST /visitor-identification {"email", "name", "properties"}
// creates or updates the contact and answers a token valid identity.TTL.
func (a *API) identifyVisitor(c *gin.Context) {
	b, ok := body(c)
	if !ok {
		return
	}
	var in identity.Request
	if err := chatflow.DecodeStrict(b, &in); err != nil {
		a.fail(c, err)
		return
	}
	tok, err := identity.Issue(c, a.st, account(c).ID, in)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store") // a secret
	c.JSON(http.StatusOK, tok)
}

package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
)

// contactView is a contact as REST shows it: properties as an object.
type contactView struct {
	*store.Contact
	Properties    map[string]string           `json:"properties"`
	Subscriptions []store.ContactSubscription `json:"subscriptions,omitempty"` // on GET /contacts/:id only
}

func viewContact(c *store.Contact) contactView {
	return contactView{Contact: c, Properties: c.PropertyMap()}
}

// listContacts: GET /contacts?email=&marketing=&limit=&cursor= — newest first.
func (a *API) listContacts(c *gin.Context) {
	var e problem.Errors
	limit, cursor := listQuery(c, &e, "email", "marketing")
	f := store.ContactFilter{Email: strings.TrimSpace(c.Query("email")), Before: cursor, Limit: limit + 1}
	switch m := c.Query("marketing"); m {
	case "":
	case "true", "false":
		on := m == "true"
		f.Marketing = &on
	default:
		e.Add("marketing", "must be true or false")
	}
	if err := e.Err(); err != nil {
		a.fail(c, err)
		return
	}
	cs, err := a.st.ListContacts(c, account(c).ID, f)
	if err != nil {
		a.fail(c, err)
		return
	}
	cs, next := trimPage(cs, limit, func(r *store.Contact) int64 { return r.ID })
	out := make([]contactView, len(cs))
	for i := range cs {
		out[i] = viewContact(&cs[i])
	}
	c.JSON(http.StatusOK, gin.H{"contacts": out, "next_cursor": next})
}

// getContact: GET /contacts/:id — the contact, its properties and subscriptions.
func (a *API) getContact(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	ct, err := a.st.Contact(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	v := viewContact(ct)
	if v.Subscriptions, err = a.st.ContactSubscriptions(c, account(c).ID, id); err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

// exportContact: GET /contacts/:id/export — everything held about the
// contact, as one JSON document to hand to the person (right of access).
func (a *API) exportContact(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	x, err := a.st.ExportContact(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Content-Disposition", `attachment; filename="contact-`+strconv.FormatInt(id, 10)+`.json"`)
	c.JSON(http.StatusOK, struct {
		ExportedAt time.Time `json:"exported_at"`
		*store.ContactExport
	}{time.Now().UTC(), x})
}

// eraseContact: DELETE /contacts/:id — erases the contact and its
// conversations, messages, tickets, consents, subscriptions, tokens and
// visitors; answers what was deleted.
func (a *API) eraseContact(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	n, err := a.st.EraseContact(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"deleted": n})
}

type subscriptionInput struct {
	Status string `json:"status"`
}

// setContactSubscription: PUT /contacts/:id/subscriptions/:type_id {"status"}
// — an admin records a contact's choice (an unsubscribe request, say).
func (a *API) setContactSubscription(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	typeID, err := strconv.ParseInt(c.Param("type_id"), 10, 64)
	if err != nil || typeID <= 0 {
		problem.Status(c.Writer, http.StatusNotFound, "No such object.")
		return
	}
	b, ok := body(c)
	if !ok {
		return
	}
	var in subscriptionInput
	if err := chatflow.DecodeStrict(b, &in, "contact_id", "subscription_type_id", "name", "conversation_id", "updated_at"); err != nil {
		a.fail(c, err)
		return
	}
	if in.Status != store.Subscribed && in.Status != store.Unsubscribed {
		var e problem.Errors
		e.Add("status", `must be one of: "subscribed", "unsubscribed"`)
		a.fail(c, e)
		return
	}
	s, err := a.st.SetContactSubscription(c, account(c).ID, id, typeID, in.Status, 0)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, s)
}

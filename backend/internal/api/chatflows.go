package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
)

// refs checks chatflow references against one account's objects.
type refs struct{ inboxes, users, teams, bots map[int64]bool }

func (r refs) ChatInbox(id int64) (bool, bool) { has, ok := r.inboxes[id]; return ok, has }
func (r refs) User(id int64) bool              { return r.users[id] }
func (r refs) Team(id int64) bool              { return r.teams[id] }
func (r refs) Bot(id int64) bool               { return r.bots[id] }

func (a *API) refs(ctx context.Context, accountID int64) (refs, error) {
	i, u, t, err := a.st.AccountRefs(ctx, accountID)
	if err != nil {
		return refs{}, err
	}
	bs, err := a.st.Bots(ctx, accountID)
	bots := make(map[int64]bool, len(bs))
	for _, b := range bs {
		bots[b.ID] = true
	}
	return refs{i, u, t, bots}, err
}

func (a *API) listChatflows(c *gin.Context) {
	rows, err := a.st.Chatflows(c, account(c).ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := make([]*chatflow.Chatflow, 0, len(rows))
	for i := range rows {
		cf, err := chatflow.FromRow(&rows[i])
		if err != nil {
			a.fail(c, err)
			return
		}
		out = append(out, cf)
	}
	c.JSON(http.StatusOK, gin.H{"chatflows": out})
}

func (a *API) loadChatflow(c *gin.Context) (*chatflow.Chatflow, bool) {
	id, ok := pathID(c)
	if !ok {
		return nil, false
	}
	row, err := a.st.Chatflow(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return nil, false
	}
	cf, err := chatflow.FromRow(row)
	if err != nil {
		a.fail(c, err)
		return nil, false
	}
	return cf, true
}

func (a *API) getChatflow(c *gin.Context) {
	if cf, ok := a.loadChatflow(c); ok {
		c.Header("ETag", etag(cf.Version))
		c.JSON(http.StatusOK, cf)
	}
}

func (a *API) createChatflow(c *gin.Context) {
	b, ok := body(c)
	if !ok {
		return
	}
	cf := chatflow.Default()
	if err := chatflow.Decode(b, &cf); err != nil {
		a.fail(c, err)
		return
	}
	if !a.validate(c, &cf) {
		return
	}
	if dryRun(c) {
		c.JSON(http.StatusOK, &cf)
		return
	}
	row, err := cf.Row(account(c).ID)
	if err == nil {
		err = a.st.CreateChatflow(c, row)
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	cf.ID, cf.PublicID, cf.Version, cf.CreatedAt, cf.UpdatedAt = row.ID, row.PublicID, row.Version, row.CreatedAt, row.UpdatedAt
	c.Header("Location", "/api/v1/chatflows/"+strconv.FormatInt(cf.ID, 10))
	c.Header("ETag", etag(cf.Version))
	c.JSON(http.StatusCreated, &cf)
}

// replaceChatflow is PUT: the body is the whole chatflow; fields it leaves out take their defaults.
func (a *API) replaceChatflow(c *gin.Context) { a.updateChatflow(c, true) }

// patchChatflow is PATCH: fields the body names change, the rest stay (JSON merge patch).
func (a *API) patchChatflow(c *gin.Context) { a.updateChatflow(c, false) }

func (a *API) updateChatflow(c *gin.Context, replace bool) {
	cur, ok := a.loadChatflow(c)
	if !ok {
		return
	}
	b, ok := body(c)
	if !ok {
		return
	}
	next := *cur
	if replace {
		next = chatflow.Default()
		next.ID, next.PublicID, next.Version, next.CreatedAt, next.UpdatedAt = cur.ID, cur.PublicID, cur.Version, cur.CreatedAt, cur.UpdatedAt
	} else {
		next.Settings = cloneSettings(cur.Settings)
	}
	if err := chatflow.Decode(b, &next); err != nil {
		a.fail(c, err)
		return
	}
	if !a.validate(c, &next) {
		return
	}
	if dryRun(c) {
		c.JSON(http.StatusOK, &next)
		return
	}
	ifVersion, ok := ifMatch(c)
	if !ok {
		return
	}
	row, err := next.Row(account(c).ID)
	if err == nil {
		err = a.st.UpdateChatflow(c, row, ifVersion)
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	next.Version, next.UpdatedAt = row.Version, row.UpdatedAt
	c.Header("ETag", etag(next.Version))
	c.JSON(http.StatusOK, &next)
}

func (a *API) deleteChatflow(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	if err := a.st.DeleteChatflow(c, account(c).ID, id); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// dryRun reports ?dry_run=true: build and validate the chatflow as the
// write would, answer it, store nothing (the console's live preview).
func dryRun(c *gin.Context) bool { return c.Query("dry_run") == "true" }

func (a *API) validate(c *gin.Context, cf *chatflow.Chatflow) bool {
	r, err := a.refs(c, account(c).ID)
	if err != nil {
		a.fail(c, err)
		return false
	}
	if err := cf.Validate(r); err != nil {
		a.fail(c, err)
		return false
	}
	return a.checkSurveyLink(c, cf) && a.checkOptionLinks(c, cf) && a.checkHeadingImage(c, cf)
}

// checkOptionLinks refuses options naming a knowledge base or subscription
// type the account does not have: a typo would otherwise silently hide the
// Help tab, stop the customer agent or drop the subscription checkbox.
func (a *API) checkOptionLinks(c *gin.Context, cf *chatflow.Chatflow) bool {
	acct := account(c).ID
	var e problem.Errors
	if id := cf.Options.KnowledgeBaseID; id != 0 {
		if _, err := a.st.KB(c, acct, id); errors.Is(err, store.ErrNotFound) {
			e.Add("options.knowledge_base_id", "no such knowledge base")
		} else if err != nil {
			a.fail(c, err)
			return false
		}
	}
	if id := cf.Options.CommunicationConsent.SubscriptionTypeID; id != 0 {
		if _, err := a.st.SubscriptionType(c, acct, id); errors.Is(err, store.ErrNotFound) {
			e.Add("options.communication_consent.subscription_type_id", "no such subscription type")
		} else if err != nil {
			a.fail(c, err)
			return false
		}
	}
	if len(e) > 0 {
		problem.Invalid(c.Writer, "Invalid input", e)
		return false
	}
	return true
}

// cloneSettings deep-copies the maps a merge decode would otherwise write into.
func cloneSettings(s chatflow.Settings) chatflow.Settings {
	s.Welcome.Messages = cloneMap(s.Welcome.Messages)
	s.EmailCapture.Prompt = cloneMap(s.EmailCapture.Prompt)
	s.Tickets.Properties = cloneMap(s.Tickets.Properties)
	return s
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// ifMatch reads an optional If-Match version for optimistic concurrency.
func ifMatch(c *gin.Context) (int64, bool) {
	h := c.GetHeader("If-Match")
	if h == "" || h == "*" {
		return 0, true
	}
	v, err := strconv.ParseInt(trimQuotes(h), 10, 64)
	if err != nil || v <= 0 {
		problem.Status(c.Writer, http.StatusBadRequest, "If-Match must be an ETag this API returned.")
		return 0, false
	}
	return v, true
}

func trimQuotes(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

package api

import (
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/routing"
	"github.com/parleychat/parley/backend/internal/store"
)

// Paging of the REST lists.
const (
	DefaultPageSize = 50
	MaxPageSize     = 100
)

// apiActor names the admin API in the thread's notes ("Assigned to Ana by API").
const apiActor = "API"

// listQuery validates a list's query string: only the named filters plus
// limit and cursor are accepted; it returns the page size and the cursor's value.
func listQuery(c *gin.Context, e *problem.Errors, filters ...string) (limit int, cursor int64) {
	allowed := append([]string{"limit", "cursor"}, filters...)
	for k := range c.Request.URL.Query() {
		if !slices.Contains(allowed, k) {
			e.Add(k, "is not a filter here; use "+strings.Join(allowed, ", "))
		}
	}
	limit = DefaultPageSize
	if v, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			e.Add("limit", "must be a number from 1 to "+strconv.Itoa(MaxPageSize))
		}
		limit = n
	}
	if v, ok := c.GetQuery("cursor"); ok {
		var err error
		if cursor, err = decodeCursor(v); err != nil {
			e.Add("cursor", "is not a cursor this API gave out; use next_cursor of the previous page")
		}
	}
	return limit, cursor
}

// Cursors are opaque to clients: the position (an id or a sequence number) in base64.
// trimPage cuts a list read with limit+1 rows back to limit and returns the
// cursor of the next page, nil on the last one: the extra row only says
// there is more. key gives a row's position (its id, or a message's seq).
func trimPage[T any](rows []T, limit int, key func(*T) int64) ([]T, *string) {
	if len(rows) <= limit {
		return rows, nil
	}
	rows = rows[:limit]
	next := encodeCursor(key(&rows[limit-1]))
	return rows, &next
}

func encodeCursor(n int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("p" + strconv.FormatInt(n, 10)))
}

func decodeCursor(s string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 2 || b[0] != 'p' {
		return 0, errors.New("bad cursor")
	}
	n, err := strconv.ParseInt(string(b[1:]), 10, 64)
	if err != nil || n <= 0 {
		return 0, errors.New("bad cursor")
	}
	return n, nil
}

// idQuery parses an optional positive id filter.
func idQuery(c *gin.Context, e *problem.Errors, name string) int64 {
	v, ok := c.GetQuery(name)
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		e.Add(name, "must be a positive id")
	}
	return n
}

// listConversations: GET /conversations?status=&inbox_id=&assignee_id=(id|none)&label=(id|name)&limit=&cursor=
func (a *API) listConversations(c *gin.Context) {
	var e problem.Errors
	limit, cursor := listQuery(c, &e, "status", "inbox_id", "assignee_id", "label")
	f := store.ConversationFilter{Status: c.Query("status"), InboxID: idQuery(c, &e, "inbox_id"), Before: cursor, Limit: limit + 1}
	if f.Status != "" && f.Status != store.StatusOpen && f.Status != store.StatusClosed {
		e.Add("status", `must be "open" or "closed"`)
	}
	switch v, ok := c.GetQuery("assignee_id"); {
	case !ok:
	case v == "none":
		f.Unassigned = true
	default:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			e.Add("assignee_id", `must be a user id or "none"`)
		}
		f.AssigneeID = n
	}
	label := parseLabelQuery(c, &e)
	if err := e.Err(); err != nil {
		a.fail(c, err)
		return
	}
	var ok bool
	if f.LabelID, ok = a.resolveLabel(c, label); !ok {
		return
	}
	cs, err := a.st.ConversationViews(c, account(c).ID, f)
	if err != nil {
		a.fail(c, err)
		return
	}
	cs, next := trimPage(cs, limit, func(r *store.ConversationView) int64 { return r.ID })
	c.JSON(http.StatusOK, gin.H{"conversations": cs, "next_cursor": next})
}

func (a *API) getConversation(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	a.sendConversation(c, id)
}

func (a *API) sendConversation(c *gin.Context, id int64) {
	cv, err := a.st.ConversationView(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, cv)
}

// conversationMessages: GET /conversations/:id/messages?limit=&cursor= — the
// transcript oldest first, agents' notes included and marked internal.
func (a *API) conversationMessages(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	var e problem.Errors
	limit, after := listQuery(c, &e)
	if err := e.Err(); err != nil {
		a.fail(c, err)
		return
	}
	if _, err := a.st.Conversation(c, account(c).ID, id); err != nil {
		a.fail(c, err)
		return
	}
	ms, err := a.st.MessagesAfter(c, id, after, limit+1, true)
	if err != nil {
		a.fail(c, err)
		return
	}
	ms, next := trimPage(ms, limit, func(r *store.Message) int64 { return r.Seq })
	c.JSON(http.StatusOK, gin.H{"messages": nonNil(ms), "next_cursor": next})
}

type assignInput struct {
	UserID *int64 `json:"user_id"`
	TeamID *int64 `json:"team_id"`
}

// assignConversation: POST /conversations/:id/assign {"user_id": n} or {"team_id": n}.
func (a *API) assignConversation(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	acct := account(c)
	// An unknown conversation is a 404 before anything about the body.
	if _, err := a.st.Conversation(c, acct.ID, id); err != nil {
		a.fail(c, err)
		return
	}
	b, ok := body(c)
	if !ok {
		return
	}
	var in assignInput
	if err := chatflow.DecodeStrict(b, &in); err != nil {
		a.fail(c, err)
		return
	}
	var e problem.Errors
	switch {
	case in.UserID == nil && in.TeamID == nil:
		e.Add("user_id", "give user_id or team_id")
	case in.UserID != nil && in.TeamID != nil:
		e.Add("team_id", "give user_id or team_id, not both")
	case in.UserID != nil && *in.UserID <= 0:
		e.Add("user_id", "no such user")
	case in.TeamID != nil && *in.TeamID <= 0:
		e.Add("team_id", "no such team")
	}
	if err := e.Err(); err != nil {
		a.fail(c, err)
		return
	}
	var userID, teamID int64
	if in.UserID != nil {
		userID = *in.UserID
	} else {
		teamID = *in.TeamID
	}
	err := routing.Assign(c, a.st, acct.ID, id, userID, teamID, apiActor)
	switch {
	case errors.Is(err, routing.ErrUnknownUser):
		e.Add("user_id", "no such user")
	case errors.Is(err, routing.ErrNoSeat):
		e.Add("user_id", "has no seat; only users with a seat can take conversations")
	case errors.Is(err, routing.ErrNotInInbox):
		e.Add("user_id", "is not a member of the conversation's inbox; add them to it first")
	case errors.Is(err, routing.ErrUnknownTeam):
		e.Add("team_id", "no such team")
	case errors.Is(err, routing.ErrClosed):
		problem.Status(c.Writer, http.StatusConflict, "The conversation is closed; reopen it before assigning it.")
		return
	case err != nil:
		a.fail(c, err)
		return
	}
	if err := e.Err(); err != nil {
		a.fail(c, err)
		return
	}
	a.sendConversation(c, id)
}

// closeConversation: POST /conversations/:id/close. Closing a closed one is a no-op.
func (a *API) closeConversation(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	if err := routing.Close(c, a.st, account(c).ID, id); err != nil {
		a.fail(c, err)
		return
	}
	a.sendConversation(c, id)
}

// reopenConversation: POST /conversations/:id/reopen. Reopening an open one is a no-op.
func (a *API) reopenConversation(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	err := routing.Reopen(c, a.st, account(c).ID, id, apiActor)
	if errors.Is(err, routing.ErrNewerOpen) {
		problem.Status(c.Writer, http.StatusConflict, "The visitor has started a newer conversation on this chatflow; continue there.")
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	a.sendConversation(c, id)
}

// reroute places the account's waiting conversations after a change that
// may have made someone eligible (status, seat, capacity, memberships). The
// change itself is already stored: a failure here only delays routing.
func (a *API) reroute(c *gin.Context) {
	if _, err := routing.RouteWaiting(c, a.st, account(c).ID); err != nil {
		slog.Warn("api: routing waiting conversations", "err", err)
	}
}

// registerConversations mounts the conversation and ticket routes.
func (a *API) registerConversations(v1 *gin.RouterGroup) {
	v1.GET("/conversations", a.listConversations)
	v1.GET("/conversations/:id", a.getConversation)
	v1.GET("/conversations/:id/messages", a.conversationMessages)
	v1.POST("/conversations/:id/messages", a.postMessage)
	v1.POST("/conversations/:id/assign", a.assignConversation)
	v1.POST("/conversations/:id/close", a.closeConversation)
	v1.POST("/conversations/:id/reopen", a.reopenConversation)

	v1.GET("/tickets", a.listTickets)
	v1.GET("/tickets/:id", a.getTicket)
	v1.PATCH("/tickets/:id", a.patchTicket)
}

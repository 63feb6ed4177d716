package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
)

// Limits on tickets.
const (
	MaxTicketSubject    = 200
	MaxTicketWord       = 100 // pipeline, status, category, property names
	MaxTicketProperties = 50
)

// listTickets: GET /tickets?status=&pipeline=&limit=&cursor=
func (a *API) listTickets(c *gin.Context) {
	var e problem.Errors
	limit, cursor := listQuery(c, &e, "status", "pipeline")
	if err := e.Err(); err != nil {
		a.fail(c, err)
		return
	}
	ts, err := a.st.Tickets(c, account(c).ID, store.TicketFilter{
		Status: c.Query("status"), Pipeline: c.Query("pipeline"), Before: cursor, Limit: limit + 1})
	if err != nil {
		a.fail(c, err)
		return
	}
	ts, next := trimPage(ts, limit, func(r *store.Ticket) int64 { return r.ID })
	c.JSON(http.StatusOK, gin.H{"tickets": ts, "next_cursor": next})
}

func (a *API) getTicket(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	t, err := a.st.Ticket(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, t)
}

type ticketInput struct {
	Subject    string            `json:"subject"`
	Pipeline   string            `json:"pipeline"`
	Status     string            `json:"status"`
	Priority   string            `json:"priority"`
	Category   string            `json:"category"`
	Properties map[string]string `json:"properties"` // merged: a property set to null or "" is removed
}

// patchTicket: PATCH /tickets/:id. Fields the body names change; properties
// merge. Status "closed" stamps closed_at; the conversation is not touched.
func (a *API) patchTicket(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	t, err := a.st.Ticket(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	props, err := t.PropertyMap()
	if err != nil {
		a.fail(c, err)
		return
	}
	in := ticketInput{Subject: t.Subject, Pipeline: t.Pipeline, Status: t.Status, Priority: t.Priority,
		Category: t.Category, Properties: props}
	b, ok := body(c)
	if !ok {
		return
	}
	if err := chatflow.DecodeStrict(b, &in, "id", "conversation_id", "created_at", "updated_at", "closed_at"); err != nil {
		a.fail(c, err)
		return
	}
	if in.Properties == nil { // "properties": null clears them all
		in.Properties = map[string]string{}
	}
	for k, v := range in.Properties {
		if v == "" {
			delete(in.Properties, k)
		}
	}
	var e problem.Errors
	word := func(field, v string, required bool) {
		switch {
		case required && strings.TrimSpace(v) == "":
			e.Add(field, "is required")
		case strings.ContainsRune(v, 0):
			e.Add(field, "must not contain NUL characters")
		case utf8.RuneCountInString(v) > MaxTicketWord:
			e.Add(field, "must be at most "+strconv.Itoa(MaxTicketWord)+" characters")
		}
	}
	if utf8.RuneCountInString(in.Subject) > MaxTicketSubject || strings.ContainsRune(in.Subject, 0) {
		e.Add("subject", "must be text of at most "+strconv.Itoa(MaxTicketSubject)+" characters")
	}
	word("pipeline", in.Pipeline, true)
	word("status", in.Status, true)
	word("category", in.Category, false)
	if !slices.Contains(chatflow.Priorities, in.Priority) {
		e.Add("priority", `must be one of: "`+strings.Join(chatflow.Priorities, `", "`)+`"`)
	}
	if len(in.Properties) > MaxTicketProperties {
		e.Add("properties", "at most "+strconv.Itoa(MaxTicketProperties)+" properties")
	}
	for k, v := range in.Properties {
		switch {
		case strings.TrimSpace(k) == "" || utf8.RuneCountInString(k) > MaxTicketWord || strings.ContainsRune(k, 0):
			e.Add("properties", "property names must be 1 to "+strconv.Itoa(MaxTicketWord)+" characters")
		case utf8.RuneCountInString(v) > chatflow.MaxTextLen || strings.ContainsRune(v, 0):
			e.Add("properties."+k, "must be at most "+strconv.Itoa(chatflow.MaxTextLen)+" characters")
		}
	}
	if err := e.Err(); err != nil {
		a.fail(c, err)
		return
	}
	raw, _ := json.Marshal(in.Properties)
	t.Subject, t.Pipeline, t.Status, t.Priority, t.Category, t.Properties = in.Subject, in.Pipeline, in.Status, in.Priority, in.Category, raw
	if err := a.st.UpdateTicket(c, t); err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, t)
}

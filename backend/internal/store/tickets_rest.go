package store

import (
	"context"
	"encoding/json"
	"strings"
)

// TicketFilter selects tickets for a list; zero fields do not filter.
type TicketFilter struct {
	Status   string
	Pipeline string
	Before   int64 // paging: only ids below this (0: from the newest)
	Limit    int
}

// Tickets lists the account's tickets matching f, newest first.
func (s *Store) Tickets(ctx context.Context, accountID int64, f TicketFilter) ([]Ticket, error) {
	ts := []Ticket{}
	err := s.db.SelectContext(ctx, &ts, `SELECT `+ticketRowColumns+` FROM tickets WHERE account_id = $1
		AND ($2::text = '' OR status = $2) AND ($3::text = '' OR pipeline = $3) AND ($4::bigint = 0 OR id < $4)
		ORDER BY id DESC LIMIT $5`, accountID, f.Status, f.Pipeline, f.Before, f.Limit)
	return ts, err
}

// Ticket returns ticket id of account.
func (s *Store) Ticket(ctx context.Context, accountID, id int64) (*Ticket, error) {
	var t Ticket
	if err := s.db.GetContext(ctx, &t, `SELECT `+ticketRowColumns+` FROM tickets WHERE id = $1 AND account_id = $2`, id, accountID); err != nil {
		return nil, notFound(err)
	}
	return &t, nil
}

// UpdateTicket writes t's editable fields back and reads the row again.
// Moving to status "closed" stamps closed_at; leaving it clears it.
func (s *Store) UpdateTicket(ctx context.Context, t *Ticket) error {
	props := t.Properties
	if len(props) == 0 {
		props = []byte("{}")
	}
	err := s.db.GetContext(ctx, t, `UPDATE tickets SET subject = $3, pipeline = $4, status = $5, priority = $6, category = $7,
		properties = $8, updated_at = now(),
		closed_at = CASE WHEN $5::text = '`+TicketStatusClosed+`' THEN COALESCE(closed_at, now()) ELSE NULL END
		WHERE id = $1 AND account_id = $2 RETURNING `+ticketRowColumns,
		t.ID, t.AccountID, t.Subject, t.Pipeline, t.Status, t.Priority, t.Category, string(props))
	return notFound(err)
}

// PropertyMap decodes the ticket's custom properties.
func (t *Ticket) PropertyMap() (map[string]string, error) {
	m := map[string]string{}
	if len(t.Properties) == 0 || strings.TrimSpace(string(t.Properties)) == "null" {
		return m, nil
	}
	err := json.Unmarshal(t.Properties, &m)
	return m, err
}

// ConversationView is a conversation as the REST API shows it: the row,
// its ticket's id, and the visitor's address with whether it is proven.
type ConversationView struct {
	Conversation
	TicketID *int64 `db:"ticket_id" json:"ticket_id"`
	// Email is the linked contact's address, else the one the visitor typed
	// (claimed_email); EmailVerified says identification proved it, which a
	// typed address never is.
	Email         string `db:"email" json:"email"`
	EmailVerified bool   `db:"email_verified" json:"email_verified"`
}

// ConversationFilter selects conversations for a list; zero fields do not filter.
type ConversationFilter struct {
	Status     string
	InboxID    int64
	AssigneeID int64
	Unassigned bool  // only conversations without an assignee
	LabelID    int64 // only conversations with this label (the caller checks it is the account's)
	Before     int64 // paging: only ids below this (0: from the newest)
	Limit      int
}

var viewSelect = `SELECT ` + conversationColumnsC + `, t.id AS ticket_id,
	COALESCE(NULLIF(ct.email, ''), c.claimed_email) AS email, COALESCE(ct.email <> '' AND ct.verified, false) AS email_verified
	FROM conversations c LEFT JOIN tickets t ON t.conversation_id = c.id LEFT JOIN contacts ct ON ct.id = c.contact_id`

// ConversationViews lists the account's conversations matching f, newest first.
func (s *Store) ConversationViews(ctx context.Context, accountID int64, f ConversationFilter) ([]ConversationView, error) {
	cs := []ConversationView{}
	err := s.db.SelectContext(ctx, &cs, viewSelect+` WHERE c.account_id = $1
		AND ($2::text = '' OR c.status = $2) AND ($3::bigint = 0 OR c.inbox_id = $3) AND ($4::bigint = 0 OR c.assignee_id = $4)
		AND (NOT $5::boolean OR c.assignee_id IS NULL) AND ($6::bigint = 0 OR c.id < $6)
		AND ($8::bigint = 0 OR c.id IN (SELECT conversation_id FROM conversation_labels WHERE label_id = $8))
		ORDER BY c.id DESC LIMIT $7`, accountID, f.Status, f.InboxID, f.AssigneeID, f.Unassigned, f.Before, f.Limit, f.LabelID)
	return cs, err
}

// ConversationView returns conversation id of account with its ticket's id.
func (s *Store) ConversationView(ctx context.Context, accountID, id int64) (*ConversationView, error) {
	var c ConversationView
	if err := s.db.GetContext(ctx, &c, viewSelect+` WHERE c.id = $1 AND c.account_id = $2`, id, accountID); err != nil {
		return nil, notFound(err)
	}
	return &c, nil
}

package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx/types"
)

// Ticket defaults until chatflows set ticket properties.
const (
	TicketPipelineSupport = "support"
	TicketStatusNew       = "new"
	TicketPriorityMedium  = "medium"
	TicketStatusOpen      = "open"   // a reopened conversation's ticket
	TicketStatusClosed    = "closed" // a closed conversation's ticket; closed_at is set with it
)

// Ticket tracks the work a conversation asks for; every new conversation gets one.
type Ticket struct {
	ID             int64          `db:"id" json:"id"`
	AccountID      int64          `db:"account_id" json:"-"`
	ConversationID *int64         `db:"conversation_id" json:"conversation_id"`
	Subject        string         `db:"subject" json:"subject"`
	Pipeline       string         `db:"pipeline" json:"pipeline"`
	Status         string         `db:"status" json:"status"`
	Priority       string         `db:"priority" json:"priority"`
	Category       string         `db:"category" json:"category"`
	Properties     types.JSONText `db:"properties" json:"properties"`
	CreatedAt      time.Time      `db:"created_at" json:"created_at"`
	UpdatedAt      time.Time      `db:"updated_at" json:"updated_at"`
	ClosedAt       *time.Time     `db:"closed_at" json:"closed_at"`
}

// TicketOfConversation returns the ticket of conversation conversationID of account.
func (s *Store) TicketOfConversation(ctx context.Context, accountID, conversationID int64) (*Ticket, error) {
	var t Ticket
	err := s.db.GetContext(ctx, &t, `SELECT `+ticketRowColumns+` FROM tickets WHERE conversation_id = $1 AND account_id = $2`,
		conversationID, accountID)
	if err != nil {
		return nil, notFound(err)
	}
	return &t, nil
}

package store

import (
	"context"
	"time"
)

// Conversation statuses.
const (
	StatusOpen   = "open"
	StatusClosed = "closed"
)

// Conversation is one chat between a visitor and the team.
type Conversation struct {
	ID          int64  `db:"id" json:"id"`
	AccountID   int64  `db:"account_id" json:"-"`
	PublicID    string `db:"public_id" json:"public_id"`
	ChatflowID  *int64 `db:"chatflow_id" json:"chatflow_id"`
	InboxID     int64  `db:"inbox_id" json:"inbox_id"`
	VisitorID   int64  `db:"visitor_id" json:"visitor_id"`
	ContactID   *int64 `db:"contact_id" json:"contact_id"`
	Status      string `db:"status" json:"status"`
	AssigneeID  *int64 `db:"assignee_id" json:"assignee_id"`
	TeamID      *int64 `db:"team_id" json:"team_id"`
	LastSeq     int64  `db:"last_seq" json:"last_seq"`
	PageURL     string `db:"page_url" json:"page_url"`                 // where it started
	CurrentPage string `db:"current_page_url" json:"current_page_url"` // where the visitor is now; "" until they moved (SetConversationPage)
	Referrer    string `db:"referrer" json:"referrer"`
	UserAgent   string `db:"user_agent" json:"user_agent"`
	// ClaimedEmail is the address the visitor typed into the chat: an
	// unverified claim, never a contact (ClaimEmail); "" when none. It is
	// where a reply by email to this chat goes, and nowhere else.
	ClaimedEmail  string     `db:"claimed_email" json:"claimed_email"`
	CreatedAt     time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt     time.Time  `db:"updated_at" json:"updated_at"`
	LastMessageAt time.Time  `db:"last_message_at" json:"last_message_at"`
	ClosedAt      *time.Time `db:"closed_at" json:"closed_at"`
}

// Conversation returns the conversation id of account.
func (s *Store) Conversation(ctx context.Context, accountID, id int64) (*Conversation, error) {
	var c Conversation
	err := s.db.GetContext(ctx, &c, `SELECT `+conversationColumns+` FROM conversations WHERE id = $1 AND account_id = $2`, id, accountID)
	return &c, notFound(err)
}

// ConversationByPublicID returns the conversation whose public id is publicID.
func (s *Store) ConversationByPublicID(ctx context.Context, publicID string) (*Conversation, error) {
	var c Conversation
	err := s.db.GetContext(ctx, &c, `SELECT `+conversationColumns+` FROM conversations WHERE public_id = $1`, publicID)
	return &c, notFound(err)
}

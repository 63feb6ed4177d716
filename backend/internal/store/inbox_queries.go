package store

import (
	"github.com/lib/pq"

	"context"
	"time"
)

// ConversationSummary is one row of an agent's conversation list: the
// conversation, who the visitor is and its latest message.
type ConversationSummary struct {
	ID            int64     `db:"id"`
	PublicID      string    `db:"public_id"`
	AccountID     int64     `db:"account_id"`
	InboxID       int64     `db:"inbox_id"`
	InboxName     string    `db:"inbox_name"`
	Status        string    `db:"status"`
	LastSeq       int64     `db:"last_seq"`
	PageURL       string    `db:"page_url"`
	CreatedAt     time.Time `db:"created_at"`
	LastMessageAt time.Time `db:"last_message_at"`
	AssigneeName  string    `db:"assignee_name"`
	// VisitorLabel names the visitor: the contact's name or email, the
	// visitor's name, else "Visitor N".
	VisitorLabel string `db:"visitor_label"`
	// ClaimedEmail is the address the visitor typed into the chat: shown
	// marked unverified, never as who the visitor is.
	ClaimedEmail string  `db:"claimed_email"`
	LastBody     string  `db:"last_body"`     // the latest message or note, whole; "" when none
	LastAuthor   string  `db:"last_author"`   // its author type
	LastInternal bool    `db:"last_internal"` // whether it is an agents' note
	AssigneeID   *int64  `db:"assignee_id"`
	AgentReadSeq int64   `db:"agent_read_seq"` // how far the team has read
	Labels       []Label `db:"-"`              // filled by the inbox's list (LabelsOfConversations)
	// UnreadVisitor counts the visitor's messages after AgentReadSeq, up
	// to UnreadCap.
	UnreadVisitor int `db:"unread_visitor"`
}

// Unread reports whether the visitor wrote something the team has not read.
func (c ConversationSummary) Unread() bool {
	return c.LastAuthor == AuthorVisitor && c.AgentReadSeq < c.LastSeq
}

// UnreadMessages is how many of the visitor's messages wait to be read:
// 0 once the team has read or answered the last one.
func (c ConversationSummary) UnreadMessages() int {
	if !c.Unread() {
		return 0
	}
	return max(c.UnreadVisitor, 1)
}

// UnreadCap is the most unread messages a row counts: a page shows "99+"
// beyond 99, and a conversation the team never reads would otherwise cost
// every list read a count of all its messages.
// (summarySelect's LEAST; TestUnreadCountStopsAtCap keeps them equal.)
const UnreadCap = 100

// summarySelect reads ConversationSummary rows; callers add WHERE and ORDER.
const summarySelect = `SELECT c.id, c.public_id, c.account_id, c.inbox_id, i.name AS inbox_name, c.status,
	c.last_seq, c.page_url, c.created_at, c.last_message_at,
	COALESCE(a.name, '') AS assignee_name, c.assignee_id,
	COALESCE(r.agent_read_seq, 0) AS agent_read_seq,
	LEAST(GREATEST(c.visitor_messages - COALESCE(r.visitor_messages_read, 0), 0), 100) AS unread_visitor,
	COALESCE(NULLIF(ct.name, ''), NULLIF(ct.email, ''), NULLIF(v.name, ''), 'Visitor ' || v.id) AS visitor_label, c.claimed_email,
	COALESCE(lm.body, '') AS last_body, COALESCE(lm.author_type, '') AS last_author, COALESCE(lm.internal, false) AS last_internal
	FROM conversations c
	JOIN inboxes i ON i.id = c.inbox_id
	JOIN visitors v ON v.id = c.visitor_id
	LEFT JOIN conversation_reads r ON r.conversation_id = c.id
	LEFT JOIN contacts ct ON ct.id = COALESCE(c.contact_id, v.contact_id)
	LEFT JOIN users a ON a.id = c.assignee_id
	LEFT JOIN LATERAL (SELECT body, author_type, internal FROM messages m
		WHERE m.conversation_id = c.id ORDER BY m.seq DESC LIMIT 1) lm ON true`

// ConversationSummary returns conversation id of account, whatever the
// inbox: callers check membership so they can tell 403 from 404.
func (s *Store) ConversationSummary(ctx context.Context, accountID, id int64) (*ConversationSummary, error) {
	var c ConversationSummary
	err := s.db.GetContext(ctx, &c, summarySelect+` WHERE c.id = $1 AND c.account_id = $2`, id, accountID)
	if err != nil {
		return nil, notFound(err)
	}
	return &c, nil
}

// ConversationSummaries returns the conversations of account among ids, in
// any order; ids of other accounts or of no conversation are left out.
func (s *Store) ConversationSummaries(ctx context.Context, accountID int64, ids []int64) ([]ConversationSummary, error) {
	cs := []ConversationSummary{}
	err := s.db.SelectContext(ctx, &cs, summaryByIDs, pq.Array(ids), accountID)
	return cs, err
}

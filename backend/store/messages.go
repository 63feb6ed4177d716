package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/parleychat/parley/backend/events"
)

// Message authors.
const (
	AuthorVisitor = "visitor"
	AuthorAgent   = "agent"
	AuthorBot     = "bot"
	AuthorSystem  = "system"
)

// Message is one event in a conversation's timeline.
type Message struct {
	ID             int64     `db:"id" json:"id"`
	ConversationID int64     `db:"conversation_id" json:"conversation_id"`
	Seq            int64     `db:"seq" json:"seq"`
	ClientID       *string   `db:"client_id" json:"client_id,omitempty"`
	AuthorType     string    `db:"author_type" json:"author_type"`
	AuthorID       *int64    `db:"author_id" json:"author_id,omitempty"`
	Internal       bool      `db:"internal" json:"internal"`
	Body           string    `db:"body" json:"body"`
	CreatedAt      time.Time `db:"created_at" json:"created_at"`
	AuthorName     string    `db:"author_name" json:"author_name"` // filled by reads; the agent's or visitor's name
	// HasAttachment is filled by MessagesAfter and MessagesBefore: a file
	// belongs to the message (see AttachmentsOfMessages).
	HasAttachment bool `db:"has_attachment" json:"-"`
}

// NewMessage is what a writer supplies.
type NewMessage struct {
	ConversationID int64
	ClientID       string // unique per conversation; empty for none
	AuthorType     string
	AuthorID       int64 // user id for agents; 0 for none
	Internal       bool
	Body           string
	RequireOpen    bool // refuse with ErrConversationClosed if the conversation is closed
}

// ErrConversationClosed refuses a visitor message to a closed conversation.
var ErrConversationClosed = errors.New("store: conversation closed")

// appendMessageSQL is AppendMessage's one statement (see there).
const appendMessageSQL = `WITH existing AS (
			SELECT id FROM messages WHERE conversation_id = $1 AND client_id = $2),
		conv AS (
			UPDATE conversations SET last_seq = last_seq + 1, updated_at = now(),
				-- last_message_at is indexed (list order): moved at most once a
				-- second, so the other updates stay HOT (no index writes).
				last_message_at = CASE WHEN $5::boolean OR last_message_at > now() - interval '1 second'
					THEN last_message_at ELSE now() END
			WHERE id = $1 AND (NOT $7::boolean OR status = 'open') AND NOT EXISTS (SELECT 1 FROM existing)
			RETURNING last_seq, account_id),
		ins AS (
			INSERT INTO messages (conversation_id, seq, client_id, author_type, author_id, internal, body)
			SELECT $1, conv.last_seq, $2, $3, $4, $5, $6 FROM conv
			ON CONFLICT (conversation_id, client_id) DO NOTHING
			RETURNING id, seq, created_at)
		SELECT (SELECT id FROM existing), conv.account_id, ins.id, ins.seq, ins.created_at
		FROM (SELECT 1) AS one LEFT JOIN conv ON true LEFT JOIN ins ON true`

// AppendMessage stores m with the conversation's next sequence number and
// then notifies every backend. It is idempotent: a second append with the
// same ClientID returns the stored message and created=false.
//
// A new message is one statement, so one round trip and a row lock held
// only for its duration: the UPDATE hands out the sequence number under the
// conversation's row lock unless the client id is stored already, and the
// INSERT skips a client id a concurrent twin stored meanwhile (the one case
// that leaves a gap in the sequence, which readers never rely on).
func (s *Store) AppendMessage(ctx context.Context, m NewMessage) (*Message, bool, error) {
	var clientID, authorID any
	if m.ClientID != "" {
		clientID = m.ClientID
	}
	if m.AuthorID != 0 {
		authorID = m.AuthorID
	}
	var account, existing, id sql.NullInt64
	var out Message
	var seq sql.NullInt64
	var at sql.NullTime
	stmt, err := s.prepared(ctx, appendMessageSQL)
	if err != nil {
		return nil, false, err
	}
	err = stmt.QueryRowxContext(ctx,
		m.ConversationID, clientID, m.AuthorType, authorID, m.Internal, m.Body, m.RequireOpen).
		Scan(&existing, &account, &id, &seq, &at)
	switch {
	case err != nil:
		return nil, false, err
	case existing.Valid || (account.Valid && !id.Valid):
		// Stored before (a resend), or by a concurrent twin that won the row lock.
		var prior Message
		err := s.db.GetContext(ctx, &prior, `SELECT m.*, '' AS author_name FROM messages m
			WHERE conversation_id = $1 AND client_id = $2`, m.ConversationID, m.ClientID)
		return &prior, false, err
	case !account.Valid: // no such conversation, or closed
		var status string
		if err := s.db.GetContext(ctx, &status, `SELECT status FROM conversations WHERE id = $1`, m.ConversationID); err != nil {
			return nil, false, notFound(err)
		}
		return nil, false, ErrConversationClosed
	}
	out.Seq, out.CreatedAt = seq.Int64, at.Time
	out.ID, out.ConversationID, out.AuthorType, out.Internal, out.Body = id.Int64, m.ConversationID, m.AuthorType, m.Internal, m.Body
	if m.ClientID != "" {
		out.ClientID = &m.ClientID
	}
	if m.AuthorID != 0 {
		out.AuthorID = &m.AuthorID
	}
	s.notify(ctx, events.Notice{Account: account.Int64, Conversation: m.ConversationID, Seq: out.Seq, Kind: events.KindMessage})
	return &out, true, nil
}

// hasAttachment is the select-list column filling Message.HasAttachment
// (one probe of the attachments' unique index per message).
const hasAttachment = `EXISTS (SELECT 1 FROM attachments a
	WHERE a.conversation_id = m.conversation_id AND a.client_id = m.client_id) AS has_attachment`

// MessagesAfter returns up to limit messages of a conversation with seq > after,
// in order, with author names. withInternal includes agents' notes.
func (s *Store) MessagesAfter(ctx context.Context, conversationID, after int64, limit int, withInternal bool) ([]Message, error) {
	stmt, err := s.prepared(ctx, `SELECT m.*, COALESCE(u.name, '') AS author_name, `+hasAttachment+`
		FROM messages m LEFT JOIN users u ON m.author_type = 'agent' AND u.id = m.author_id
		WHERE m.conversation_id = $1 AND m.seq > $2 AND ($3 OR NOT m.internal)
		ORDER BY m.seq LIMIT $4`)
	if err != nil {
		return nil, err
	}
	var ms []Message
	err = stmt.SelectContext(ctx, &ms, conversationID, after, withInternal, limit)
	return ms, err
}

// MessagesBefore returns up to limit messages with seq < before, oldest first:
// the page above what a thread already shows.
func (s *Store) MessagesBefore(ctx context.Context, conversationID, before int64, limit int, withInternal bool) ([]Message, error) {
	var ms []Message
	err := s.db.SelectContext(ctx, &ms, `SELECT * FROM (SELECT m.*, COALESCE(u.name, '') AS author_name, `+hasAttachment+`
		FROM messages m LEFT JOIN users u ON m.author_type = 'agent' AND u.id = m.author_id
		WHERE m.conversation_id = $1 AND m.seq < $2 AND ($3 OR NOT m.internal)
		ORDER BY m.seq DESC LIMIT $4) page ORDER BY seq`, conversationID, before, withInternal, limit)
	return ms, err
}

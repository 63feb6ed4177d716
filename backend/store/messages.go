package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

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

// AppendMessage stores m with the conversation's next sequence number and
// notifies every backend on commit. It is idempotent: a second append with the
// same ClientID returns the stored message and created=false.
func (s *Store) AppendMessage(ctx context.Context, m NewMessage) (msg *Message, created bool, err error) {
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		var clientID any
		if m.ClientID != "" {
			clientID = m.ClientID
			var existing Message
			err := tx.GetContext(ctx, &existing, `SELECT m.*, '' AS author_name FROM messages m
				WHERE conversation_id = $1 AND client_id = $2`, m.ConversationID, m.ClientID)
			if err == nil {
				msg = &existing
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		// The row lock on the conversation serialises sequence numbers.
		var seq, account int64
		var status string
		err := tx.QueryRowxContext(ctx, `UPDATE conversations SET last_seq = last_seq + 1, updated_at = now(),
			last_message_at = CASE WHEN $2 THEN last_message_at ELSE now() END
			WHERE id = $1 RETURNING last_seq, account_id, status`, m.ConversationID, m.Internal).Scan(&seq, &account, &status)
		if err != nil {
			return notFound(err)
		}
		if m.RequireOpen && status != StatusOpen {
			return ErrConversationClosed // checked under the row lock: no race with a close
		}
		if m.ClientID != "" {
			// A concurrent append with the same client id may have committed while we waited for the lock.
			var existing Message
			err := tx.GetContext(ctx, &existing, `SELECT m.*, '' AS author_name FROM messages m
				WHERE conversation_id = $1 AND client_id = $2`, m.ConversationID, m.ClientID)
			if err == nil {
				msg = &existing
				return errRollback
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		var authorID any
		if m.AuthorID != 0 {
			authorID = m.AuthorID
		}
		var out Message
		err = tx.GetContext(ctx, &out, `INSERT INTO messages (conversation_id, seq, client_id, author_type, author_id, internal, body)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *, '' AS author_name`,
			m.ConversationID, seq, clientID, m.AuthorType, authorID, m.Internal, m.Body)
		if err != nil {
			return err
		}
		msg, created = &out, true
		return events.Notify(ctx, tx, events.Notice{Account: account, Conversation: m.ConversationID, Seq: seq, Kind: events.KindMessage})
	})
	if errors.Is(err, errRollback) {
		err = nil
	}
	return msg, created, err
}

// errRollback rolls a transaction back without it being an error.
var errRollback = errors.New("rollback")

// MessagesAfter returns up to limit messages of a conversation with seq > after,
// in order, with author names. withInternal includes agents' notes.
func (s *Store) MessagesAfter(ctx context.Context, conversationID, after int64, limit int, withInternal bool) ([]Message, error) {
	var ms []Message
	err := s.db.SelectContext(ctx, &ms, `SELECT m.*, COALESCE(u.name, '') AS author_name
		FROM messages m LEFT JOIN users u ON m.author_type = 'agent' AND u.id = m.author_id
		WHERE m.conversation_id = $1 AND m.seq > $2 AND ($3 OR NOT m.internal)
		ORDER BY m.seq LIMIT $4`, conversationID, after, withInternal, limit)
	return ms, err
}

// MessagesBefore returns up to limit messages with seq < before, oldest first:
// the page above what a thread already shows.
func (s *Store) MessagesBefore(ctx context.Context, conversationID, before int64, limit int, withInternal bool) ([]Message, error) {
	var ms []Message
	err := s.db.SelectContext(ctx, &ms, `SELECT * FROM (SELECT m.*, COALESCE(u.name, '') AS author_name
		FROM messages m LEFT JOIN users u ON m.author_type = 'agent' AND u.id = m.author_id
		WHERE m.conversation_id = $1 AND m.seq < $2 AND ($3 OR NOT m.internal)
		ORDER BY m.seq DESC LIMIT $4) page ORDER BY seq`, conversationID, before, withInternal, limit)
	return ms, err
}

package store

import (
	"context"
	"errors"
	"time"

	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/widget"
)

// Message authors.
const (
	AuthorVisitor = widget.FromVisitor
	AuthorAgent   = widget.FromAgent
	AuthorBot     = widget.FromBot
	AuthorSystem  = widget.FromSystem
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
	// ConfirmOffline marks the conversation, in the message's own commit,
	// for the email confirming a message left while nobody could answer
	// (written by the mail job, once per conversation).
	ConfirmOffline bool

	withFile bool // set by AddAttachment: the message carries a file
}

// ErrConversationClosed refuses a visitor message to a closed conversation.
var ErrConversationClosed = errors.New("store: conversation closed")

// AppendMessage stores m with the conversation's next sequence number and
// then notifies every backend. It is idempotent: a second append with the
// same ClientID returns the stored message and created=false.
//
// Appends are written in batches (append.go): the conversation's row lock
// hands out the sequence number unless the client id is stored already, and
// the INSERT skips a client id a concurrent twin stored meanwhile (the one
// case that leaves a gap in the sequence, which readers never rely on).
func (s *Store) AppendMessage(ctx context.Context, m NewMessage) (*Message, bool, error) {
	r := &appendReq{m: m, done: make(chan appendRes, 1)}
	s.submitAppend(r)
	var res appendRes
	select {
	case res = <-r.done:
	case <-ctx.Done():
		// The batch may still commit it; the caller's retry finds it stored.
		return nil, false, ctx.Err()
	}
	switch {
	case res.err != nil:
		return nil, false, res.err
	case res.storedBefore || (res.account.Valid && !res.refused && !res.id.Valid):
		// Stored before (a resend), or by a concurrent twin that won the row lock.
		var prior Message
		err := s.db.GetContext(ctx, &prior, `SELECT `+messageColumnsM+`, '' AS author_name FROM messages m
			WHERE conversation_id = $1 AND client_id = $2`, m.ConversationID, m.ClientID)
		return &prior, false, err
	case !res.account.Valid: // no such conversation
		return nil, false, ErrNotFound
	case res.refused:
		return nil, false, ErrConversationClosed
	}
	out := r.stored(res)
	if s.send == nil {
		// No batching sender: a NOTIFY of its own, from the caller's
		// goroutine (the batch announced nothing).
		s.notify(ctx, r.notice(res))
	}
	return &out, true, nil
}

// stored is the message r became, as its batch reported it (res).
func (r *appendReq) stored(res appendRes) Message {
	m := &r.m
	out := Message{ID: res.id.Int64, ConversationID: m.ConversationID, Seq: res.seq.Int64, AuthorType: m.AuthorType,
		Internal: m.Internal, Body: m.Body, CreatedAt: res.at.Time, HasAttachment: m.withFile}
	if m.ClientID != "" {
		out.ClientID = &m.ClientID
	}
	if m.AuthorID != 0 {
		out.AuthorID = &m.AuthorID
	}
	return out
}

// notice announces the message r became, carrying a copy of it for this
// process's subscribers.
func (r *appendReq) notice(res appendRes) events.Notice {
	local := r.stored(res)
	return events.Notice{Account: res.account.Int64, Conversation: r.m.ConversationID, Seq: local.Seq,
		Kind: events.KindMessage, Internal: r.m.Internal, Local: &local}
}

// hasAttachment is the select-list column filling Message.HasAttachment
// (one probe of the attachments' unique index per message).
const hasAttachment = `EXISTS (SELECT 1 FROM attachments a
	WHERE a.conversation_id = m.conversation_id AND a.client_id = m.client_id) AS has_attachment`

// MessagesAfter returns up to limit messages of a conversation with seq > after,
// in order, with author names. withInternal includes agents' notes.
func (s *Store) MessagesAfter(ctx context.Context, conversationID, after int64, limit int, withInternal bool) ([]Message, error) {
	stmt, err := s.prepared(ctx, `SELECT `+messageColumnsM+`, COALESCE(u.name, '') AS author_name, `+hasAttachment+`
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
	err := s.db.SelectContext(ctx, &ms, `SELECT `+messageColumns+`, author_name, has_attachment FROM (SELECT `+messageColumnsM+`, COALESCE(u.name, '') AS author_name, `+hasAttachment+`
		FROM messages m LEFT JOIN users u ON m.author_type = 'agent' AND u.id = m.author_id
		WHERE m.conversation_id = $1 AND m.seq < $2 AND ($3 OR NOT m.internal)
		ORDER BY m.seq DESC LIMIT $4) page ORDER BY seq`, conversationID, before, withInternal, limit)
	return ms, err
}

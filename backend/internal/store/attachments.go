package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/lib/pq"
)

// Attachment is a file sent in a conversation (without its bytes).
type Attachment struct {
	ID             int64     `db:"id" json:"-"`
	PublicID       string    `db:"public_id" json:"id"`
	AccountID      int64     `db:"account_id" json:"-"`
	ConversationID int64     `db:"conversation_id" json:"-"`
	ClientID       string    `db:"client_id" json:"-"` // of the message carrying it
	Filename       string    `db:"filename" json:"name"`
	ContentType    string    `db:"content_type" json:"type"`
	Size           int64     `db:"size" json:"size"`
	CreatedAt      time.Time `db:"created_at" json:"created_at"`
}

// attachmentCols are the columns of Attachment (every one but data).
const attachmentCols = `a.id, a.public_id, a.account_id, a.conversation_id, a.client_id, a.filename, a.content_type, a.size, a.created_at`

// NewAttachment is a file to store with the message that carries it.
type NewAttachment struct {
	Message     NewMessage // ClientID is required; Body is the caption, the file name when empty
	Filename    string
	ContentType string // already checked against the allowed types
	Data        []byte
}

// ErrNoClientID refuses an attachment without a message client id.
var ErrNoClientID = errors.New("store: an attachment needs the message's client id")

// AddAttachment stores a file, then the message that carries it: the file
// is durable before any reader can see its message. It is idempotent by
// the message's ClientID: a repeat returns the first upload's message and
// attachment, storing nothing new. If the message is refused (a closed
// conversation), the file is removed again.
func (s *Store) AddAttachment(ctx context.Context, n NewAttachment) (*Message, *Attachment, error) {
	if n.Message.ClientID == "" {
		return nil, nil, ErrNoClientID
	}
	if n.Message.Body == "" {
		n.Message.Body = n.Filename
	}
	var a Attachment
	err := s.db.GetContext(ctx, &a, `INSERT INTO attachments AS a (public_id, account_id, conversation_id, client_id, filename, content_type, size, data)
		SELECT $1, c.account_id, c.id, $3, $4, $5, $6, $7 FROM conversations c WHERE c.id = $2
		ON CONFLICT (conversation_id, client_id) DO NOTHING RETURNING `+attachmentCols,
		NewPublicID("att")+NewToken()[:16], n.Message.ConversationID, n.Message.ClientID, n.Filename, n.ContentType, len(n.Data), n.Data)
	fresh := err == nil
	if errors.Is(err, sql.ErrNoRows) {
		// A retry (or an unknown conversation): read what is there.
		err = s.db.GetContext(ctx, &a, `SELECT `+attachmentCols+` FROM attachments a WHERE conversation_id = $1 AND client_id = $2`,
			n.Message.ConversationID, n.Message.ClientID)
	}
	if err != nil {
		return nil, nil, notFound(err)
	}
	n.Message.withFile = true
	m, _, err := s.AppendMessage(ctx, n.Message)
	if err != nil {
		if fresh {
			s.db.ExecContext(ctx, `DELETE FROM attachments WHERE id = $1`, a.ID)
		}
		return nil, nil, err
	}
	return m, &a, nil
}

// AttachmentByPublicID returns an attachment's metadata and whether the
// message carrying it is an internal note (or has no message: not shown).
func (s *Store) AttachmentByPublicID(ctx context.Context, publicID string) (*Attachment, bool, error) {
	var a struct {
		Attachment
		Internal bool `db:"internal"`
	}
	err := s.db.GetContext(ctx, &a, `SELECT `+attachmentCols+`, COALESCE(m.internal, true) AS internal
		FROM attachments a LEFT JOIN messages m ON m.conversation_id = a.conversation_id AND m.client_id = a.client_id
		WHERE a.public_id = $1`, publicID)
	if err != nil {
		return nil, false, notFound(err)
	}
	return &a.Attachment, a.Internal, nil
}

// AttachmentData returns the bytes of attachment id.
func (s *Store) AttachmentData(ctx context.Context, id int64) ([]byte, error) {
	var b []byte
	err := s.db.GetContext(ctx, &b, `SELECT data FROM attachments WHERE id = $1`, id)
	return b, notFound(err)
}

// AttachmentsOfMessages is AttachmentsOf for messages read by MessagesAfter
// or MessagesBefore: only those with HasAttachment are looked up, so a batch
// of plain messages (nearly every batch) costs no query.
func (s *Store) AttachmentsOfMessages(ctx context.Context, ms []Message) (map[int64]*Attachment, error) {
	var ids []int64
	for _, m := range ms {
		if m.HasAttachment {
			ids = append(ids, m.ID)
		}
	}
	return s.AttachmentsOf(ctx, ids)
}

// AttachmentsOf returns the attachments of the given messages, by message id.
func (s *Store) AttachmentsOf(ctx context.Context, messageIDs []int64) (map[int64]*Attachment, error) {
	out := map[int64]*Attachment{}
	if len(messageIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		MessageID int64 `db:"message_id"`
		Attachment
	}
	err := s.db.SelectContext(ctx, &rows, `SELECT m.id AS message_id, `+attachmentCols+`
		FROM messages m JOIN attachments a ON a.conversation_id = m.conversation_id AND a.client_id = m.client_id
		WHERE m.id = ANY($1)`, pq.Array(messageIDs))
	for i := range rows {
		out[rows[i].MessageID] = &rows[i].Attachment
	}
	return out, err
}

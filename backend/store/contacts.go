package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleychat/parley/backend/events"
)

// Contact is a person the account knows by email: visitors who left their
// address, identified visitors, and their conversations point to one.
type Contact struct {
	ID         int64     `db:"id" json:"id"`
	AccountID  int64     `db:"account_id" json:"-"`
	Email      string    `db:"email" json:"email"`
	Name       string    `db:"name" json:"name"`
	Properties []byte    `db:"properties" json:"-"`
	Marketing  bool      `db:"marketing" json:"marketing"`
	CreatedAt  time.Time `db:"created_at" json:"created_at"`
	UpdatedAt  time.Time `db:"updated_at" json:"updated_at"`
}

// CaptureEmail stores an address a visitor left: it finds the account's
// contact with that email (case-insensitively) or creates one, and links
// the visitor and, when conversationID is not 0, that conversation of the
// visitor to it, all in one transaction. Agents' lists learn of it on
// commit (events.KindConversation). The caller validates the address.
func (s *Store) CaptureEmail(ctx context.Context, accountID, visitorID, conversationID int64, email string) (*Contact, error) {
	email = cleanText(email, 254)
	var c Contact
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		// The no-op update makes RETURNING give the existing row on a conflict.
		err := tx.GetContext(ctx, &c, `INSERT INTO contacts (account_id, email) VALUES ($1, $2)
			ON CONFLICT (account_id, lower(email)) WHERE email <> '' DO UPDATE SET updated_at = now()
			RETURNING `+contactColumns, accountID, email)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE visitors SET contact_id = $1 WHERE id = $2 AND account_id = $3`, c.ID, visitorID, accountID)
		if err := rowsOrNotFound(res, err); err != nil {
			return err
		}
		if conversationID == 0 {
			return nil
		}
		res, err = tx.ExecContext(ctx, `UPDATE conversations SET contact_id = $1, updated_at = now()
			WHERE id = $2 AND account_id = $3 AND visitor_id = $4`, c.ID, conversationID, accountID, visitorID)
		if err := rowsOrNotFound(res, err); err != nil {
			return err
		}
		return events.Notify(ctx, tx, events.Notice{Account: accountID, Conversation: conversationID, Kind: events.KindConversation})
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// LinkConversationContact points a conversation of the visitor to the
// visitor's contact, if the visitor has one: an address left before the
// conversation started still reaches it.
func (s *Store) LinkConversationContact(ctx context.Context, conversationID, visitorID int64) error {
	_, err := s.db.ExecContext(ctx, `UPDATE conversations c SET contact_id = v.contact_id
		FROM visitors v WHERE c.id = $1 AND v.id = $2 AND c.visitor_id = v.id AND v.contact_id IS NOT NULL AND c.contact_id IS NULL`,
		conversationID, visitorID)
	return err
}

// Contact returns contact id of account.
func (s *Store) Contact(ctx context.Context, accountID, id int64) (*Contact, error) {
	var c Contact
	err := s.db.GetContext(ctx, &c, `SELECT `+contactColumns+` FROM contacts WHERE id = $1 AND account_id = $2`, id, accountID)
	if err != nil {
		return nil, notFound(err)
	}
	return &c, nil
}

// ContactByEmail returns the account's contact with email, compared case-insensitively.
func (s *Store) ContactByEmail(ctx context.Context, accountID int64, email string) (*Contact, error) {
	var c Contact
	err := s.db.GetContext(ctx, &c, `SELECT `+contactColumns+` FROM contacts WHERE account_id = $1 AND lower(email) = lower($2) AND email <> ''`, accountID, email)
	if err != nil {
		return nil, notFound(err)
	}
	return &c, nil
}

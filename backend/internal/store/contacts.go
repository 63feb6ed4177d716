package store

import (
	"context"
	"time"
)

// Contact is a person the account knows by email, made and proven by
// identification: identified visitors and their conversations point to
// one. An address typed into a chat is only a claim (ClaimEmail).
type Contact struct {
	ID         int64  `db:"id" json:"id"`
	AccountID  int64  `db:"account_id" json:"-"`
	Email      string `db:"email" json:"email"`
	Name       string `db:"name" json:"name"`
	Properties []byte `db:"properties" json:"-"`
	Marketing  bool   `db:"marketing" json:"marketing"`
	// SourceChatflowID is the chatflow the contact first chatted through
	// (its first identified hello), SourcedAt when; a chatflow with
	// options.marketing_contacts on makes its contacts marketing contacts.
	SourceChatflowID *int64     `db:"source_chatflow_id" json:"source_chatflow_id"`
	SourcedAt        *time.Time `db:"sourced_at" json:"sourced_at"`
	// Verified says identification proved the address (always, for a
	// contact made since typed addresses stopped making contacts).
	Verified  bool      `db:"verified" json:"verified"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
	UpdatedAt time.Time `db:"updated_at" json:"updated_at"`
}

// SourceContact records that contact id of account first chatted through
// chatflowID, once: the first call for a contact sets its source (and
// marks it a marketing contact when marketing is true); later calls
// change nothing.
func (s *Store) SourceContact(ctx context.Context, accountID, id, chatflowID int64, marketing bool) error {
	_, err := s.db.ExecContext(ctx, `UPDATE contacts SET source_chatflow_id = $3, sourced_at = now(),
		marketing = marketing OR $4, updated_at = now()
		WHERE id = $1 AND account_id = $2 AND sourced_at IS NULL`, id, accountID, chatflowID, marketing)
	return err
}

// LinkConversationContact points a conversation of the visitor to the
// visitor's contact, if the visitor has one (it was identified before the
// conversation started).
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

package store

import (
	"context"
)

// What the chat engine needs for consent and identification on a live
// socket (backend/internal/chat): the visitor's latest decision, consents given
// before a conversation existed, identified visitors' links.

// LatestConsent returns the newest consent record of kind on chatflow
// chatflowID given by visitorID, or by the contact the visitor is linked
// to on any visitor (an identified visitor agreed in another browser).
// ErrNotFound when there is none.
func (s *Store) LatestConsent(ctx context.Context, accountID, visitorID, chatflowID int64, kind string) (*Consent, error) {
	var c Consent
	err := s.db.GetContext(ctx, &c, `SELECT `+consentColumns+` FROM consents WHERE account_id = $1 AND kind = $4 AND chatflow_id = $3
		AND (visitor_id = $2 OR contact_id = (SELECT contact_id FROM visitors WHERE id = $2 AND account_id = $1))
		ORDER BY id DESC LIMIT 1`, accountID, visitorID, chatflowID, kind)
	if err != nil {
		return nil, notFound(err)
	}
	return &c, nil
}

// AttachConsents points the consent records visitorID gave on chatflowID
// before any conversation to conversation convID, so agents see them beside
// it. It returns how many it attached.
func (s *Store) AttachConsents(ctx context.Context, accountID, visitorID, chatflowID, convID int64) (int64, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE consents SET conversation_id = $4,
		contact_id = COALESCE(contact_id, (SELECT contact_id FROM conversations WHERE id = $4 AND account_id = $1))
		WHERE account_id = $1 AND visitor_id = $2 AND chatflow_id = $3 AND conversation_id IS NULL
		AND EXISTS (SELECT 1 FROM conversations WHERE id = $4 AND account_id = $1 AND visitor_id = $2)`,
		accountID, visitorID, chatflowID, convID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// LinkVisitorContact links visitorID of account to contactID (an
// identified visitor) and its open conversations without a contact.
func (s *Store) LinkVisitorContact(ctx context.Context, accountID, visitorID, contactID int64) error {
	res, err := s.db.ExecContext(ctx, `UPDATE visitors SET contact_id = $3 WHERE id = $2 AND account_id = $1
		AND EXISTS (SELECT 1 FROM contacts WHERE id = $3 AND account_id = $1)`, accountID, visitorID, contactID)
	if err := rowsOrNotFound(res, err); err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `UPDATE conversations SET contact_id = $3, updated_at = now()
		WHERE account_id = $1 AND visitor_id = $2 AND contact_id IS NULL AND status = 'open'`, accountID, visitorID, contactID)
	return err
}

// VisitorExists reports whether visitor id of account still exists (an
// erasure deletes visitors).
func (s *Store) VisitorExists(ctx context.Context, accountID, id int64) (bool, error) {
	var ok bool
	err := s.db.GetContext(ctx, &ok, `SELECT EXISTS (SELECT 1 FROM visitors WHERE id = $1 AND account_id = $2)`, id, accountID)
	return ok, err
}

// AdoptContactConversation hands an open conversation of contactID on
// chatflowID to visitorID, for an identified visitor arriving in a new
// browser or page without a visitor cookie: the conversation follows the
// contact. convID names the conversation (it must be the contact's); 0
// takes the contact's newest open one. ErrNotFound when there is none.
func (s *Store) AdoptContactConversation(ctx context.Context, accountID, contactID, chatflowID, visitorID, convID int64) (*Conversation, error) {
	var c Conversation
	err := s.db.GetContext(ctx, &c, `UPDATE conversations SET visitor_id = $4, updated_at = now()
		WHERE id = (SELECT id FROM conversations WHERE account_id = $1 AND contact_id = $2 AND chatflow_id = $3
			AND status = 'open' AND ($5::bigint = 0 OR id = $5) ORDER BY id DESC LIMIT 1)
		AND EXISTS (SELECT 1 FROM visitors WHERE id = $4 AND account_id = $1 AND contact_id = $2)
		RETURNING `+conversationColumns, accountID, contactID, chatflowID, visitorID, convID)
	if err != nil {
		return nil, notFound(err)
	}
	return &c, nil
}

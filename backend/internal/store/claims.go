package store

import (
	"context"

	"github.com/jmoiron/sqlx"

	"github.com/parleychat/parley/backend/internal/events"
)

// ClaimEmail keeps an address a visitor typed into a chat (email capture, a
// bot's question) as what it is: the visitor's unverified claim. It is
// stored on the visitor, so conversations it starts later carry it too, and
// on conversation conversationID of that visitor when not 0; agents see it
// marked unverified and a reply by email to that chat may go to it.
//
// It never touches contacts: anyone can type anyone's address, so a claim
// must not merge with, read or change an existing contact's data, consents
// or conversations, nor make a contact that a later identification of the
// real owner would merge into. Only identification (IdentifyContact, then
// LinkVisitorContact) links a visitor to a contact. Agents' lists learn of
// the claim on commit. The caller validates the address.
func (s *Store) ClaimEmail(ctx context.Context, accountID, visitorID, conversationID int64, email string) error {
	return s.claimEmail(ctx, accountID, visitorID, conversationID, email, false)
}

// ClaimEmailConfirmingOffline is ClaimEmail for a visitor whose message in
// the conversation was left while nobody could answer: in the same
// transaction it marks the conversation for the email confirming it.
func (s *Store) ClaimEmailConfirmingOffline(ctx context.Context, accountID, visitorID, conversationID int64, email string) error {
	return s.claimEmail(ctx, accountID, visitorID, conversationID, email, true)
}

func (s *Store) claimEmail(ctx context.Context, accountID, visitorID, conversationID int64, email string, confirmOffline bool) error {
	email = cleanText(email, 254)
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE visitors SET claimed_email = $3 WHERE id = $1 AND account_id = $2`, visitorID, accountID, email)
		if err := rowsOrNotFound(res, err); err != nil {
			return err
		}
		if conversationID == 0 {
			return nil
		}
		res, err = tx.ExecContext(ctx, `UPDATE conversations SET claimed_email = $4, updated_at = now()
			WHERE id = $1 AND account_id = $2 AND visitor_id = $3`, conversationID, accountID, visitorID, email)
		if err := rowsOrNotFound(res, err); err != nil {
			return err
		}
		if confirmOffline {
			if _, err := tx.ExecContext(ctx, `INSERT INTO mail_due (conversation_id, kind) VALUES ($1, 'offline')
				ON CONFLICT (conversation_id, kind) DO NOTHING`, conversationID); err != nil {
				return err
			}
		}
		announce(tx, events.Notice{Account: accountID, Conversation: conversationID, Kind: events.KindConversation})
		return nil
	})
}

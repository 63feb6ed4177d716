package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/jmoiron/sqlx/types"
	"github.com/lib/pq"

	"github.com/parleychat/parley/backend/internal/events"
)

// Bot kinds of a bot state: the chatflow types that run a bot.
const (
	BotKindRule          = "rule_bot"
	BotKindCustomerAgent = "customer_agent"
)

// BotState is where one conversation is in its bot. The chat engine owns
// State's meaning (backend/internal/bot's State for rule bots); the store keeps it
// so it survives reconnects and restarts.
type BotState struct {
	ConversationID int64          `db:"conversation_id"`
	AccountID      int64          `db:"account_id"`
	Kind           string         `db:"kind"`
	BotID          *int64         `db:"bot_id"`
	Active         bool           `db:"active"` // false once a human took over or the flow ended
	State          types.JSONText `db:"state"`
	PendingContact types.JSONText `db:"pending_contact"` // contact answers waiting for a contact
	CreatedAt      time.Time      `db:"created_at"`
	UpdatedAt      time.Time      `db:"updated_at"`
}

// Pending decodes the contact answers waiting for a contact.
func (b *BotState) Pending() map[string]string {
	m := map[string]string{}
	if len(b.PendingContact) > 0 {
		json.Unmarshal(b.PendingContact, &m)
	}
	return m
}

// StartBot records that a bot of kind runs in conversation convID of
// account (botID is the rule bot, 0 for the customer agent). It reports
// whether this call started it: a second start is a no-op.
func (s *Store) StartBot(ctx context.Context, accountID, convID int64, kind string, botID int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO bot_states (conversation_id, account_id, kind, bot_id)
		SELECT id, account_id, $3, $4 FROM conversations WHERE id = $1 AND account_id = $2
		ON CONFLICT (conversation_id) DO NOTHING`, convID, accountID, kind, nullID(botID))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// BotStateOf returns the bot state of conversation convID, or ErrNotFound
// when no bot runs in it.
func (s *Store) BotStateOf(ctx context.Context, convID int64) (*BotState, error) {
	var b BotState
	if err := s.db.GetContext(ctx, &b, `SELECT `+botStateColumns+` FROM bot_states WHERE conversation_id = $1`, convID); err != nil {
		return nil, notFound(err)
	}
	return &b, nil
}

// UpdateBotState runs fn on the bot state of convID under its row lock and
// writes back what fn leaves in it (Active, State, PendingContact) when fn
// returns nil. Two sockets of one visitor thus take turns: the second reads
// what the first wrote. fn must not use the database: the transaction holds
// a pooled connection, and waiting for a second one under the lock could
// starve the pool. Decide in fn, act after.
func (s *Store) UpdateBotState(ctx context.Context, convID int64, fn func(*BotState) error) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var b BotState
		if err := tx.GetContext(ctx, &b, `SELECT `+botStateColumns+` FROM bot_states WHERE conversation_id = $1 FOR UPDATE`, convID); err != nil {
			return notFound(err)
		}
		if err := fn(&b); err != nil {
			return err
		}
		state, pending := b.State, b.PendingContact
		if len(state) == 0 {
			state = types.JSONText("{}")
		}
		if len(pending) == 0 {
			pending = types.JSONText("{}")
		}
		_, err := tx.ExecContext(ctx, `UPDATE bot_states SET active = $2, state = $3, pending_contact = $4, updated_at = now()
			WHERE conversation_id = $1`, convID, b.Active, string(state), string(pending))
		return err
	})
}

// BotMessage is what a bot message carries beyond its text.
type BotMessage struct {
	MessageID      int64          `db:"message_id"`
	ConversationID int64          `db:"conversation_id"`
	QuickReplies   types.JSONText `db:"quick_replies"` // JSON array of labels
	Link           string         `db:"link"`
	LinkTitle      string         `db:"link_title"`
}

// Replies decodes the quick replies.
func (b *BotMessage) Replies() []string {
	var out []string
	if len(b.QuickReplies) > 0 {
		json.Unmarshal(b.QuickReplies, &out)
	}
	return out
}

// SaveBotMessage stores what bot message messageID of convID carries;
// saving it again changes nothing.
func (s *Store) SaveBotMessage(ctx context.Context, convID, messageID int64, quickReplies []string, link, linkTitle string) error {
	if quickReplies == nil {
		quickReplies = []string{}
	}
	qr, err := json.Marshal(quickReplies)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO bot_messages (message_id, conversation_id, quick_replies, link, link_title)
		SELECT id, conversation_id, $3, $4, $5 FROM messages WHERE id = $1 AND conversation_id = $2
		ON CONFLICT (message_id) DO NOTHING`, messageID, convID, string(qr), cleanText(link, 2000), cleanText(linkTitle, 500))
	return err
}

// BotMessages returns what the bot messages among ids carry, by message id.
func (s *Store) BotMessages(ctx context.Context, ids []int64) (map[int64]*BotMessage, error) {
	var rows []BotMessage
	if err := s.db.SelectContext(ctx, &rows, `SELECT `+botMessageColumns+` FROM bot_messages WHERE message_id = ANY($1)`, pq.Array(ids)); err != nil {
		return nil, err
	}
	out := make(map[int64]*BotMessage, len(rows))
	for i := range rows {
		out[rows[i].MessageID] = &rows[i]
	}
	return out, nil
}

// SetContactFields writes answers onto contact id of account: "name" is
// the contact's name, anything else a property. Agents' lists hear of it.
func (s *Store) SetContactFields(ctx context.Context, accountID, id int64, fields map[string]string) error {
	if len(fields) == 0 {
		return nil
	}
	props := map[string]string{}
	name := ""
	for k, v := range fields {
		if k == "name" {
			name = cleanText(v, 200)
			continue
		}
		props[k] = cleanText(v, 1000)
	}
	b, _ := json.Marshal(props)
	res, err := s.db.ExecContext(ctx, `UPDATE contacts SET properties = properties || $3::jsonb,
		name = CASE WHEN $4 = '' THEN name ELSE $4 END, updated_at = now() WHERE id = $1 AND account_id = $2`,
		id, accountID, string(b), name)
	return rowsOrNotFound(res, err)
}

// ticketColumns are the ticket fields that are columns; other names are
// custom properties.
var ticketColumns = map[string]bool{"subject": true, "pipeline": true, "priority": true, "category": true}

// SetTicketFields writes fields onto the ticket of conversation convID of
// account: subject, pipeline, priority and category are the ticket's own
// fields, any other name a custom property. The thread's agents hear of it.
func (s *Store) SetTicketFields(ctx context.Context, accountID, convID int64, fields map[string]string) error {
	if len(fields) == 0 {
		return nil
	}
	cols, props := map[string]string{}, map[string]string{}
	for k, v := range fields {
		if ticketColumns[k] {
			cols[k] = cleanText(v, 200)
		} else {
			props[k] = cleanText(v, 1000)
		}
	}
	c, _ := json.Marshal(cols)
	p, _ := json.Marshal(props)
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tickets SET subject = COALESCE($3::jsonb->>'subject', subject),
			pipeline = COALESCE(NULLIF($3::jsonb->>'pipeline', ''), pipeline),
			priority = COALESCE(NULLIF($3::jsonb->>'priority', ''), priority),
			category = COALESCE($3::jsonb->>'category', category),
			properties = properties || $4::jsonb, updated_at = now()
			WHERE conversation_id = $1 AND account_id = $2`, convID, accountID, string(c), string(p))
		if err := rowsOrNotFound(res, err); err != nil {
			return err
		}
		announce(tx, events.Notice{Account: accountID, Conversation: convID, Kind: events.KindConversation})
		return nil
	})
}

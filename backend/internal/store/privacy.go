package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/widget"
)

// Consent kinds.
const (
	ConsentCookie         = widget.ConsentCookie
	ConsentDataProcessing = widget.ConsentDataProcessing
	ConsentCommunication  = widget.ConsentCommunication
)

// Consent decisions.
const (
	ConsentGranted = widget.DecisionGranted
	ConsentRefused = widget.DecisionRefused
)

// Legal bases of a data-processing consent (the chatflow's consent type).
const (
	BasisExplicit           = "explicit"
	BasisLegitimateInterest = "legitimate_interest"
)

// Subscription statuses of a contact.
const (
	Subscribed   = "subscribed"
	Unsubscribed = "unsubscribed"
)

// MaxConsentText bounds the stored text of a consent record.
const MaxConsentText = 10000

// SubscriptionType is something a contact may subscribe to through the
// communication-consent checkbox (a newsletter, product news).
type SubscriptionType struct {
	ID          int64     `db:"id" json:"id"`
	AccountID   int64     `db:"account_id" json:"-"`
	Name        string    `db:"name" json:"name"`
	Description string    `db:"description" json:"description"`
	CreatedAt   time.Time `db:"created_at" json:"created_at"`
	UpdatedAt   time.Time `db:"updated_at" json:"updated_at"`
}

// CreateSubscriptionType inserts t; a duplicate name is ErrConflict.
func (s *Store) CreateSubscriptionType(ctx context.Context, t *SubscriptionType) error {
	err := s.db.GetContext(ctx, t, `INSERT INTO subscription_types (account_id, name, description)
		VALUES ($1, $2, $3) RETURNING `+subscriptionTypeColumns, t.AccountID, t.Name, t.Description)
	if isUnique(err) {
		return ErrConflict
	}
	return err
}

// SubscriptionType returns subscription type id of account.
func (s *Store) SubscriptionType(ctx context.Context, accountID, id int64) (*SubscriptionType, error) {
	var t SubscriptionType
	err := s.db.GetContext(ctx, &t, `SELECT `+subscriptionTypeColumns+` FROM subscription_types WHERE id = $1 AND account_id = $2`, id, accountID)
	if err != nil {
		return nil, notFound(err)
	}
	return &t, nil
}

// SubscriptionTypes lists the account's subscription types by name.
func (s *Store) SubscriptionTypes(ctx context.Context, accountID int64) ([]SubscriptionType, error) {
	ts := []SubscriptionType{}
	err := s.db.SelectContext(ctx, &ts, `SELECT `+subscriptionTypeColumns+` FROM subscription_types WHERE account_id = $1 ORDER BY name, id`, accountID)
	return ts, err
}

// UpdateSubscriptionType saves t's name and description.
func (s *Store) UpdateSubscriptionType(ctx context.Context, t *SubscriptionType) error {
	err := s.db.GetContext(ctx, t, `UPDATE subscription_types SET name = $3, description = $4, updated_at = now()
		WHERE id = $1 AND account_id = $2 RETURNING `+subscriptionTypeColumns, t.ID, t.AccountID, t.Name, t.Description)
	if isUnique(err) {
		return ErrConflict
	}
	return notFound(err)
}

// DeleteSubscriptionType deletes a type and the contacts' choices of it; the
// consent records that named it stay (with their text).
func (s *Store) DeleteSubscriptionType(ctx context.Context, accountID, id int64) error {
	return rowsOrNotFound(s.db.ExecContext(ctx, `DELETE FROM subscription_types WHERE id = $1 AND account_id = $2`, id, accountID))
}

// ContactSubscription is a contact's current choice for one subscription type.
type ContactSubscription struct {
	ContactID          int64     `db:"contact_id" json:"contact_id"`
	SubscriptionTypeID int64     `db:"subscription_type_id" json:"subscription_type_id"`
	Name               string    `db:"name" json:"name"` // the type's name
	Status             string    `db:"status" json:"status"`
	ConversationID     *int64    `db:"conversation_id" json:"conversation_id"`
	UpdatedAt          time.Time `db:"updated_at" json:"updated_at"`
}

// SetContactSubscription stores a contact's choice (Subscribed or
// Unsubscribed) for a subscription type, with the time and, when not 0, the
// conversation it was made in. Ids of another account are ErrNotFound.
func (s *Store) SetContactSubscription(ctx context.Context, accountID, contactID, typeID int64, status string, conversationID int64) (*ContactSubscription, error) {
	if status != Subscribed && status != Unsubscribed {
		return nil, fmt.Errorf("store: subscription status %q", status)
	}
	var cs ContactSubscription
	err := s.db.GetContext(ctx, &cs, `WITH up AS (
		INSERT INTO contact_subscriptions (contact_id, subscription_type_id, status, conversation_id)
		SELECT c.id, t.id, $4, (SELECT id FROM conversations WHERE id = $5 AND account_id = $1)
		FROM contacts c, subscription_types t
		WHERE c.id = $2 AND c.account_id = $1 AND t.id = $3 AND t.account_id = $1
		ON CONFLICT (contact_id, subscription_type_id) DO UPDATE
			SET status = EXCLUDED.status, conversation_id = EXCLUDED.conversation_id, updated_at = now()
		RETURNING `+contactSubColumns+`)
		SELECT `+contactSubColumnsUp+`, t.name FROM up JOIN subscription_types t ON t.id = up.subscription_type_id`,
		accountID, contactID, typeID, status, conversationID)
	if err != nil {
		return nil, notFound(err)
	}
	return &cs, nil
}

// ContactSubscriptions returns a contact's choices, by type name.
func (s *Store) ContactSubscriptions(ctx context.Context, accountID, contactID int64) ([]ContactSubscription, error) {
	return contactSubscriptions(ctx, s.db, accountID, contactID)
}

func contactSubscriptions(ctx context.Context, q sqlx.QueryerContext, accountID, contactID int64) ([]ContactSubscription, error) {
	out := []ContactSubscription{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT `+contactSubColumnsCS+`, t.name FROM contact_subscriptions cs
		JOIN subscription_types t ON t.id = cs.subscription_type_id
		WHERE cs.contact_id = $1 AND t.account_id = $2 ORDER BY t.name, t.id`, contactID, accountID)
	return out, err
}

// Consent is one recorded consent decision.
type Consent struct {
	ID                 int64     `db:"id" json:"id"`
	AccountID          int64     `db:"account_id" json:"-"`
	VisitorID          *int64    `db:"visitor_id" json:"visitor_id"`
	ContactID          *int64    `db:"contact_id" json:"contact_id"`
	ChatflowID         *int64    `db:"chatflow_id" json:"chatflow_id"`
	ConversationID     *int64    `db:"conversation_id" json:"conversation_id"`
	SubscriptionTypeID *int64    `db:"subscription_type_id" json:"subscription_type_id"`
	Kind               string    `db:"kind" json:"kind"`
	Basis              string    `db:"basis" json:"basis"`
	Decision           string    `db:"decision" json:"decision"`
	Text               string    `db:"text" json:"text"`
	TextHash           string    `db:"text_hash" json:"text_hash"`
	Language           string    `db:"language" json:"language"`
	PageURL            string    `db:"page_url" json:"page_url"`
	CreatedAt          time.Time `db:"created_at" json:"created_at"`
}

// NewConsent is what the chat engine records when a visitor gives or
// refuses a consent. Zero ids mean "none". Text is exactly what was shown
// (consent.Notice.Text). A refused cookie banner is recorded without a
// visitor: nothing identifying exists before consent.
type NewConsent struct {
	AccountID          int64
	VisitorID          int64
	ContactID          int64 // 0: taken from the conversation, else from the visitor
	ChatflowID         int64
	ConversationID     int64
	SubscriptionTypeID int64  // communication consents: the type subscribed to
	Kind               string // ConsentCookie | ConsentDataProcessing | ConsentCommunication
	Basis              string // data processing: BasisExplicit | BasisLegitimateInterest; else ""
	Decision           string // ConsentGranted | ConsentRefused
	Text               string
	Language           string
	PageURL            string
}

// TextHash is the SHA-256 (hex) a consent record keeps beside its text.
func TextHash(text string) string {
	h := sha256.Sum256([]byte(text))
	return hex.EncodeToString(h[:])
}

// checkConsent refuses a consent of an unknown kind, decision or basis.
func checkConsent(n NewConsent) error {
	switch {
	case n.Kind != ConsentCookie && n.Kind != ConsentDataProcessing && n.Kind != ConsentCommunication:
		return fmt.Errorf("store: consent kind %q", n.Kind)
	case n.Decision != ConsentGranted && n.Decision != ConsentRefused:
		return fmt.Errorf("store: consent decision %q", n.Decision)
	case n.Basis != "" && n.Basis != BasisExplicit && n.Basis != BasisLegitimateInterest:
		return fmt.Errorf("store: consent basis %q", n.Basis)
	}
	return nil
}

// RecordConsent stores a consent decision. Every id must belong to the
// account (else ErrNotFound) and a conversation must be the visitor's; the
// contact defaults to the conversation's, else the visitor's, so erasing
// the contact later finds the record.
func (s *Store) RecordConsent(ctx context.Context, n NewConsent) (*Consent, error) {
	if err := checkConsent(n); err != nil {
		return nil, err
	}
	text := cleanText(n.Text, MaxConsentText)
	var c Consent
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		contactID := n.ContactID
		visitorID := n.VisitorID
		if n.ConversationID != 0 {
			var conv struct {
				VisitorID int64  `db:"visitor_id"`
				ContactID *int64 `db:"contact_id"`
			}
			if err := tx.GetContext(ctx, &conv, `SELECT visitor_id, contact_id FROM conversations WHERE id = $1 AND account_id = $2`,
				n.ConversationID, n.AccountID); err != nil {
				return notFound(err)
			}
			if visitorID != 0 && visitorID != conv.VisitorID {
				return ErrNotFound // another visitor's conversation
			}
			visitorID = conv.VisitorID
			if contactID == 0 && conv.ContactID != nil {
				contactID = *conv.ContactID
			}
		}
		if visitorID != 0 {
			var vc *int64
			if err := tx.GetContext(ctx, &vc, `SELECT contact_id FROM visitors WHERE id = $1 AND account_id = $2`, visitorID, n.AccountID); err != nil {
				return notFound(err)
			}
			if contactID == 0 && vc != nil {
				contactID = *vc
			}
		}
		for _, ref := range []struct {
			table string
			id    int64
		}{{"contacts", contactID}, {"chatflows", n.ChatflowID}, {"subscription_types", n.SubscriptionTypeID}} {
			if ok, err := owns(ctx, tx, ref.table, n.AccountID, ref.id); err != nil || !ok {
				return orNotFound(err)
			}
		}
		return tx.GetContext(ctx, &c, `INSERT INTO consents (account_id, visitor_id, contact_id, chatflow_id, conversation_id,
			subscription_type_id, kind, basis, decision, text, text_hash, language, page_url)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING `+consentColumns,
			n.AccountID, nullID(visitorID), nullID(contactID), nullID(n.ChatflowID), nullID(n.ConversationID),
			nullID(n.SubscriptionTypeID), n.Kind, n.Basis, n.Decision, text, TextHash(text),
			cleanText(n.Language, 16), cleanText(n.PageURL, 2000))
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// ConsentFilter selects consent records; zero fields do not filter.
type ConsentFilter struct {
	ContactID      int64
	ConversationID int64
	VisitorID      int64
	Before         int64 // paging: only ids below this (0: from the newest)
	Limit          int
}

// Consents lists the account's consent records matching f, newest first. A
// filter naming another account's (or no) contact, conversation or visitor
// is ErrNotFound.
func (s *Store) Consents(ctx context.Context, accountID int64, f ConsentFilter) ([]Consent, error) {
	for _, ref := range []struct {
		table string
		id    int64
	}{{"contacts", f.ContactID}, {"conversations", f.ConversationID}, {"visitors", f.VisitorID}} {
		if ok, err := owns(ctx, s.db, ref.table, accountID, ref.id); err != nil || !ok {
			return nil, orNotFound(err)
		}
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	out := []Consent{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+consentColumns+` FROM consents WHERE account_id = $1
		AND ($2::bigint = 0 OR contact_id = $2) AND ($3::bigint = 0 OR conversation_id = $3)
		AND ($4::bigint = 0 OR visitor_id = $4) AND ($5::bigint = 0 OR id < $5)
		ORDER BY id DESC LIMIT $6`, accountID, f.ContactID, f.ConversationID, f.VisitorID, f.Before, f.Limit)
	return out, err
}

// owns reports whether row id of table belongs to account; id 0 is "no
// filter" and owned. table is always one of this file's constants.
func owns(ctx context.Context, q sqlx.QueryerContext, table string, accountID, id int64) (bool, error) {
	if id == 0 {
		return true, nil
	}
	var ok bool
	err := sqlx.GetContext(ctx, q, &ok, `SELECT EXISTS (SELECT 1 FROM `+pq.QuoteIdentifier(table)+` WHERE id = $1 AND account_id = $2)`, id, accountID)
	return ok, err
}

func orNotFound(err error) error {
	if err != nil {
		return err
	}
	return ErrNotFound
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// PropertyMap decodes the contact's properties for targeting and display:
// string values as they are, numbers and booleans written out, anything
// else dropped. It never returns nil.
func (c *Contact) PropertyMap() map[string]string {
	out := map[string]string{}
	var raw map[string]any
	if len(c.Properties) == 0 || json.Unmarshal(c.Properties, &raw) != nil {
		return out
	}
	for k, v := range raw {
		switch v := v.(type) {
		case string:
			out[k] = v
		case float64:
			out[k] = strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			out[k] = strconv.FormatBool(v)
		}
	}
	return out
}

// ContactProperties returns the properties of contact id of account, the
// facts contact-property targeting rules compare (widget.Visit.Contact).
func (s *Store) ContactProperties(ctx context.Context, accountID, id int64) (map[string]string, error) {
	c, err := s.Contact(ctx, accountID, id)
	if err != nil {
		return nil, err
	}
	return c.PropertyMap(), nil
}

// ContactFilter selects contacts for a list; zero fields do not filter.
type ContactFilter struct {
	Email string // exact, case-insensitive
	// Marketing, when set, keeps only marketing contacts (true) or only
	// the others (false).
	Marketing *bool
	Before    int64 // paging: only ids below this
	Limit     int
}

// ListContacts lists the account's contacts matching f, newest first.
func (s *Store) ListContacts(ctx context.Context, accountID int64, f ContactFilter) ([]Contact, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	out := []Contact{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+contactColumns+` FROM contacts WHERE account_id = $1
		AND ($2::text = '' OR lower(email) = lower($2)) AND ($3::bigint = 0 OR id < $3)
		AND ($5::boolean IS NULL OR marketing = $5)
		ORDER BY id DESC LIMIT $4`, accountID, f.Email, f.Before, f.Limit, f.Marketing)
	return out, err
}

// ExportedConversation is one conversation of a contact with its transcript
// (agents' notes included, marked internal) and its ticket.
type ExportedConversation struct {
	Conversation
	Messages []Message `json:"messages"`
	Ticket   *Ticket   `json:"ticket"`
}

// ContactExport is everything held about a contact.
type ContactExport struct {
	Contact       *Contact               `json:"contact"`
	Properties    map[string]string      `json:"properties"`
	Visitors      []Visitor              `json:"visitors"`
	Conversations []ExportedConversation `json:"conversations"`
	Tickets       []Ticket               `json:"tickets"`
	Consents      []Consent              `json:"consents"`
	Subscriptions []ContactSubscription  `json:"subscriptions"`
}

// contactVisitors selects the ids of the visitors linked to contact $2 of
// account $1 (index visitors_contact).
const contactVisitors = `SELECT id FROM visitors WHERE account_id = $1 AND contact_id = $2`

// contactConversations selects the ids of the conversations that are the
// contact's ($1 account, $2 contact): those linked to it, and the anonymous
// ones (no contact) of the visitors linked to it. A conversation of a shared
// browser that belongs to another contact is not this contact's. A union,
// so that each part reads its index (conversations_contact, and
// visitors_contact then conversations_visitor) instead of every
// conversation of the account.
const contactConversations = `SELECT id FROM conversations WHERE account_id = $1 AND contact_id = $2
	UNION
	SELECT c.id FROM conversations c WHERE c.account_id = $1 AND c.contact_id IS NULL AND c.visitor_id IN (` + contactVisitors + `)`

// contactConsents selects the ids of the consent records of contact $2 of
// account $1: its own, its visitors' and those of the conversations
// convs selects (contactConversations, or an array parameter), each part
// from its index.
func contactConsents(convs string) string {
	return `SELECT id FROM consents WHERE account_id = $1 AND contact_id = $2
	UNION
	SELECT id FROM consents WHERE account_id = $1 AND visitor_id IN (` + contactVisitors + `)
	UNION
	SELECT id FROM consents WHERE account_id = $1 AND ` + convs
}

// snapshot reads an export consistently: one repeatable-read, read-only view.
var snapshot = sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}

// ExportContact gathers everything held about contact id of account, read
// in one repeatable-read snapshot so the parts agree.
func (s *Store) ExportContact(ctx context.Context, accountID, id int64) (*ContactExport, error) {
	tx, err := s.db.BeginTxx(ctx, &snapshot)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	out := &ContactExport{Contact: &Contact{}}
	if err := tx.GetContext(ctx, out.Contact, `SELECT `+contactColumns+` FROM contacts WHERE id = $1 AND account_id = $2`, id, accountID); err != nil {
		return nil, notFound(err)
	}
	out.Properties = out.Contact.PropertyMap()
	out.Visitors = []Visitor{}
	if err := tx.SelectContext(ctx, &out.Visitors, `SELECT `+visitorColumns+` FROM visitors WHERE id IN (`+contactVisitors+`) ORDER BY id`, accountID, id); err != nil {
		return nil, err
	}
	var convs []Conversation
	if err := tx.SelectContext(ctx, &convs, `SELECT `+conversationColumns+` FROM conversations WHERE id IN (`+contactConversations+`) ORDER BY id`, accountID, id); err != nil {
		return nil, err
	}
	var msgs []Message
	if err := tx.SelectContext(ctx, &msgs, `SELECT `+messageColumnsM+`, COALESCE(u.name, '') AS author_name
		FROM messages m LEFT JOIN users u ON m.author_type = 'agent' AND u.id = m.author_id
		WHERE m.conversation_id IN (`+contactConversations+`) ORDER BY m.conversation_id, m.seq`, accountID, id); err != nil {
		return nil, err
	}
	out.Tickets = []Ticket{}
	if err := tx.SelectContext(ctx, &out.Tickets, `SELECT `+ticketRowColumns+` FROM tickets WHERE conversation_id IN (`+contactConversations+`) ORDER BY id`, accountID, id); err != nil {
		return nil, err
	}
	byConv := map[int64][]Message{}
	for _, m := range msgs {
		byConv[m.ConversationID] = append(byConv[m.ConversationID], m)
	}
	ticketOf := map[int64]*Ticket{}
	for i := range out.Tickets {
		if t := &out.Tickets[i]; t.ConversationID != nil {
			ticketOf[*t.ConversationID] = t
		}
	}
	out.Conversations = []ExportedConversation{}
	for _, c := range convs {
		ms := byConv[c.ID]
		if ms == nil {
			ms = []Message{}
		}
		out.Conversations = append(out.Conversations, ExportedConversation{Conversation: c, Messages: ms, Ticket: ticketOf[c.ID]})
	}
	out.Consents = []Consent{}
	if err := tx.SelectContext(ctx, &out.Consents, `SELECT `+consentColumns+` FROM consents WHERE id IN (`+
		contactConsents(`conversation_id IN (`+contactConversations+`)`)+`) ORDER BY id`, accountID, id); err != nil {
		return nil, err
	}
	if out.Subscriptions, err = contactSubscriptions(ctx, tx, accountID, id); err != nil {
		return nil, err
	}
	return out, nil
}

// Erasure counts what EraseContact deleted.
type Erasure struct {
	Conversations int64 `json:"conversations"`
	Messages      int64 `json:"messages"`
	Tickets       int64 `json:"tickets"`
	Consents      int64 `json:"consents"`
	Visitors      int64 `json:"visitors"`
}

// EraseContact deletes contact id of account and everything about it in one
// transaction: its conversations (with their messages, tickets and read
// positions), consent records, subscriptions, identification tokens, push
// tokens and the visitors linked to it. A linked visitor that still holds another
// contact's conversation is unlinked and its name cleared instead. The rows
// are gone, so the inbox and REST find nothing; open inbox lists hear of
// each deleted conversation. Another account's contact is ErrNotFound.
func (s *Store) EraseContact(ctx context.Context, accountID, id int64) (*Erasure, error) {
	var e Erasure
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var locked int64
		if err := tx.GetContext(ctx, &locked, `SELECT id FROM contacts WHERE id = $1 AND account_id = $2 FOR UPDATE`, id, accountID); err != nil {
			return notFound(err)
		}
		// Visitors can no longer be linked while the contact row is locked
		// (linking a visitor to it takes a key-share lock on that row).
		var convIDs []int64
		if err := tx.SelectContext(ctx, &convIDs, `SELECT id FROM conversations WHERE id IN (`+contactConversations+`) FOR UPDATE`, accountID, id); err != nil {
			return err
		}
		convs := pq.Array(convIDs)
		counts := []struct {
			n    *int64
			sql  string
			args []any
		}{
			{&e.Consents, `DELETE FROM consents WHERE id IN (` + contactConsents(`conversation_id = ANY($3)`) + `)`, []any{accountID, id, convs}},
			{&e.Messages, `DELETE FROM messages WHERE conversation_id = ANY($1)`, []any{convs}},
			{&e.Tickets, `DELETE FROM tickets WHERE account_id = $1 AND conversation_id = ANY($2)`, []any{accountID, convs}},
			{&e.Conversations, `DELETE FROM conversations WHERE account_id = $1 AND id = ANY($2)`, []any{accountID, convs}},
			{&e.Visitors, `DELETE FROM visitors v WHERE account_id = $1 AND contact_id = $2
				AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.visitor_id = v.id)`, []any{accountID, id}},
		}
		for _, q := range counts {
			res, err := tx.ExecContext(ctx, q.sql, q.args...)
			if err != nil {
				return err
			}
			*q.n, _ = res.RowsAffected()
		}
		// Webhook deliveries of those conversations carry their messages'
		// text, delivered or not: they go with the conversations.
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries d USING webhooks w
			WHERE d.webhook_id = w.id AND w.account_id = $1 AND (d.payload #>> '{data,conversation_id}')::bigint = ANY($2)`,
			accountID, convs); err != nil {
			return err
		}
		// A kept visitor's device push token names the person's phone: it goes too.
		if _, err := tx.ExecContext(ctx, `DELETE FROM push_tokens WHERE visitor_id IN (`+contactVisitors+`)`, accountID, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE visitors SET contact_id = NULL, name = '' WHERE account_id = $1 AND contact_id = $2`, accountID, id); err != nil {
			return err
		}
		// Subscriptions and identification tokens go with the contact (ON DELETE CASCADE).
		if _, err := tx.ExecContext(ctx, `DELETE FROM contacts WHERE id = $1 AND account_id = $2`, id, accountID); err != nil {
			return err
		}
		for _, cid := range convIDs {
			announce(tx, events.Notice{Account: accountID, Conversation: cid, Kind: events.KindConversation})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &e, nil
}

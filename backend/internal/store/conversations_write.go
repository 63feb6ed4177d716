package store

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/parleychat/parley/backend/internal/events"
)

// NewConversation is what starting a conversation needs.
type NewConversation struct {
	AccountID  int64
	ChatflowID int64 // 0 for none
	InboxID    int64
	VisitorID  int64
	PageURL    string
	Referrer   string
	UserAgent  string
}

// MaxContextChars bounds the page URL, referrer and user agent kept with a
// conversation; longer values are cut (they are context, not content).
const MaxContextChars = 2048

// CreateConversation starts a conversation with its ticket in one
// transaction and notifies every backend on commit. A visitor has at most one
// open conversation per chatflow: if one is already open (another tab got
// there first) it is returned with created=false and nothing is written.
func (s *Store) CreateConversation(ctx context.Context, nc NewConversation) (c *Conversation, created bool, err error) {
	var chatflow any
	if nc.ChatflowID != 0 {
		chatflow = nc.ChatflowID
	}
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		// Locking the visitor serialises concurrent first messages from several tabs.
		var visitor struct {
			AccountID    int64  `db:"account_id"`
			ClaimedEmail string `db:"claimed_email"`
		}
		if err := tx.GetContext(ctx, &visitor, `SELECT account_id, claimed_email FROM visitors WHERE id = $1 FOR UPDATE`, nc.VisitorID); err != nil {
			return notFound(err)
		}
		if visitor.AccountID != nc.AccountID {
			return ErrNotFound
		}
		if chatflow != nil {
			var open Conversation
			err := tx.GetContext(ctx, &open, `SELECT `+conversationColumns+` FROM conversations WHERE visitor_id = $1 AND chatflow_id = $2 AND status = 'open'
				ORDER BY id DESC LIMIT 1`, nc.VisitorID, nc.ChatflowID)
			if err == nil {
				c = &open
				return nil
			}
			if err := notFound(err); !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		var out Conversation
		// An address the visitor claimed before belongs to the new conversation too (ClaimEmail).
		err := tx.GetContext(ctx, &out, `INSERT INTO conversations (account_id, public_id, chatflow_id, inbox_id, visitor_id, page_url, referrer, user_agent, claimed_email)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING `+conversationColumns,
			nc.AccountID, NewPublicID("conv"), chatflow, nc.InboxID, nc.VisitorID,
			cleanText(nc.PageURL, MaxContextChars), cleanText(nc.Referrer, MaxContextChars), cleanText(nc.UserAgent, MaxContextChars),
			visitor.ClaimedEmail)
		if err != nil {
			return err
		}
		// The ticket takes the chatflow's ticket properties; what the chatflow
		// leaves empty (or a conversation without a chatflow) gets the defaults.
		if _, err := tx.ExecContext(ctx, `INSERT INTO tickets (account_id, conversation_id, pipeline, status, priority, category, properties)
			SELECT $1, $2,
				COALESCE(NULLIF(t->>'pipeline', ''), $4), COALESCE(NULLIF(t->>'status', ''), $5),
				COALESCE(NULLIF(t->>'priority', ''), $6), COALESCE(t->>'category', ''),
				CASE WHEN jsonb_typeof(t->'properties') = 'object' THEN t->'properties' ELSE '{}' END
			FROM (SELECT (SELECT settings->'tickets' FROM chatflows WHERE id = $3 AND account_id = $1) AS t) s`,
			nc.AccountID, out.ID, chatflow, TicketPipelineSupport, TicketStatusNew, TicketPriorityMedium); err != nil {
			return err
		}
		c, created = &out, true
		announce(tx, events.Notice{Account: nc.AccountID, Conversation: out.ID, Kind: events.KindConversation})
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return c, created, nil
}

// OpenConversationOf returns the visitor's newest open conversation on the
// chatflow, or ErrNotFound.
func (s *Store) OpenConversationOf(ctx context.Context, visitorID, chatflowID int64) (*Conversation, error) {
	var c Conversation
	err := s.db.GetContext(ctx, &c, `SELECT `+conversationColumns+` FROM conversations WHERE visitor_id = $1 AND chatflow_id = $2 AND status = 'open'
		ORDER BY id DESC LIMIT 1`, visitorID, chatflowID)
	if err != nil {
		return nil, notFound(err)
	}
	return &c, nil
}

// VisitorPage is the page the visitor is on now: the page they moved to,
// else the one the conversation started on.
func (c *Conversation) VisitorPage() string {
	if c.CurrentPage != "" {
		return c.CurrentPage
	}
	return c.PageURL
}

// ValidPageURL reports whether page may be stored as a visitor's current
// page: an absolute http(s) URL with a host, at most MaxContextChars
// characters, without control characters.
func ValidPageURL(page string) bool {
	if page == "" || !utf8.ValidString(page) || utf8.RuneCountInString(page) > MaxContextChars ||
		strings.ContainsFunc(page, unicode.IsControl) {
		return false
	}
	u, err := url.Parse(page)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// SetConversationPage records page as the page the visitor of open
// conversation id is on now (a page load resumed it), keeping page_url, the
// page it started on. It writes only when page is valid (ValidPageURL) and
// differs from the current one, and then notifies (KindConversation) so
// agents' side panels follow; changed reports whether it wrote.
func (s *Store) SetConversationPage(ctx context.Context, accountID, id int64, page string) (changed bool, err error) {
	if !ValidPageURL(page) {
		return false, nil
	}
	res, err := s.db.ExecContext(ctx, `UPDATE conversations SET current_page_url = $3, updated_at = now()
		WHERE id = $1 AND account_id = $2 AND status = 'open'
		AND COALESCE(NULLIF(current_page_url, ''), page_url) <> $3`, id, accountID, page)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	s.notify(ctx, events.Notice{Account: accountID, Conversation: id, Kind: events.KindConversation})
	return true, nil
}

// ConversationStatus returns the status of conversation id: a cheap check
// before a visitor writes into it.
func (s *Store) ConversationStatus(ctx context.Context, id int64) (string, error) {
	var status string
	err := s.db.GetContext(ctx, &status, `SELECT status FROM conversations WHERE id = $1`, id)
	return status, notFound(err)
}

// cleanText makes s storable: valid UTF-8 without NUL bytes (PostgreSQL
// refuses both), at most max characters.
func cleanText(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "")
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max])
	}
	return s
}

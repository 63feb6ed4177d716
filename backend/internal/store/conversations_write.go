package store

import (
	"context"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

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
	// AttachConsents attaches the visitor's consents given on the chatflow
	// before the conversation began to it (as AttachConsents does), and
	// Consent, when set, is recorded with it (as RecordConsent does: the
	// consent a first message implies); both in the creating transaction,
	// and only when the conversation is created. For a visitor without a
	// contact: the contact's conversations take their consents after
	// LinkConversationContact.
	AttachConsents bool
	Consent        *NewConsent
}

// MaxContextChars bounds the page URL, referrer and user agent kept with a
// conversation; longer values are cut (they are context, not content).
const MaxContextChars = 2048

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

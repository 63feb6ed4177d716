package store

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// Inbox views: the lists an agent switches between.
const (
	ViewUnassigned = "unassigned" // open, nobody assigned
	ViewMine       = "mine"       // open, assigned to the agent
	ViewOpen       = "open"       // every open conversation
	ViewClosed     = "closed"     // closed, most recent activity first
	ViewInbox      = "inbox"      // open conversations of one inbox
)

// ListFilter selects one page of an agent's conversation list. Only
// conversations of inboxes UserID is a member of are ever listed.
type ListFilter struct {
	UserID  int64
	View    string // one of the View constants; "" is ViewOpen
	InboxID int64  // ViewInbox: which inbox
	// Query searches visitor and contact names, emails (claimed ones too) and message text
	// (PostgreSQL full text, 'simple' configuration); "" lists everything.
	Query string
	// LabelID, when set, lists only conversations with that label.
	LabelID int64
	// Before pages: only conversations older than this position.
	Before ListCursor
	Limit  int
}

// ListCursor is a position in a list ordered by last activity, newest first.
type ListCursor struct {
	At time.Time
	ID int64
}

// IsZero reports whether the cursor is unset (the first page).
func (c ListCursor) IsZero() bool { return c.ID == 0 }

// ConversationList returns one page of the agent's list for f, newest
// activity first. The page's ids are chosen first, from conversations
// alone, and only its rows are read in full (summaryFrom: the visitor, the
// latest message, the unread count), so the joins' cost follows the page
// size, not the number of conversations. The ids come from each of the
// agent's inboxes in list order (the (inbox_id, status, last_message_at)
// index, at most a page from each), merged: an open or closed list reads
// about a page of rows however many conversations the inboxes hold. "Mine"
// reads the agent's own open chats (their assignee index) instead.
func (s *Store) ConversationList(ctx context.Context, f ListFilter) ([]ConversationSummary, error) {
	inboxes := "SELECT inbox_id FROM inbox_members WHERE user_id = $1"
	var where []string
	args := []any{f.UserID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	perInbox := true
	switch f.View {
	case ViewUnassigned:
		where = append(where, "c.status = 'open'", "c.assignee_id IS NULL")
	case ViewMine:
		where = append(where, "c.status = 'open'", "c.assignee_id = $1")
		perInbox = false
	case ViewClosed:
		where = append(where, "c.status = 'closed'")
	case ViewInbox:
		where = append(where, "c.status = 'open'")
		inboxes += " AND inbox_id = " + arg(f.InboxID)
	default:
		where = append(where, "c.status = 'open'")
	}
	from := "conversations c"
	if q := strings.TrimSpace(f.Query); q != "" {
		from += " JOIN visitors v ON v.id = c.visitor_id" // the search looks at the visitor
		tq := "websearch_to_tsquery('simple', " + arg(q) + ")"
		like := arg("%" + likeEscape(q) + "%")
		where = append(where, `(c.id IN (SELECT m.conversation_id FROM messages m WHERE to_tsvector('simple', m.body) @@ `+tq+`)
			OR to_tsvector('simple', v.name) @@ `+tq+` OR c.claimed_email ILIKE `+like+`
			OR EXISTS (SELECT 1 FROM contacts x WHERE x.id = COALESCE(c.contact_id, v.contact_id)
				AND (to_tsvector('simple', x.name || ' ' || x.email) @@ `+tq+` OR x.email ILIKE `+like+`)))`)
	}
	if f.LabelID > 0 {
		where = append(where, "c.id IN (SELECT conversation_id FROM conversation_labels WHERE label_id = "+arg(f.LabelID)+")")
	}
	if !f.Before.IsZero() {
		where = append(where, "(c.last_message_at, c.id) < ("+arg(f.Before.At)+", "+arg(f.Before.ID)+")")
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	limit := arg(f.Limit)
	const order = " ORDER BY c.last_message_at DESC, c.id DESC"
	page := `SELECT c.id FROM ` + from + ` WHERE c.inbox_id IN (` + inboxes + `) AND ` + strings.Join(where, " AND ") + order + ` LIMIT ` + limit
	if perInbox {
		page = `SELECT c.id FROM (` + inboxes + `) im CROSS JOIN LATERAL (SELECT c.id, c.last_message_at FROM ` + from +
			` WHERE c.inbox_id = im.inbox_id AND ` + strings.Join(where, " AND ") + order + ` LIMIT ` + limit + `) c` + order + ` LIMIT ` + limit
	}
	cs := []ConversationSummary{}
	err := s.db.SelectContext(ctx, &cs, `WITH page AS MATERIALIZED (`+page+`) `+summaryFrom("page AS ids", "")+order, args...)
	return cs, err
}

// ViewCounts are the numbers beside each view.
type ViewCounts struct {
	Unassigned int
	Mine       int
	Open       int
	Closed     int
	ByInbox    map[int64]int // open conversations per inbox
}

// ViewCounts counts the agent's views from the counts of their inboxes
// the database keeps (migration 0043), folding the account's pending
// changes into them as ConversationCounts does (prepared, as it is).
func (s *Store) ViewCounts(ctx context.Context, userID int64) (ViewCounts, error) {
	vc := ViewCounts{ByInbox: map[int64]int{}}
	st, err := s.prepared(ctx, viewCountsQuery)
	if err != nil {
		return vc, err
	}
	rows, err := st.QueryxContext(ctx, userID)
	if err != nil {
		return vc, err
	}
	defer rows.Close()
	for rows.Next() {
		var inbox int64
		var open, unassigned, mine, closed int
		if err := rows.Scan(&inbox, &open, &unassigned, &mine, &closed); err != nil {
			return vc, err
		}
		vc.ByInbox[inbox] = open
		vc.Open += open
		vc.Unassigned += unassigned
		vc.Mine += mine
		vc.Closed += closed
	}
	return vc, rows.Err()
}

var viewCountsQuery = foldCounts(`(SELECT account_id FROM users WHERE id = $1)`) + ` SELECT i.inbox_id,
	COALESCE(sum(c.n) FILTER (WHERE c.status = 'open'), 0),
	COALESCE(sum(c.n) FILTER (WHERE c.status = 'open' AND c.assignee_id = 0), 0),
	COALESCE(sum(c.n) FILTER (WHERE c.status = 'open' AND c.assignee_id = $1), 0),
	COALESCE(sum(c.n) FILTER (WHERE c.status = 'closed'), 0)
	FROM inbox_members i LEFT JOIN (` + countsOf(`(SELECT id FROM acct)`) + `) c ON c.inbox_id = i.inbox_id
	WHERE i.user_id = $1 GROUP BY i.inbox_id`

// InboxesOf lists the inboxes userID is a member of, by name.
func (s *Store) InboxesOf(ctx context.Context, userID int64) ([]Inbox, error) {
	var ins []Inbox
	err := s.db.SelectContext(ctx, &ins, `SELECT i.id, i.account_id, i.name, i.has_chat_channel, i.created_at
		FROM inboxes i JOIN inbox_members m ON m.inbox_id = i.id WHERE m.user_id = $1 ORDER BY i.name, i.id`, userID)
	return ins, err
}

// OpenChatCount is how many open conversations are assigned to userID.
func (s *Store) OpenChatCount(ctx context.Context, userID int64) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM conversations WHERE assignee_id = $1 AND status = 'open'`, userID)
	return n, err
}

// EarlierConversation is a past (or other) conversation of the same visitor or contact.
type EarlierConversation struct {
	ID            int64     `db:"id"`
	Status        string    `db:"status"`
	CreatedAt     time.Time `db:"created_at"`
	LastMessageAt time.Time `db:"last_message_at"`
	InboxName     string    `db:"inbox_name"`
	FirstBody     string    `db:"first_body"`
}

// EarlierConversations lists the other conversations of conv's visitor or
// contact, newest first, at most limit. Only those in inboxes userID is a
// member of are listed: the side panel never leaks another team's chats.
func (s *Store) EarlierConversations(ctx context.Context, userID int64, conv *Conversation, limit int) ([]EarlierConversation, error) {
	var contact int64
	if conv.ContactID != nil {
		contact = *conv.ContactID
	}
	out := []EarlierConversation{}
	err := s.db.SelectContext(ctx, &out, `SELECT c.id, c.status, c.created_at, c.last_message_at, i.name AS inbox_name,
		COALESCE((SELECT body FROM messages m WHERE m.conversation_id = c.id AND NOT m.internal ORDER BY seq LIMIT 1), '') AS first_body
		FROM conversations c JOIN inboxes i ON i.id = c.inbox_id
		WHERE c.account_id = $1 AND c.id <> $2 AND (c.visitor_id = $3 OR ($4::bigint <> 0 AND c.contact_id = $4))
		AND c.inbox_id IN (SELECT inbox_id FROM inbox_members WHERE user_id = $5)
		ORDER BY c.created_at DESC, c.id DESC LIMIT $6`, conv.AccountID, conv.ID, conv.VisitorID, contact, userID, limit)
	return out, err
}

// likeEscape escapes LIKE's wildcards so a search matches them literally.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

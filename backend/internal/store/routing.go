package store

import (
	"context"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/parleychat/parley/backend/internal/events"
)

// routingLockClass is the first key of the per-account advisory lock every
// assignment takes: with it, picking an agent and counting their open chats
// cannot interleave between two backends, so nobody is over-assigned.
const routingLockClass = 7432

// ErrNotWaiting means a conversation routing was asked to place is closed or
// already assigned.
var ErrNotWaiting = errors.New("store: conversation is not waiting for an agent")

// ErrNotRoutable refuses a manual assignment to a user without a seat.
var ErrNotRoutable = errors.New("store: user has no seat")

// ErrNotInInbox refuses assigning a conversation to a user who is not a
// member of its inbox: they could not open it, and the visitor would wait.
var ErrNotInInbox = errors.New("store: user is not a member of the conversation's inbox")

// MemberLoad is what routing and availability need to know about one user.
type MemberLoad struct {
	UserID         int64      `db:"id"`
	Name           string     `db:"name"`
	HasSeat        bool       `db:"has_seat"`
	Status         string     `db:"status"`
	MaxOpenChats   int        `db:"max_open_chats"`
	OpenChats      int        `db:"open_chats"` // open conversations assigned to them
	LastAssignedAt *time.Time `db:"last_assigned_at"`
}

// Eligible reports whether auto-assignment may give this user one more chat.
func (m MemberLoad) Eligible() bool {
	return m.HasSeat && m.Status == UserAvailable && m.OpenChats < m.MaxOpenChats
}

// loadSelect reads MemberLoad rows of account $1 among ids $2.
const loadSelect = `SELECT u.id, u.name, u.has_seat, u.status, u.max_open_chats, u.last_assigned_at,
	(SELECT count(*) FROM conversations c WHERE c.assignee_id = u.id AND c.status = 'open') AS open_chats
	FROM users u WHERE u.account_id = $1 AND u.id = ANY($2)`

// MemberLoads returns the routing facts of the account's users among ids
// (ids of other accounts are ignored).
func (s *Store) MemberLoads(ctx context.Context, accountID int64, ids []int64) ([]MemberLoad, error) {
	ms := []MemberLoad{}
	if len(ids) == 0 {
		return ms, nil
	}
	err := s.db.SelectContext(ctx, &ms, loadSelect+` ORDER BY u.id`, accountID, pq.Array(ids))
	return ms, err
}

// TeamMemberIDs returns the union of the members of the account's teams among teamIDs.
func (s *Store) TeamMemberIDs(ctx context.Context, accountID int64, teamIDs []int64) ([]int64, error) {
	ids := []int64{}
	if len(teamIDs) == 0 {
		return ids, nil
	}
	err := s.db.SelectContext(ctx, &ids, `SELECT DISTINCT m.user_id FROM team_members m JOIN teams t ON t.id = m.team_id
		WHERE t.account_id = $1 AND t.id = ANY($2) ORDER BY m.user_id`, accountID, pq.Array(teamIDs))
	return ids, err
}

// InboxMemberIDs returns the members of the account's inbox inboxID.
func (s *Store) InboxMemberIDs(ctx context.Context, accountID, inboxID int64) ([]int64, error) {
	ids := []int64{}
	err := s.db.SelectContext(ctx, &ids, `SELECT m.user_id FROM inbox_members m JOIN inboxes i ON i.id = m.inbox_id
		WHERE i.account_id = $1 AND i.id = $2 ORDER BY m.user_id`, accountID, inboxID)
	return ids, err
}

// ConversationByID returns conversation id whatever its account: for callers
// that hold only an id the system itself produced (routing after creation).
func (s *Store) ConversationByID(ctx context.Context, id int64) (*Conversation, error) {
	var c Conversation
	err := s.db.GetContext(ctx, &c, `SELECT `+conversationColumns+` FROM conversations WHERE id = $1`, id)
	if err != nil {
		return nil, notFound(err)
	}
	return &c, nil
}

// WaitingConversations returns up to limit ids of the account's open,
// unassigned conversations that routing should place, oldest first: those
// handed to a team, and those of chatflows with auto-assign on. A
// conversation a bot still runs in waits for the bot's hand-over, unless
// its chatflow no longer runs that kind of bot (switched to live agents,
// say): nothing would ever hand it over then.
func (s *Store) WaitingConversations(ctx context.Context, accountID int64, limit int) ([]int64, error) {
	ids := []int64{}
	err := s.db.SelectContext(ctx, &ids, `SELECT c.id FROM conversations c
		LEFT JOIN chatflows cf ON cf.id = c.chatflow_id
		WHERE c.account_id = $1 AND c.status = 'open' AND c.assignee_id IS NULL
		  AND (c.team_id IS NOT NULL OR COALESCE(cf.settings->'assignment'->>'auto_assign', 'false') = 'true')
		  AND NOT EXISTS (SELECT 1 FROM bot_states b WHERE b.conversation_id = c.id AND b.active AND b.kind = cf.type)
		ORDER BY c.created_at, c.id LIMIT $2`, accountID, limit)
	return ids, err
}

// lockRouting takes the account's routing lock until the transaction ends.
func lockRouting(ctx context.Context, tx *sqlx.Tx, accountID int64) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, ($2 % 2147483647)::int)`, routingLockClass, accountID)
	return err
}

// AssignToUser assigns conversation convID of account to userID (a manual
// assignment: status and capacity do not stop it, a missing seat does) and
// writes note into the thread. The conversation must be open.
func (s *Store) AssignToUser(ctx context.Context, accountID, convID, userID int64, note string) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := lockRouting(ctx, tx, accountID); err != nil {
			return err
		}
		conv, err := lockOpenConversation(ctx, tx, accountID, convID)
		if err != nil {
			return err
		}
		var seat, member bool
		if err := tx.QueryRowxContext(ctx, `SELECT has_seat,
				EXISTS (SELECT 1 FROM inbox_members im WHERE im.inbox_id = $3 AND im.user_id = u.id)
			FROM users u WHERE id = $1 AND account_id = $2`, userID, accountID, conv.InboxID).Scan(&seat, &member); err != nil {
			return notFound(err)
		}
		if !seat {
			return ErrNotRoutable
		}
		if !member {
			return ErrNotInInbox
		}
		if conv.AssigneeID != nil && *conv.AssigneeID == userID {
			return nil // already theirs: no second note
		}
		if err := setAssignee(ctx, tx, conv, userID, conv.TeamID); err != nil {
			return err
		}
		return appendSystemNote(ctx, tx, conv, note)
	})
}

// AssignToTeam hands conversation convID of account to team teamID,
// unassigned: routing then picks one of its members (or it waits for one).
func (s *Store) AssignToTeam(ctx context.Context, accountID, convID, teamID int64, note string) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := lockRouting(ctx, tx, accountID); err != nil {
			return err
		}
		conv, err := lockOpenConversation(ctx, tx, accountID, convID)
		if err != nil {
			return err
		}
		var exists bool
		if err := tx.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM teams WHERE id = $1 AND account_id = $2)`, teamID, accountID); err != nil {
			return err
		}
		if !exists {
			return ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET team_id = $2, assignee_id = NULL, updated_at = now() WHERE id = $1`,
			conv.ID, teamID); err != nil {
			return err
		}
		if err := appendSystemNote(ctx, tx, conv, note); err != nil {
			return err
		}
		announce(tx, events.Notice{Account: accountID, Conversation: conv.ID, Kind: events.KindConversation, Internal: true})
		return nil
	})
}

// ErrClosed refuses a change that needs an open conversation.
var ErrClosed = errors.New("store: conversation is closed")

// ErrNewerOpen refuses to reopen a conversation when its visitor has already
// started a newer one on the same chatflow (a visitor has one open at a time).
var ErrNewerOpen = errors.New("store: the visitor has a newer open conversation")

func lockOpenConversation(ctx context.Context, tx *sqlx.Tx, accountID, convID int64) (*Conversation, error) {
	var conv Conversation
	if err := tx.GetContext(ctx, &conv, `SELECT `+conversationColumns+` FROM conversations WHERE id = $1 AND account_id = $2 FOR UPDATE`,
		convID, accountID); err != nil {
		return nil, notFound(err)
	}
	if conv.Status != StatusOpen {
		return nil, ErrClosed
	}
	return &conv, nil
}

// setAssignee assigns conv to userID, stamps the user's last assignment and notifies.
func setAssignee(ctx context.Context, tx *sqlx.Tx, conv *Conversation, userID int64, teamID *int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE conversations SET assignee_id = $2, team_id = $3, updated_at = now() WHERE id = $1`,
		conv.ID, userID, teamID); err != nil {
		return err
	}
	// clock_timestamp, not now(): transactions serialised by the lock must stamp in lock order.
	if _, err := tx.ExecContext(ctx, `UPDATE users SET last_assigned_at = clock_timestamp() WHERE id = $1`, userID); err != nil {
		return err
	}
	conv.AssigneeID = &userID
	// The agent may hear of it by email (backend/mail), decided with the assignment.
	if err := addAssignedNews(ctx, tx, userID, conv.ID); err != nil {
		return err
	}
	announce(tx, events.Notice{Account: conv.AccountID, Conversation: conv.ID, Kind: events.KindConversation, Internal: true})
	return nil
}

// appendSystemNote writes body as an internal system message of conv (the
// agents see it in the thread; the visitor does not) and notifies.
func appendSystemNote(ctx context.Context, tx *sqlx.Tx, conv *Conversation, body string) error {
	if body == "" {
		return nil
	}
	var seq int64
	if err := tx.GetContext(ctx, &seq, `UPDATE conversations SET last_seq = last_seq + 1, updated_at = now()
		WHERE id = $1 RETURNING last_seq`, conv.ID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO messages (conversation_id, seq, author_type, internal, body)
		VALUES ($1, $2, 'system', true, $3)`, conv.ID, seq, cleanText(body, 1000)); err != nil {
		return err
	}
	conv.LastSeq = seq
	announce(tx, events.Notice{Account: conv.AccountID, Conversation: conv.ID, Seq: seq, Kind: events.KindMessage, Internal: true})
	return nil
}

// CloseConversation closes conversation convID of account and its ticket
// (status "closed", closed_at now), writing note into the thread. Closing a
// closed conversation changes nothing and returns changed=false.
func (s *Store) CloseConversation(ctx context.Context, accountID, convID int64, note string) (changed bool, err error) {
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		var conv Conversation
		if err := tx.GetContext(ctx, &conv, `SELECT `+conversationColumns+` FROM conversations WHERE id = $1 AND account_id = $2 FOR UPDATE`,
			convID, accountID); err != nil {
			return notFound(err)
		}
		if conv.Status == StatusClosed {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET status = 'closed', closed_at = now(), updated_at = now() WHERE id = $1`, convID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET status = $2, closed_at = now(), updated_at = now() WHERE conversation_id = $1`,
			convID, TicketStatusClosed); err != nil {
			return err
		}
		if err := appendSystemNote(ctx, tx, &conv, note); err != nil {
			return err
		}
		// The mail job decides on a transcript at close (backend/mail).
		if _, err := tx.ExecContext(ctx, `INSERT INTO mail_due (conversation_id, kind) VALUES ($1, 'close')
			ON CONFLICT (conversation_id, kind) DO NOTHING`, convID); err != nil {
			return err
		}
		changed = true
		announce(tx, events.Notice{Account: accountID, Conversation: convID, Kind: events.KindConversation})
		return nil
	})
	return changed, err
}

// ReopenConversation opens closed conversation convID of account again, with
// its ticket (status "open"), keeping its assignee. It refuses with
// ErrNewerOpen when the visitor already has a newer open conversation on the
// same chatflow. Reopening an open conversation returns changed=false.
func (s *Store) ReopenConversation(ctx context.Context, accountID, convID int64, note string) (changed bool, err error) {
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		var conv Conversation
		// The visitor lock is the one CreateConversation takes: no new conversation can slip in meanwhile.
		if err := tx.GetContext(ctx, &conv, `SELECT `+conversationColumns+` FROM conversations WHERE id = $1 AND account_id = $2`, convID, accountID); err != nil {
			return notFound(err)
		}
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM visitors WHERE id = $1 FOR UPDATE`, conv.VisitorID); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &conv, `SELECT `+conversationColumns+` FROM conversations WHERE id = $1 FOR UPDATE`, convID); err != nil {
			return notFound(err)
		}
		if conv.Status == StatusOpen {
			return nil
		}
		if conv.ChatflowID != nil {
			var newer bool
			if err := tx.GetContext(ctx, &newer, `SELECT EXISTS (SELECT 1 FROM conversations WHERE visitor_id = $1
				AND chatflow_id = $2 AND status = 'open' AND id <> $3)`, conv.VisitorID, *conv.ChatflowID, convID); err != nil {
				return err
			}
			if newer {
				return ErrNewerOpen
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET status = 'open', closed_at = NULL, updated_at = now() WHERE id = $1`, convID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET status = $2, closed_at = NULL, updated_at = now() WHERE conversation_id = $1`,
			convID, TicketStatusOpen); err != nil {
			return err
		}
		if err := appendSystemNote(ctx, tx, &conv, note); err != nil {
			return err
		}
		// The mail job decides on a transcript at close (backend/mail).
		if _, err := tx.ExecContext(ctx, `INSERT INTO mail_due (conversation_id, kind) VALUES ($1, 'close')
			ON CONFLICT (conversation_id, kind) DO NOTHING`, convID); err != nil {
			return err
		}
		changed = true
		announce(tx, events.Notice{Account: accountID, Conversation: convID, Kind: events.KindConversation})
		return nil
	})
	return changed, err
}

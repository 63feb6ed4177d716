// Package routing decides who answers a conversation: automatic
// assignment to the least-loaded eligible agent, manual assignment to a user
// or a team, closing and reopening.
//
// An agent is eligible when they have a seat, their status is available and
// their open assigned conversations are below their max_open_chats. Among the
// targets of the chatflow's assignment rules (its users and the members of
// its teams; the members of its inbox when it names neither) routing picks
// the one with the fewest open chats, ties to the one idle longest
// (users.last_assigned_at, never assigned first). A conversation nobody can
// take waits unassigned; RouteWaiting places waiting conversations when
// eligibility changes (status, seat, capacity, a closed chat).
//
// Every pick runs in one transaction under a per-account advisory lock (see
// store.AutoAssign), so several backends routing at once never give one
// agent more than their limit.
package routing

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/store"
)

// Errors of Assign, for callers to turn into messages.
var (
	ErrUnknownUser = errors.New("routing: no such user")
	ErrUnknownTeam = errors.New("routing: no such team")
	ErrNoSeat      = errors.New("routing: the user has no seat")
	// ErrNotInInbox refuses a user outside the conversation's inbox.
	ErrNotInInbox = store.ErrNotInInbox
	ErrBadTarget  = errors.New("routing: assign to exactly one of a user or a team")
	// ErrClosed refuses assigning a closed conversation.
	ErrClosed = store.ErrClosed
	// ErrNewerOpen refuses reopening when the visitor has started a newer conversation.
	ErrNewerOpen = store.ErrNewerOpen
)

// MaxWaitingPerPass bounds how many waiting conversations one RouteWaiting
// call considers (oldest first); the next eligibility change takes the rest.
const MaxWaitingPerPass = 500

// Targets returns the users chatflow cf's assignment rules point at: its
// users and the members of its teams, or the members of its inbox when it
// names neither. Only members of its inbox count either way: nobody else
// could open its conversations. It does not look at auto_assign or
// eligibility.
func Targets(ctx context.Context, st *store.Store, accountID int64, cf *chatflow.Chatflow) ([]int64, error) {
	members, err := st.InboxMemberIDs(ctx, accountID, cf.InboxID)
	a := cf.Assignment
	if err != nil || (len(a.UserIDs) == 0 && len(a.TeamIDs) == 0) {
		return members, err
	}
	ids, err := st.TeamMemberIDs(ctx, accountID, a.TeamIDs)
	if err != nil {
		return nil, err
	}
	ids = append(ids, a.UserIDs...)
	ids = slices.DeleteFunc(ids, func(id int64) bool { return !slices.Contains(members, id) })
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// Route places conversation convID if it waits for an agent: it is open and
// unassigned, and either handed to a team (routed among the team's members)
// or from a chatflow with auto-assign on. Nobody eligible is not an error:
// the conversation waits. Call it after creating a conversation.
func Route(ctx context.Context, st *store.Store, convID int64) error {
	conv, err := st.ConversationByID(ctx, convID)
	if err != nil {
		return err
	}
	r := newRouter(st, conv.AccountID)
	_, err = r.route(ctx, conv)
	return err
}

// RouteNew places conversation conv, just created from chatflow cf, as
// Route would, without reading either again: the caller has both (a
// visitor's first message). A chatflow that names neither users nor teams
// routes to its inbox's members, read in the assigning transaction, so
// the common case costs no query beyond that transaction's.
func RouteNew(ctx context.Context, st *store.Store, conv *store.Conversation, cf *chatflow.Chatflow) error {
	if conv.TeamID != nil || conv.InboxID != cf.InboxID {
		return Route(ctx, st, conv.ID)
	}
	a := cf.Assignment
	if !a.AutoAssign || conv.Status != store.StatusOpen || conv.AssigneeID != nil {
		return nil
	}
	note := func(name string) string { return "Assigned to " + name }
	var err error
	if len(a.UserIDs) == 0 && len(a.TeamIDs) == 0 {
		_, err = st.AutoAssignInbox(ctx, conv.AccountID, conv.ID, note)
	} else {
		var targets []int64
		if targets, err = Targets(ctx, st, conv.AccountID, cf); err == nil {
			_, err = st.AutoAssign(ctx, conv.AccountID, conv.ID, targets, note)
		}
	}
	if errors.Is(err, store.ErrNotWaiting) || errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// RouteWaiting places the account's waiting conversations, oldest first, and
// returns how many it assigned. Call it when someone may have become
// eligible: an agent's status, seat or capacity changed, a chat was closed,
// team or inbox members changed.
func RouteWaiting(ctx context.Context, st *store.Store, accountID int64) (int, error) {
	ids, err := st.WaitingConversations(ctx, accountID, MaxWaitingPerPass)
	if err != nil {
		return 0, err
	}
	r := newRouter(st, accountID)
	n := 0
	var firstErr error
	for _, id := range ids {
		conv, err := st.ConversationByID(ctx, id)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) && firstErr == nil {
				firstErr = err
			}
			continue
		}
		ok, err := r.route(ctx, conv)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if ok {
			n++
		}
		if ctx.Err() != nil {
			break
		}
	}
	return n, firstErr
}

// router caches targets and remembers target sets with nobody eligible
// during one pass, so a long queue costs one failed pick per set.
type router struct {
	st        *store.Store
	account   int64
	chatflows map[int64][]int64 // chatflow id → targets (nil: no auto-assign)
	full      map[string]bool   // target sets found with nobody eligible
}

func newRouter(st *store.Store, accountID int64) *router {
	return &router{st: st, account: accountID, chatflows: map[int64][]int64{}, full: map[string]bool{}}
}

// route reports whether conv was assigned.
func (r *router) route(ctx context.Context, conv *store.Conversation) (bool, error) {
	if conv.Status != store.StatusOpen || conv.AssigneeID != nil {
		return false, nil
	}
	targets, err := r.targets(ctx, conv)
	if err != nil || len(targets) == 0 {
		return false, err
	}
	key := setKey(targets)
	if r.full[key] {
		return false, nil
	}
	m, err := r.st.AutoAssign(ctx, r.account, conv.ID, targets, func(name string) string { return "Assigned to " + name })
	if errors.Is(err, store.ErrNotWaiting) || errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if m == nil {
		r.full[key] = true
		return false, nil
	}
	return true, nil
}

// targets returns who conv may go to: its team's members, else its
// chatflow's targets when the chatflow auto-assigns, else nobody.
func (r *router) targets(ctx context.Context, conv *store.Conversation) ([]int64, error) {
	if conv.TeamID != nil {
		return r.st.TeamMemberIDs(ctx, r.account, []int64{*conv.TeamID})
	}
	if conv.ChatflowID == nil {
		return nil, nil
	}
	if ids, ok := r.chatflows[*conv.ChatflowID]; ok {
		return ids, nil
	}
	row, err := r.st.Chatflow(ctx, r.account, *conv.ChatflowID)
	if errors.Is(err, store.ErrNotFound) {
		r.chatflows[*conv.ChatflowID] = nil
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cf, err := chatflow.FromRow(row)
	if err != nil {
		return nil, err
	}
	var ids []int64
	if cf.Assignment.AutoAssign {
		if ids, err = Targets(ctx, r.st, r.account, cf); err != nil {
			return nil, err
		}
	}
	r.chatflows[*conv.ChatflowID] = ids
	return ids, nil
}

func setKey(ids []int64) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(strconv.FormatInt(id, 10))
		b.WriteByte(',')
	}
	return b.String()
}

// Assign assigns conversation convID of account to user userID or to team
// teamID (exactly one is non-zero), on behalf of by (a name shown in the
// thread's note; "" for none). A manual assignment to a user ignores their
// status and capacity but needs a seat. A team assignment leaves the
// conversation unassigned in the team and routes it to an eligible member at
// once, or as soon as one becomes eligible. It returns store.ErrNotFound for
// an unknown conversation and the Err… values above for bad targets.
func Assign(ctx context.Context, st *store.Store, accountID, convID, userID, teamID int64, by string) error {
	if (userID == 0) == (teamID == 0) {
		return ErrBadTarget
	}
	suffix := ""
	if by != "" {
		suffix = " by " + by
	}
	if userID != 0 {
		u, err := st.User(ctx, accountID, userID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrUnknownUser
		}
		if err != nil {
			return err
		}
		err = st.AssignToUser(ctx, accountID, convID, userID, "Assigned to "+u.Name+suffix)
		switch {
		case errors.Is(err, store.ErrNotRoutable):
			return ErrNoSeat
		case errors.Is(err, store.ErrNotInInbox):
			return ErrNotInInbox
		case errors.Is(err, store.ErrNotFound):
			// The conversation, or the user deleted meanwhile: tell them apart.
			if _, uerr := st.User(ctx, accountID, userID); errors.Is(uerr, store.ErrNotFound) {
				return ErrUnknownUser
			}
		}
		return err
	}
	t, err := st.Team(ctx, accountID, teamID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrUnknownTeam
	}
	if err != nil {
		return err
	}
	if err := st.AssignToTeam(ctx, accountID, convID, teamID, "Assigned to team "+t.Name+suffix); err != nil {
		return err
	}
	routeLater(Route(ctx, st, convID))
	return nil
}

// routeLater logs a routing failure after a change that did commit: the
// conversation waits and the next eligibility change places it.
func routeLater(err error) {
	if err != nil {
		slog.Warn("routing: conversation left waiting", "err", err)
	}
}

// Close closes conversation convID of account and its ticket, then gives
// the capacity it frees to the conversations waiting. Closing a closed
// conversation is not an error.
func Close(ctx context.Context, st *store.Store, accountID, convID int64) error {
	changed, err := st.CloseConversation(ctx, accountID, convID, "Conversation closed")
	if err != nil || !changed {
		return err
	}
	_, err = RouteWaiting(ctx, st, accountID)
	routeLater(err)
	return nil
}

// Reopen opens closed conversation convID of account again with its ticket,
// on behalf of by. It keeps its assignee; an unassigned one is routed.
// Reopening an open conversation is not an error; ErrNewerOpen refuses when
// the visitor has since started another conversation on the same chatflow.
func Reopen(ctx context.Context, st *store.Store, accountID, convID int64, by string) error {
	note := "Conversation reopened"
	if by != "" {
		note += " by " + by
	}
	changed, err := st.ReopenConversation(ctx, accountID, convID, note)
	if err != nil || !changed {
		return err
	}
	routeLater(Route(ctx, st, convID))
	return nil
}

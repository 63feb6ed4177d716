package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/parleychat/parley/backend/internal/events"
)

// assignReq is one AutoAssign waiting for its batch.
type assignReq struct {
	account, conv int64
	candidates    []int64
	inbox         bool // the candidates are the members of the conversation's inbox
	note          func(name string) string
	done          chan assignRes // buffered: the batch never waits for a caller
}

type assignRes struct {
	m   *MemberLoad
	err error
}

// AutoAssign gives open, unassigned conversation convID of account to the
// eligible user among candidates with the fewest open chats, ties to the one
// idle longest (never assigned first, then the lowest id), under the
// account's routing lock. It returns the user, nil when nobody is eligible,
// or ErrNotWaiting when the conversation is closed or already assigned.
// note(name) is the system note written into the thread; nil writes none.
//
// Assignments arriving together are decided together (groupCommit): one
// transaction takes the lock once, counts every candidate's open chats
// once, and gives the conversations out one after the other in the order
// they came, each pick seeing the ones before it, exactly as one
// transaction each would; a burst of new chats costs a few transactions.
func (s *Store) AutoAssign(ctx context.Context, accountID, convID int64, candidates []int64, note func(name string) string) (*MemberLoad, error) {
	if len(candidates) == 0 {
		return nil, nil
	}
	r := &assignReq{account: accountID, conv: convID, candidates: candidates, note: note, done: make(chan assignRes, 1)}
	s.assigns.submit(r, s.assignBatch)
	select {
	case res := <-r.done:
		return res.m, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// AutoAssignInbox is AutoAssign with the members of the conversation's
// inbox as the candidates, read in the assigning transaction: what a
// chatflow that names no users or teams routes to.
func (s *Store) AutoAssignInbox(ctx context.Context, accountID, convID int64, note func(name string) string) (*MemberLoad, error) {
	r := &assignReq{account: accountID, conv: convID, inbox: true, note: note, done: make(chan assignRes, 1)}
	s.assigns.submit(r, s.assignBatch)
	select {
	case res := <-r.done:
		return res.m, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// assignTimeout bounds one batch of assignments, the wait for the routing
// lock included.
const assignTimeout = 30 * time.Second

// assignBatch decides a batch, one transaction per account in it.
func (s *Store) assignBatch(batch []*assignReq) {
	var accounts []int64
	by := map[int64][]*assignReq{}
	for _, r := range batch {
		if _, ok := by[r.account]; !ok {
			accounts = append(accounts, r.account)
		}
		by[r.account] = append(by[r.account], r)
	}
	for _, a := range accounts {
		rs := by[a]
		ctx, cancel := context.WithTimeout(context.Background(), assignTimeout)
		res := make([]assignRes, len(rs))
		err := s.tx(ctx, func(tx *sqlx.Tx) error { return assignAccount(ctx, tx, a, rs, res) })
		var pe *pq.Error
		if errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001") {
			clear(res)
			err = s.tx(ctx, func(tx *sqlx.Tx) error { return assignAccount(ctx, tx, a, rs, res) })
		}
		cancel()
		for i, r := range rs {
			if err != nil {
				r.done <- assignRes{err: err}
			} else {
				r.done <- res[i]
			}
		}
	}
}

// assignWriteSQL writes a batch's assignments: the conversations' assignee
// (and sequence, for the note), the notes, the users' last assignment, and
// the agents' email news (backend/mail): the assignment tells of the
// messages so far, so only later ones are news.
const assignWriteSQL = `WITH a AS (
		SELECT conv, usr, old_seq, note FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[]) AS t(conv, usr, old_seq, note)),
	c AS (
		UPDATE conversations c SET assignee_id = a.usr, updated_at = now(),
			last_seq = c.last_seq + CASE WHEN a.note <> '' THEN 1 ELSE 0 END
		FROM a WHERE c.id = a.conv
		RETURNING c.id),
	u AS (
		UPDATE users u SET last_assigned_at = x.at
		FROM unnest($5::bigint[], $6::timestamptz[]) AS x(id, at) WHERE u.id = x.id
		RETURNING u.id),
	news AS (
		INSERT INTO agent_news (user_id, conversation_id, kind) SELECT usr, conv, 'assigned' FROM a),
	told AS (
		INSERT INTO agent_message_told (conversation_id, told_seq) SELECT conv, old_seq FROM a
		ON CONFLICT (conversation_id) DO UPDATE SET told_seq = GREATEST(agent_message_told.told_seq, EXCLUDED.told_seq)),
	notes AS (
		INSERT INTO messages (conversation_id, seq, author_type, internal, body)
		SELECT conv, old_seq + 1, 'system', true, note FROM a WHERE note <> ''
		RETURNING id)
	SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM u), (SELECT count(*) FROM notes)`

// assignAccount decides rs, all of account, in tx and fills res.
func assignAccount(ctx context.Context, tx *sqlx.Tx, account int64, rs []*assignReq, res []assignRes) error {
	if err := lockRouting(ctx, tx, account); err != nil {
		return err
	}
	convIDs := make([]int64, 0, len(rs))
	var union []int64
	for _, r := range rs {
		convIDs = append(convIDs, r.conv)
		union = append(union, r.candidates...)
	}
	var convs []Conversation
	if err := tx.SelectContext(ctx, &convs, `SELECT `+conversationColumns+` FROM conversations WHERE id = ANY($1) AND account_id = $2
		ORDER BY id FOR UPDATE`, pq.Array(convIDs), account); err != nil {
		return err
	}
	byID := make(map[int64]*Conversation, len(convs))
	var inboxes []int64
	for i := range convs {
		byID[convs[i].ID] = &convs[i]
		inboxes = append(inboxes, convs[i].InboxID)
	}
	// Only members of the conversation's inbox: anyone else could not
	// open it (a chatflow's users or a team may reach beyond the inbox).
	type membership struct{ inbox, user int64 }
	var ms []struct {
		Inbox int64 `db:"inbox_id"`
		User  int64 `db:"user_id"`
	}
	if err := tx.SelectContext(ctx, &ms, `SELECT inbox_id, user_id FROM inbox_members WHERE inbox_id = ANY($1) ORDER BY user_id`,
		pq.Array(inboxes)); err != nil {
		return err
	}
	member := make(map[membership]bool, len(ms))
	members := map[int64][]int64{} // inbox → its members
	for _, m := range ms {
		member[membership{m.Inbox, m.User}] = true
		members[m.Inbox] = append(members[m.Inbox], m.User)
		union = append(union, m.User)
	}
	slices.Sort(union)
	union = slices.Compact(union)
	// The lock makes these counts current: every earlier assignment has committed.
	var loads []MemberLoad
	if err := tx.SelectContext(ctx, &loads, loadSelect+` ORDER BY u.id`, account, pq.Array(union)); err != nil {
		return err
	}
	users := make(map[int64]*MemberLoad, len(loads))
	for i := range loads {
		users[loads[i].UserID] = &loads[i]
	}
	// Stamps later than every earlier one of the account, in pick order:
	// the next batch (after this commit) starts later still.
	var base time.Time
	if err := tx.GetContext(ctx, &base, `SELECT greatest(clock_timestamp(),
		(SELECT max(last_assigned_at) + interval '1 microsecond' FROM users WHERE account_id = $1))`, account); err != nil {
		return err
	}
	var (
		wConv, wUser, wSeq []int64
		wNote              []string
		stamps             = map[int64]time.Time{}
	)
	for i, r := range rs {
		conv := byID[r.conv]
		if conv == nil {
			res[i].err = ErrNotFound
			continue
		}
		if conv.Status != StatusOpen || conv.AssigneeID != nil {
			res[i].err = ErrNotWaiting
			continue
		}
		candidates := r.candidates
		if r.inbox {
			candidates = members[conv.InboxID]
		}
		var best *MemberLoad
		for _, id := range candidates {
			m := users[id]
			if m == nil || !m.Eligible() || !member[membership{conv.InboxID, id}] {
				continue
			}
			if best == nil || lessLoaded(m, best) {
				best = m
			}
		}
		if best == nil {
			continue // nobody eligible: it waits
		}
		picked := *best // as the pick found them, like a transaction of its own would return
		res[i].m = &picked
		best.OpenChats++
		at := base.Add(time.Duration(len(wConv)) * time.Microsecond)
		best.LastAssignedAt = &at
		stamps[best.UserID] = at
		note := ""
		if r.note != nil {
			note = cleanText(r.note(best.Name), 1000)
		}
		uid := best.UserID
		conv.AssigneeID = &uid
		wConv, wUser, wSeq, wNote = append(wConv, conv.ID), append(wUser, uid), append(wSeq, conv.LastSeq), append(wNote, note)
		announce(tx, events.Notice{Account: account, Conversation: conv.ID, Kind: events.KindConversation})
		if note != "" {
			conv.LastSeq++
			announce(tx, events.Notice{Account: account, Conversation: conv.ID, Seq: conv.LastSeq, Kind: events.KindMessage})
		}
	}
	if len(wConv) == 0 {
		return nil
	}
	var sIDs []int64
	var sAt []string
	for id, at := range stamps {
		sIDs, sAt = append(sIDs, id), append(sAt, at.UTC().Format("2006-01-02T15:04:05.000000Z07:00"))
	}
	var nConv, nUsers, nNotes sql.NullInt64
	if err := tx.QueryRowxContext(ctx, assignWriteSQL, pq.Array(wConv), pq.Array(wUser), pq.Array(wSeq), pq.Array(wNote),
		pq.Array(sIDs), pq.Array(sAt)).Scan(&nConv, &nUsers, &nNotes); err != nil {
		return err
	}
	if int(nConv.Int64) != len(wConv) || int(nUsers.Int64) != len(sIDs) {
		return errors.New("store: an assignment batch wrote fewer rows than it decided")
	}
	return nil
}

// lessLoaded orders routing's candidates: fewest open chats, then idle
// longest (never assigned first), then the lowest id.
func lessLoaded(a, b *MemberLoad) bool {
	if a.OpenChats != b.OpenChats {
		return a.OpenChats < b.OpenChats
	}
	switch {
	case a.LastAssignedAt == nil && b.LastAssignedAt != nil:
		return true
	case a.LastAssignedAt != nil && b.LastAssignedAt == nil:
		return false
	case a.LastAssignedAt != nil && !a.LastAssignedAt.Equal(*b.LastAssignedAt):
		return a.LastAssignedAt.Before(*b.LastAssignedAt)
	}
	return a.UserID < b.UserID
}

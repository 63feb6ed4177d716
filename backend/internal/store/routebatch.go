package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
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
// messages so far, so only later ones are news (the note included: told up
// to the last seq, CollectAgentNews's cheap test passes the conversation
// by instead of looking for a visitor message after the note). It writes the report
// deltas of the new assignees too, as the row trigger would (old facts
// out, new in), with one INSERT: assignReadSQL has told the trigger to
// stand aside in this transaction (migration 0045).
const assignWriteSQL = `WITH a AS (
		SELECT conv, usr, old_seq, note FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[]) AS t(conv, usr, old_seq, note)),
	o AS (
		SELECT id, assignee_id FROM conversations WHERE id IN (SELECT conv FROM a)),
	c AS (
		UPDATE conversations c SET assignee_id = a.usr, updated_at = now(),
			last_seq = c.last_seq + CASE WHEN a.note <> '' THEN 1 ELSE 0 END
		FROM a WHERE c.id = a.conv
		RETURNING c.id, c.account_id, c.created_at, c.inbox_id, c.assignee_id, c.status, c.closed_at, c.first_response_at, c.csat_score),
	report AS (
		INSERT INTO report_deltas (account_id, created_at, kind, inbox_id, assignee_id, bucket, n, total)
		SELECT f.f_account_id, f.f_created_at, f.f_kind, f.f_inbox_id, f.f_assignee_id, f.f_bucket, sum(f.f_n), sum(f.f_total)
		FROM c JOIN o ON o.id = c.id CROSS JOIN LATERAL (
			SELECT f_account_id, f_created_at, f_kind, f_inbox_id, f_assignee_id, f_bucket, f_n, f_total FROM report_facts(c.account_id, c.created_at, c.inbox_id, o.assignee_id, c.status, c.closed_at,
				c.first_response_at, c.csat_score, -1)
			UNION ALL
			SELECT f_account_id, f_created_at, f_kind, f_inbox_id, f_assignee_id, f_bucket, f_n, f_total FROM report_facts(c.account_id, c.created_at, c.inbox_id, c.assignee_id, c.status, c.closed_at,
				c.first_response_at, c.csat_score, 1)) f
		GROUP BY c.id, f.f_account_id, f.f_created_at, f.f_kind, f.f_inbox_id, f.f_assignee_id, f.f_bucket
		HAVING sum(f.f_n) <> 0 OR sum(f.f_total) <> 0),
	u AS (
		UPDATE users u SET last_assigned_at = x.at
		FROM unnest($5::bigint[], $6::timestamptz[]) AS x(id, at) WHERE u.id = x.id
		RETURNING u.id),
	news AS (
		INSERT INTO agent_news (user_id, conversation_id, kind) SELECT usr, conv, 'assigned' FROM a),
	told AS (
		INSERT INTO agent_message_told (conversation_id, told_seq) SELECT conv, old_seq + CASE WHEN note <> '' THEN 1 ELSE 0 END FROM a
		ON CONFLICT (conversation_id) DO UPDATE SET told_seq = GREATEST(agent_message_told.told_seq, EXCLUDED.told_seq)),
	notes AS (
		INSERT INTO messages (conversation_id, seq, author_type, internal, body)
		SELECT conv, old_seq + 1, 'system', true, note FROM a WHERE note <> ''
		RETURNING id)
	SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM u), (SELECT count(*) FROM notes)`

// assignReadSQL takes the account's routing lock and reads what a batch
// decides on, in one round trip (a simple query of several statements,
// each with its own snapshot, so the reads after the lock see every
// earlier assignment committed): the conversations, locked; the members
// of their inboxes; the load of every candidate and member; and a stamp
// later than every earlier assignment of the account. Last, it tells the
// report trigger that assignWriteSQL writes this transaction's deltas
// (migration 0045). It takes only
// integers, formatted here: %[1]d the account, %[2]s the conversations'
// ids and %[3]s the candidates' (array literals).
const assignReadSQL = `SELECT pg_advisory_xact_lock(%[4]d, (%[1]d %% 2147483647)::int);
SELECT id, inbox_id, status, assignee_id, last_seq FROM conversations WHERE id = ANY('%[2]s'::bigint[]) AND account_id = %[1]d
	ORDER BY id FOR UPDATE;
SELECT inbox_id, user_id FROM inbox_members
	WHERE inbox_id IN (SELECT inbox_id FROM conversations WHERE id = ANY('%[2]s'::bigint[]) AND account_id = %[1]d)
	ORDER BY user_id;
SELECT u.id, u.name, u.has_seat, u.status, u.max_open_chats, u.last_assigned_at,
	(SELECT count(*) FROM conversations c WHERE c.assignee_id = u.id AND c.status = 'open') AS open_chats
	FROM users u WHERE u.account_id = %[1]d AND u.id IN (SELECT unnest('%[3]s'::bigint[])
		UNION SELECT im.user_id FROM inbox_members im JOIN conversations c ON c.inbox_id = im.inbox_id
		WHERE c.id = ANY('%[2]s'::bigint[]) AND c.account_id = %[1]d)
	ORDER BY u.id;
SELECT greatest(clock_timestamp(), (SELECT max(last_assigned_at) + interval '1 microsecond' FROM users WHERE account_id = %[1]d));
SELECT set_config('parley.report_deltas_written', 'on', true)`

// int64Literal formats ids as a PostgreSQL array literal.
func int64Literal(ids []int64) string {
	b := []byte{'{'}
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, '}'))
}

// waitingConv is what a batch reads of a conversation it may assign.
type waitingConv struct {
	ID, InboxID int64
	Status      string
	AssigneeID  *int64
	LastSeq     int64
}

// assignRead runs assignReadSQL in tx.
func assignRead(ctx context.Context, tx *sqlx.Tx, account int64, convIDs, candidates []int64) (convs []waitingConv,
	members map[int64][]int64, loads []MemberLoad, base time.Time, err error) {
	rows, err := tx.QueryContext(ctx, fmt.Sprintf(assignReadSQL, account, int64Literal(convIDs), int64Literal(candidates), routingLockClass))
	if err != nil {
		return nil, nil, nil, base, err
	}
	defer rows.Close()
	// Each result set is read to its end before the next (Next past the
	// end would read into the next one).
	next := func() bool { return rows.Err() == nil && rows.NextResultSet() }
	for rows.Next() { // the lock's row
	}
	if !next() {
		return nil, nil, nil, base, errors.Join(rows.Err(), errors.New("store: assignment read: no conversations"))
	}
	for rows.Next() {
		var c waitingConv
		var assignee sql.NullInt64
		if err := rows.Scan(&c.ID, &c.InboxID, &c.Status, &assignee, &c.LastSeq); err != nil {
			return nil, nil, nil, base, err
		}
		if assignee.Valid {
			c.AssigneeID = &assignee.Int64
		}
		convs = append(convs, c)
	}
	if !next() {
		return nil, nil, nil, base, errors.Join(rows.Err(), errors.New("store: assignment read: no members"))
	}
	members = map[int64][]int64{}
	for rows.Next() {
		var inbox, user int64
		if err := rows.Scan(&inbox, &user); err != nil {
			return nil, nil, nil, base, err
		}
		members[inbox] = append(members[inbox], user)
	}
	if !next() {
		return nil, nil, nil, base, errors.Join(rows.Err(), errors.New("store: assignment read: no loads"))
	}
	for rows.Next() {
		var m MemberLoad
		var last sql.NullTime
		if err := rows.Scan(&m.UserID, &m.Name, &m.HasSeat, &m.Status, &m.MaxOpenChats, &last, &m.OpenChats); err != nil {
			return nil, nil, nil, base, err
		}
		if last.Valid {
			m.LastAssignedAt = &last.Time
		}
		loads = append(loads, m)
	}
	if !next() || !rows.Next() {
		return nil, nil, nil, base, errors.Join(rows.Err(), errors.New("store: assignment read: no stamp"))
	}
	if err := rows.Scan(&base); err != nil {
		return nil, nil, nil, base, err
	}
	return convs, members, loads, base, rows.Close()
}

// assignAccount decides rs, all of account, in tx and fills res.
func assignAccount(ctx context.Context, tx *sqlx.Tx, account int64, rs []*assignReq, res []assignRes) error {
	convIDs := make([]int64, 0, len(rs))
	var union []int64
	for _, r := range rs {
		convIDs = append(convIDs, r.conv)
		union = append(union, r.candidates...)
	}
	slices.Sort(convIDs)
	slices.Sort(union)
	union = slices.Compact(union)
	// The lock makes the loads current: every earlier assignment has committed.
	convs, members, loads, base, err := assignRead(ctx, tx, account, slices.Compact(convIDs), union)
	if err != nil {
		return err
	}
	byID := make(map[int64]*waitingConv, len(convs))
	for i := range convs {
		byID[convs[i].ID] = &convs[i]
	}
	// Only members of the conversation's inbox: anyone else could not
	// open it (a chatflow's users or a team may reach beyond the inbox).
	type membership struct{ inbox, user int64 }
	member := map[membership]bool{}
	for inbox, us := range members {
		for _, u := range us {
			member[membership{inbox, u}] = true
		}
	}
	users := make(map[int64]*MemberLoad, len(loads))
	for i := range loads {
		users[loads[i].UserID] = &loads[i]
	}
	// Stamps later than every earlier one of the account, in pick order:
	// the next batch (after this commit) starts later still.
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
		announce(tx, events.Notice{Account: account, Conversation: conv.ID, Kind: events.KindConversation, Internal: true})
		if note != "" {
			conv.LastSeq++
			announce(tx, events.Notice{Account: account, Conversation: conv.ID, Seq: conv.LastSeq, Kind: events.KindMessage, Internal: true})
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

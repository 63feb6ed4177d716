package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/lib/pq"

	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/store"
)

// 200 conversations routed at once through two stores (two backends) on
// one database, 5 agents of limit 40: every one assigned, nobody over the
// limit, loads equal, each with its note as the thread's next message.
func TestAutoAssignBurstThroughTwoStores(t *testing.T) {
	db := dbtest.New(t)
	stores := []*store.Store{store.New(db), store.New(db)}
	st := stores[0]
	ctx := context.Background()
	f := newFixture(t, st, "burst")
	var agents []int64
	for i := range 5 {
		u := &store.User{AccountID: f.account.ID, Email: fmt.Sprintf("a%d@example.com", i), Name: fmt.Sprintf("Agent %d", i),
			HasSeat: true, Status: store.UserAvailable, MaxOpenChats: 40}
		check(t, st.CreateUser(ctx, u))
		agents = append(agents, u.ID)
	}
	check(t, st.SetInboxMembers(ctx, f.account.ID, f.inbox.ID, agents))
	const n = 200
	convs := make([]int64, n)
	for i := range convs {
		_, v, err := st.CreateVisitor(ctx, f.account.ID)
		check(t, err)
		c, _, err := st.CreateConversation(ctx, store.NewConversation{AccountID: f.account.ID, ChatflowID: f.chatflow, InboxID: f.inbox.ID, VisitorID: v.ID})
		check(t, err)
		convs[i] = c.ID
	}
	var wg sync.WaitGroup
	picked := make([]*store.MemberLoad, n)
	errs := make([]error, n+1)
	for i, id := range convs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			picked[i], errs[i] = stores[i%2].AutoAssign(ctx, f.account.ID, id, agents, func(name string) string { return "Assigned to " + name })
		}()
	}
	wg.Wait()
	for i := range convs {
		if errs[i] != nil || picked[i] == nil {
			t.Fatalf("conversation %d: picked %v, %v", i, picked[i], errs[i])
		}
	}
	var loads []int
	check(t, st.DB().Select(&loads, `SELECT count(*) FROM conversations WHERE status = 'open' GROUP BY assignee_id ORDER BY 1`))
	if len(loads) != 5 || loads[0] != 40 || loads[4] != 40 {
		t.Fatalf("loads %v, want five agents of 40", loads)
	}
	// The reports count them the same: started conversations per assignee,
	// from the deltas the batches wrote (the row trigger stood aside).
	var reported []int
	check(t, st.DB().Select(&reported, `SELECT sum(n) FROM report_deltas WHERE account_id = $1 AND kind = 'c'
		GROUP BY assignee_id HAVING sum(n) <> 0 ORDER BY assignee_id`, f.account.ID))
	if fmt.Sprint(reported) != "[40 40 40 40 40]" {
		t.Fatalf("reported starts per assignee %v, want five of 40 and none unassigned", reported)
	}
	// One more finds everybody full and waits.
	_, v, err := st.CreateVisitor(ctx, f.account.ID)
	check(t, err)
	c, _, err := st.CreateConversation(ctx, store.NewConversation{AccountID: f.account.ID, ChatflowID: f.chatflow, InboxID: f.inbox.ID, VisitorID: v.ID})
	check(t, err)
	m, err := st.AutoAssign(ctx, f.account.ID, c.ID, agents, nil)
	if m != nil || err != nil {
		t.Fatalf("over capacity: picked %v, %v", m, err)
	}
	// Every thread: the note is message 1, naming its assignee.
	var bad int
	check(t, st.DB().Get(&bad, `SELECT count(*) FROM conversations c JOIN users u ON u.id = c.assignee_id
		WHERE c.id = ANY($1) AND (c.last_seq <> 1 OR NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id
			AND m.seq = 1 AND m.author_type = 'system' AND m.internal AND m.body = 'Assigned to ' || u.name))`, pq.Array(convs)))
	if bad != 0 {
		t.Fatalf("%d conversations without their note as message 1", bad)
	}
	// Told up to the note: the agents' mail has no message to look for.
	var told int
	check(t, st.DB().Get(&told, `SELECT count(*) FROM conversations c JOIN agent_message_told t ON t.conversation_id = c.id
		WHERE c.id = ANY($1) AND t.told_seq = c.last_seq`, pq.Array(convs)))
	if told != n {
		t.Fatalf("%d of %d conversations told up to their last message", told, n)
	}
}

// Ties go to the agent idle longest, within one batch as across batches:
// with equal loads the assignments go round the agents in the order of
// their last assignment.
func TestAutoAssignTiesGoToTheLongestIdle(t *testing.T) {
	st := store.New(dbtest.New(t))
	ctx := context.Background()
	f := newFixture(t, st, "ties")
	var agents []int64
	for i := range 3 {
		u := &store.User{AccountID: f.account.ID, Email: fmt.Sprintf("t%d@example.com", i), Name: fmt.Sprintf("T %d", i),
			HasSeat: true, Status: store.UserAvailable, MaxOpenChats: 100}
		check(t, st.CreateUser(ctx, u))
		agents = append(agents, u.ID)
	}
	check(t, st.SetInboxMembers(ctx, f.account.ID, f.inbox.ID, agents))
	// Agent 2 was assigned long ago, agent 0 recently, agent 1 never.
	check(t, exec(st, `UPDATE users SET last_assigned_at = now() - interval '1 hour' WHERE id = $1`, agents[2]))
	check(t, exec(st, `UPDATE users SET last_assigned_at = now() - interval '1 minute' WHERE id = $1`, agents[0]))
	var got []int64
	for range 6 {
		_, v, err := st.CreateVisitor(ctx, f.account.ID)
		check(t, err)
		c, _, err := st.CreateConversation(ctx, store.NewConversation{AccountID: f.account.ID, ChatflowID: f.chatflow, InboxID: f.inbox.ID, VisitorID: v.ID})
		check(t, err)
		m, err := st.AutoAssign(ctx, f.account.ID, c.ID, agents, nil)
		check(t, err)
		// Close it again so loads stay equal and only idleness decides.
		check(t, exec(st, `UPDATE conversations SET status = 'closed' WHERE id = $1`, c.ID))
		got = append(got, m.UserID)
	}
	want := []int64{agents[1], agents[2], agents[0], agents[1], agents[2], agents[0]}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("picks %v, want %v (never assigned, then idle longest)", got, want)
	}
}

func exec(st *store.Store, q string, args ...any) error {
	_, err := st.DB().Exec(q, args...)
	return err
}

package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/cmd/parley-load/chatsim"
	"github.com/parleychat/parley/backend/internal/store"
)

// TestRoutingBurstOnTwoBackends: 200 visitors open conversations at once
// through two edges on two backends, with five available agents of limit
// 40 and auto-assignment on. Every conversation is assigned, nobody is over
// their limit, and the least-loaded rule keeps the loads within one.
func TestRoutingBurstOnTwoBackends(t *testing.T) {
	c := StartCluster(t, ClusterOptions{Backends: 2, Edges: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var inbox int64
	if err := c.DB.Get(&inbox, `SELECT inbox_id FROM chatflows WHERE public_id = $1`, c.Demo.ChatflowID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DB.Exec(`UPDATE chatflows SET settings = jsonb_set(settings, '{assignment,auto_assign}', 'true')
		WHERE public_id = $1`, c.Demo.ChatflowID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DB.Exec(`UPDATE users SET max_open_chats = 40, status = $1, has_seat = true`, store.UserAvailable); err != nil {
		t.Fatal(err)
	}
	var acct int64
	if err := c.DB.Get(&acct, `SELECT account_id FROM chatflows WHERE public_id = $1`, c.Demo.ChatflowID); err != nil {
		t.Fatal(err)
	}
	in, err := c.Store.Inbox(ctx, acct, inbox)
	if err != nil {
		t.Fatal(err)
	}
	members := in.MemberIDs
	for i := range 4 {
		u := &store.User{AccountID: acct, Email: fmt.Sprintf("burst%d@example.com", i), Name: fmt.Sprintf("Agent %d", i),
			HasSeat: true, Status: store.UserAvailable, MaxOpenChats: 40, Role: store.RoleAgent}
		if err := c.Store.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		members = append(members, u.ID)
	}
	if err := c.Store.SetInboxMembers(ctx, acct, inbox, members); err != nil {
		t.Fatal(err)
	}
	if len(members) != 5 {
		t.Fatalf("%d agents in the inbox, want 5", len(members))
	}

	const visitors = 200
	vctx, vstop := context.WithCancel(ctx)
	defer vstop()
	var running sync.WaitGroup
	defer running.Wait()
	vs := make([]*chatsim.Visitor, visitors)
	for i := range vs {
		vs[i] = chatsim.NewVisitor(chatsim.VisitorConfig{Edge: c.Edges[i%2].URL, Site: c.Demo.Site,
			Chatflow: c.Demo.ChatflowID, IDPrefix: fmt.Sprintf("r%03d", i)})
		running.Add(1)
		go func() { defer running.Done(); vs[i].Run(vctx) }()
	}
	waitFor(t, "every visitor connected", 60*time.Second, func() bool {
		for _, v := range vs {
			if !v.Connected() {
				return false
			}
		}
		return true
	})
	// All at once: every first message (which opens a conversation) together.
	var sends sync.WaitGroup
	for _, v := range vs {
		sends.Add(1)
		go func() {
			defer sends.Done()
			if _, err := v.Send(vctx, "hello, is anyone there?"); err != nil {
				t.Error(err)
			}
		}()
	}
	sends.Wait()
	type load struct {
		Assignee *int64 `db:"assignee_id"`
		N        int    `db:"n"`
	}
	var loads []load
	defer func() {
		if t.Failed() {
			t.Logf("loads at the end: %+v", loads)
			var byStatus []struct {
				Status string `db:"status"`
				N      int    `db:"n"`
			}
			c.DB.Select(&byStatus, `SELECT status, count(*) AS n FROM conversations GROUP BY status`)
			t.Logf("conversations by status: %+v", byStatus)
			var users []struct {
				ID     int64  `db:"id"`
				Max    int    `db:"max_open_chats"`
				Status string `db:"status"`
				Seat   bool   `db:"has_seat"`
			}
			c.DB.Select(&users, `SELECT id, max_open_chats, status, has_seat FROM users`)
			t.Logf("users: %+v", users)
		}
	}()
	waitFor(t, "every conversation assigned", 60*time.Second, func() bool {
		loads = nil
		if err := c.DB.Select(&loads, `SELECT assignee_id, count(*) AS n FROM conversations WHERE status = 'open' GROUP BY assignee_id`); err != nil {
			t.Fatal(err)
		}
		total, unassigned := 0, 0
		for _, l := range loads {
			total += l.N
			if l.Assignee == nil {
				unassigned += l.N
			}
		}
		return total == visitors && unassigned == 0
	})
	lo, hi := visitors, 0
	for _, l := range loads {
		if l.N > 40 {
			t.Errorf("agent %d holds %d conversations, over the limit of 40", *l.Assignee, l.N)
		}
		lo, hi = min(lo, l.N), max(hi, l.N)
	}
	if len(loads) != 5 || hi-lo > 1 {
		t.Fatalf("loads %+v: want five agents within one of each other", loads)
	}
	t.Logf("200 conversations on two backends: loads %d..%d over 5 agents", lo, hi)
}

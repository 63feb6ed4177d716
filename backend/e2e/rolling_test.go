package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/cmd/parley-load/chatsim"
	"github.com/parleychat/parley/backend/internal/dbtest"
)

// TestRunningBackendSurvivesAColumnAddedEverywhere is the first half of a
// rolling deploy: the next version's migration adds a column to every table
// while this version's backend runs. The running backend keeps reading and
// writing: a chat goes on both ways, a new visitor starts a conversation,
// the agent's pages and the REST API answer.
func TestRunningBackendSurvivesAColumnAddedEverywhere(t *testing.T) {
	s := StartSystem(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	agent, err := chatsim.SignIn(ctx, s.Edge, s.Demo.AgentEmail, s.Demo.AgentPass)
	if err != nil {
		t.Fatal(err)
	}
	chat := func(prefix string) (*chatsim.Visitor, func()) {
		v := chatsim.NewVisitor(chatsim.VisitorConfig{Edge: s.Edge, Site: s.Demo.Site, Chatflow: s.Demo.ChatflowID, IDPrefix: prefix})
		vctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); v.Run(vctx) }()
		waitFor(t, prefix+"'s welcome", 10*time.Second, v.Connected)
		return v, func() { stop(); <-done }
	}
	convID := func(v *chatsim.Visitor) int64 {
		var id int64
		if err := s.DB.Get(&id, `SELECT id FROM conversations WHERE public_id = $1`, v.Conversation()); err != nil {
			t.Fatal(err)
		}
		return id
	}
	sees := func(v *chatsim.Visitor, want ...string) {
		t.Helper()
		waitFor(t, fmt.Sprintf("the visitor to show %q", want), 10*time.Second, func() bool {
			var got []string
			for _, e := range v.Entries() {
				got = append(got, e.From+":"+e.Text)
			}
			return strings.Join(got, "|") == strings.Join(want, "|")
		})
	}

	v, stop := chat("old")
	defer stop()
	v.Send(ctx, "before the migration")
	waitFor(t, "the first message stored", 10*time.Second, func() bool { return v.Unsent() == 0 })
	if _, err := agent.Reply(ctx, convID(v), "r1", "hello before"); err != nil {
		t.Fatal(err)
	}
	sees(v, "visitor:before the migration", "agent:hello before")

	// The next version's migration runs now.
	if err := dbtest.AddColumnEverywhere(ctx, s.DB.DB, "x_future"); err != nil {
		t.Fatal(err)
	}

	v.Send(ctx, "after the migration")
	waitFor(t, "the message after the migration stored", 10*time.Second, func() bool { return v.Unsent() == 0 })
	if _, err := agent.Reply(ctx, convID(v), "r2", "hello after"); err != nil {
		t.Fatal(err)
	}
	sees(v, "visitor:before the migration", "agent:hello before", "visitor:after the migration", "agent:hello after")

	// A new visitor: a visitor row and a conversation inserted after the migration.
	w, stopW := chat("new")
	defer stopW()
	w.Send(ctx, "first words after the migration")
	waitFor(t, "the new visitor's message stored", 10*time.Second, func() bool { return w.Unsent() == 0 && w.Conversation() != "" })
	if _, err := agent.Reply(ctx, convID(w), "r3", "welcome"); err != nil {
		t.Fatal(err)
	}
	sees(w, "visitor:first words after the migration", "agent:welcome")

	// The agent's live list and thread, and the REST API's reads.
	list, err := agent.DialLive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer list.CloseNow()
	if err := chatsim.WriteLive(ctx, list, "list", 0, 0); err != nil {
		t.Fatal(err)
	}
	if f := readLiveFrame(t, ctx, list, "list"); len(f.Items) != 2 {
		t.Fatalf("the agent's list after the migration: %+v", f.Items)
	}
	for _, path := range []string{"/api/v1/account", "/api/v1/conversations", fmt.Sprintf("/api/v1/conversations/%d", convID(v)),
		fmt.Sprintf("/api/v1/conversations/%d/messages", convID(v)), "/api/v1/users", "/api/v1/inboxes", "/api/v1/teams",
		"/api/v1/chatflows", "/api/v1/tickets", "/api/v1/bots", "/api/v1/knowledge-bases"} {
		if code, body := liveREST(t, s, "GET", path, nil); code != 200 {
			t.Errorf("GET %s after the migration: %d %s", path, code, body)
		}
	}
	if code, body := liveREST(t, s, "POST", fmt.Sprintf("/api/v1/conversations/%d/close", convID(w)), nil); code != 200 {
		t.Errorf("close after the migration: %d %s", code, body)
	}
	var n int
	if err := s.DB.Get(&n, `SELECT count(*) FROM messages`); err != nil || n < 6 {
		t.Fatalf("%d messages stored (%v)", n, err)
	}
}

package chat_test

import (
	"context"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/store"
)

// The engine routes a conversation when the visitor's first message creates it.
func TestFirstMessageRoutesTheConversation(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	_, err := w.db.Exec(`UPDATE chatflows SET settings = '{"assignment":{"auto_assign":true}}' WHERE id = $1`, w.cfID)
	must(t, err)
	w.agent.HasSeat, w.agent.Status, w.agent.MaxOpenChats = true, store.UserAvailable, 3
	must(t, w.st.UpdateUser(ctx, w.agent))
	must(t, w.st.SetInboxMembers(ctx, w.account.ID, w.inbox.ID, []int64{w.agent.ID}))

	s, _, conv := w.chat(t, w.link(t), "Hello")
	deadline := time.Now().Add(5 * time.Second)
	for w.conversation(t, conv).AssigneeID == nil {
		if time.Now().After(deadline) {
			t.Fatal("the new conversation was never assigned")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := *w.conversation(t, conv).AssigneeID; got != w.agent.ID {
		t.Fatalf("assigned to %d, want Ann %d", got, w.agent.ID)
	}
	// The assignment note is for agents: the visitor's socket stays quiet.
	s.quiet(t, 300*time.Millisecond)
}

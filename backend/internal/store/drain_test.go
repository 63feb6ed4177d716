package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/store"
)

// TestWaitAppendsFinishesWhatWasAccepted: appends whose callers stopped
// waiting (a link dropped by a stopping backend) are still committed, and
// WaitAppends returns only once they are, so the database can close after it.
func TestWaitAppendsFinishesWhatWasAccepted(t *testing.T) {
	st := store.New(dbtest.New(t))
	f := newFixture(t, st, "drain")
	c := newConversation(t, f)

	const n = 300
	gone, leave := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("m%d", i)
			st.AppendMessage(gone, store.NewMessage{ConversationID: c.ID, ClientID: id, AuthorType: store.AuthorVisitor, Body: id})
		}()
	}
	leave() // every caller gives up at once
	wg.Wait()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	check(t, st.WaitAppends(ctx))
	var stored int
	check(t, st.DB().Get(&stored, `SELECT count(*) FROM messages WHERE conversation_id = $1`, c.ID))
	// AppendMessage queues before it waits: every one was accepted.
	if stored != n {
		t.Fatalf("after WaitAppends: %d of %d accepted appends stored", stored, n)
	}
}

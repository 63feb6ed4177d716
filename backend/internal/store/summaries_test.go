package store_test

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/store"
)

// ConversationSummaries reads by id what ConversationSummary reads one at a
// time: the same rows, another account's left out.
func TestConversationSummariesByID(t *testing.T) {
	st := store.New(dbtest.New(t))
	ctx := context.Background()
	f, other := newFixture(t, st, "sa"), newFixture(t, st, "sb")
	u := &store.User{AccountID: f.account.ID, Email: "s@example.com", Name: "Sam", HasSeat: true, Status: store.UserAvailable, MaxOpenChats: 9}
	check(t, st.CreateUser(ctx, u))
	var ids []int64
	for i := range 6 {
		_, v, err := st.CreateVisitor(ctx, f.account.ID)
		check(t, err)
		c, _, err := st.CreateConversation(ctx, store.NewConversation{AccountID: f.account.ID, ChatflowID: f.chatflow, InboxID: f.inbox.ID,
			VisitorID: v.ID, PageURL: "https://shop.example/" + fmt.Sprint(i)})
		check(t, err)
		for k := range i {
			_, _, err = st.AppendMessage(ctx, store.NewMessage{ConversationID: c.ID, ClientID: fmt.Sprint(k), AuthorType: store.AuthorVisitor, Body: fmt.Sprint("hi ", k)})
			check(t, err)
		}
		if i%2 == 0 {
			check(t, exec(st, `UPDATE conversations SET assignee_id = $2 WHERE id = $1`, c.ID, u.ID))
		}
		ids = append(ids, c.ID)
	}
	_, ov, err := st.CreateVisitor(ctx, other.account.ID)
	check(t, err)
	oc, _, err := st.CreateConversation(ctx, store.NewConversation{AccountID: other.account.ID, ChatflowID: other.chatflow, InboxID: other.inbox.ID, VisitorID: ov.ID})
	check(t, err)
	got, err := st.ConversationSummaries(ctx, f.account.ID, append(ids, oc.ID, 999999))
	check(t, err)
	if len(got) != len(ids) {
		t.Fatalf("%d rows for %d conversations of the account", len(got), len(ids))
	}
	for _, g := range got {
		want, err := st.ConversationSummary(ctx, f.account.ID, g.ID)
		check(t, err)
		if !reflect.DeepEqual(g, *want) {
			t.Errorf("by id %+v\none at a time %+v", g, *want)
		}
	}
}

// A conversation nobody reads counts its unread messages up to UnreadCap,
// and a read brings the count back to what follows it: the visitor's
// messages only, counted as they are appended, whatever the team writes.
func TestUnreadCountStopsAtCap(t *testing.T) {
	st := store.New(dbtest.New(t))
	ctx := context.Background()
	f := newFixture(t, st, "uc")
	_, v, err := st.CreateVisitor(ctx, f.account.ID)
	check(t, err)
	c, _, err := st.CreateConversation(ctx, store.NewConversation{AccountID: f.account.ID, ChatflowID: f.chatflow, InboxID: f.inbox.ID, VisitorID: v.ID})
	check(t, err)
	send := func(author string, internal bool, n int) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() { // together, so that batches carry several
				defer wg.Done()
				m := store.NewMessage{ConversationID: c.ID, ClientID: fmt.Sprintf("%s-%t-%d-%d", author, internal, n, i),
					AuthorType: author, Internal: internal, Body: "m"}
				_, _, err := st.AppendMessage(ctx, m)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			check(t, err)
		}
	}
	unread := func(want int, when string) {
		t.Helper()
		got, err := st.ConversationSummary(ctx, f.account.ID, c.ID)
		check(t, err)
		if got.UnreadMessages() != want {
			t.Fatalf("%s: %d unread, want %d", when, got.UnreadMessages(), want)
		}
	}
	send(store.AuthorVisitor, false, store.UnreadCap+50)
	unread(store.UnreadCap, "150 visitor messages, none read")
	_, _, err = st.MarkRead(ctx, c.ID, store.ReadAgent, 140)
	check(t, err)
	unread(10, "read up to 140 of 150")
	send(store.AuthorAgent, false, 2)
	send(store.AuthorAgent, true, 1)
	send(store.AuthorVisitor, false, 3)
	unread(13, "two replies and a note, then three visitor messages")
	_, _, err = st.MarkRead(ctx, c.ID, store.ReadAgent, 1000) // past the end: clamped to the last
	check(t, err)
	unread(0, "everything read")
	send(store.AuthorVisitor, false, 1)
	unread(1, "one more")
}

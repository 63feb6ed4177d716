package store_test

import (
	"context"
	"fmt"
	"reflect"
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
// and a read brings the count back to what follows it.
func TestUnreadCountStopsAtCap(t *testing.T) {
	st := store.New(dbtest.New(t))
	ctx := context.Background()
	f := newFixture(t, st, "uc")
	_, v, err := st.CreateVisitor(ctx, f.account.ID)
	check(t, err)
	c, _, err := st.CreateConversation(ctx, store.NewConversation{AccountID: f.account.ID, ChatflowID: f.chatflow, InboxID: f.inbox.ID, VisitorID: v.ID})
	check(t, err)
	check(t, exec(st, `INSERT INTO messages (conversation_id, seq, author_type, body)
		SELECT $1, s, 'visitor', 'm' || s FROM generate_series(1, $2::int) s`, c.ID, store.UnreadCap+50))
	check(t, exec(st, `UPDATE conversations SET last_seq = $2 WHERE id = $1`, c.ID, store.UnreadCap+50))
	got, err := st.ConversationSummary(ctx, f.account.ID, c.ID)
	check(t, err)
	if got.UnreadMessages() != store.UnreadCap {
		t.Fatalf("unread %d of %d messages, want the cap %d", got.UnreadMessages(), store.UnreadCap+50, store.UnreadCap)
	}
	check(t, exec(st, `INSERT INTO conversation_reads (conversation_id, agent_read_seq) VALUES ($1, $2)`, c.ID, 140))
	got, err = st.ConversationSummary(ctx, f.account.ID, c.ID)
	check(t, err)
	if got.UnreadMessages() != 10 {
		t.Fatalf("unread %d after reading up to 140 of 150, want 10", got.UnreadMessages())
	}
}

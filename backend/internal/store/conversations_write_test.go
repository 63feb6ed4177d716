package store_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/backend/internal/store"
)

type fixture struct {
	st       *store.Store
	account  *store.Account
	inbox    *store.Inbox
	chatflow int64
}

func newFixture(t *testing.T, st *store.Store, site string) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{st: st, account: &store.Account{PublicID: site, Name: site}}
	check(t, st.CreateAccount(ctx, f.account))
	f.inbox = &store.Inbox{AccountID: f.account.ID, Name: "Support", HasChatChannel: true}
	check(t, st.CreateInbox(ctx, f.inbox))
	check(t, st.DB().Get(&f.chatflow, `INSERT INTO chatflows (account_id, public_id, name, channel, inbox_id, type, enabled, settings)
		VALUES ($1, $2, 'Web', 'website', $3, 'live_agent', true, '{}') RETURNING id`, f.account.ID, "cf_"+site, f.inbox.ID))
	return f
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestVisitorTokensAreHashedAndScopedToTheAccount(t *testing.T) {
	st := store.New(dbtest.New(t))
	ctx := context.Background()
	a, b := newFixture(t, st, "a"), newFixture(t, st, "b")

	token, v, err := st.CreateVisitor(ctx, a.account.ID)
	check(t, err)
	if len(token) < 40 || !bytes.Equal(v.TokenHash, store.HashToken(token)) {
		t.Fatalf("token %q, hash %x", token, v.TokenHash)
	}
	var plain int
	check(t, st.DB().Get(&plain, `SELECT count(*) FROM visitors WHERE position($1::bytea in token_hash) > 0`, []byte(token)))
	if plain != 0 {
		t.Fatal("the token itself is stored")
	}
	got, err := st.VisitorByToken(ctx, a.account.ID, token)
	check(t, err)
	if got.ID != v.ID {
		t.Fatalf("visitor %d, want %d", got.ID, v.ID)
	}
	for _, c := range []struct {
		account int64
		token   string
	}{{b.account.ID, token}, {a.account.ID, ""}, {a.account.ID, token + "x"}} {
		if _, err := st.VisitorByToken(ctx, c.account, c.token); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("account %d token %q: err %v, want not found", c.account, c.token, err)
		}
	}
	token2, v2, err := st.CreateVisitor(ctx, a.account.ID)
	check(t, err)
	if token2 == token || v2.ID == v.ID {
		t.Fatal("two visitors share a token")
	}

	// A returning visitor is marked seen, but not on every lookup.
	_, err = st.DB().Exec(`UPDATE visitors SET last_seen_at = now() - interval '1 hour' WHERE id = $1`, v.ID)
	check(t, err)
	got, err = st.VisitorByToken(ctx, a.account.ID, token)
	check(t, err)
	if time.Since(got.LastSeenAt) > time.Minute {
		t.Fatalf("last seen %v not refreshed", got.LastSeenAt)
	}
}

func TestCreateConversationMakesItsTicketAndNotifies(t *testing.T) {
	dsn := dbtest.URL(t)
	db, err := sqlx.Open("postgres", dsn)
	check(t, err)
	defer db.Close()
	st := store.New(db)
	bus, err := events.Listen(dsn)
	check(t, err)
	defer bus.Close()
	ctx := context.Background()
	f := newFixture(t, st, "a")
	sub := bus.Subscribe(f.account.ID)
	defer sub.Close()
	_, v, err := st.CreateVisitor(ctx, f.account.ID)
	check(t, err)

	if _, err := st.OpenConversationOf(ctx, v.ID, f.chatflow); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("open conversation before any: %v", err)
	}
	nc := store.NewConversation{AccountID: f.account.ID, ChatflowID: f.chatflow, InboxID: f.inbox.ID, VisitorID: v.ID,
		PageURL: "https://x.example/\x00a\xff", Referrer: strings.Repeat("r", 5000), UserAgent: "UA"}
	c, created, err := st.CreateConversation(ctx, nc)
	check(t, err)
	if !created || !strings.HasPrefix(c.PublicID, "conv_") || c.Status != store.StatusOpen || c.VisitorID != v.ID || c.InboxID != f.inbox.ID {
		t.Fatalf("conversation %+v created=%v", c, created)
	}
	if c.PageURL != "https://x.example/a\uFFFD" || len(c.Referrer) != store.MaxContextChars {
		t.Fatalf("context not cleaned: page %q, referrer of %d", c.PageURL, len(c.Referrer))
	}
	ticket, err := st.TicketOfConversation(ctx, f.account.ID, c.ID)
	check(t, err)
	if ticket.Status != "new" || ticket.Pipeline != "support" || ticket.Priority != "medium" || string(ticket.Properties) != "{}" {
		t.Fatalf("ticket %+v", ticket)
	}
	for waiting := true; waiting; {
		select {
		case n := <-sub.C:
			if n.Kind == events.KindAccess {
				continue // the fixture's inbox members
			}
			if n.Kind != events.KindConversation || n.Conversation != c.ID {
				t.Fatalf("notice %v", n)
			}
			waiting = false
		case <-time.After(5 * time.Second):
			t.Fatal("no notice for the new conversation")
		}
	}

	// A second first message (another tab) lands in the same open conversation.
	again, created, err := st.CreateConversation(ctx, nc)
	check(t, err)
	if created || again.ID != c.ID {
		t.Fatalf("second create: %d created=%v, want %d reused", again.ID, created, c.ID)
	}
	open, err := st.OpenConversationOf(ctx, v.ID, f.chatflow)
	check(t, err)
	if open.ID != c.ID {
		t.Fatalf("open conversation %d, want %d", open.ID, c.ID)
	}
	if status, err := st.ConversationStatus(ctx, c.ID); err != nil || status != store.StatusOpen {
		t.Fatalf("status %q %v", status, err)
	}

	// Once closed it is no longer the open one; the next is a new conversation with its own ticket.
	_, err = st.DB().Exec(`UPDATE conversations SET status = 'closed' WHERE id = $1`, c.ID)
	check(t, err)
	if _, err := st.OpenConversationOf(ctx, v.ID, f.chatflow); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("closed conversation still open: %v", err)
	}
	next, created, err := st.CreateConversation(ctx, nc)
	check(t, err)
	if !created || next.ID == c.ID {
		t.Fatal("no new conversation after close")
	}
	var tickets int
	check(t, st.DB().Get(&tickets, `SELECT count(*) FROM tickets WHERE account_id = $1`, f.account.ID))
	if tickets != 2 {
		t.Fatalf("%d tickets, want 2", tickets)
	}

	// Another account's visitor cannot be given a conversation here.
	g := newFixture(t, st, "b")
	_, gv, err := st.CreateVisitor(ctx, g.account.ID)
	check(t, err)
	nc.VisitorID = gv.ID
	if _, _, err := st.CreateConversation(ctx, nc); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cross-account conversation: %v", err)
	}
	if _, err := st.TicketOfConversation(ctx, g.account.ID, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another account read the ticket: %v", err)
	}
}

// A page load from another page records the visitor's current page once,
// keeps the start page, tells the agents, and refuses what is not an
// http(s) URL of bounded length.
func TestSetConversationPageKeepsTheStartPageAndStoresOnlyGoodURLs(t *testing.T) {
	dsn := dbtest.URL(t)
	db, err := sqlx.Open("postgres", dsn)
	check(t, err)
	defer db.Close()
	st := store.New(db)
	bus, err := events.Listen(dsn)
	check(t, err)
	defer bus.Close()
	ctx := context.Background()
	f := newFixture(t, st, "a")
	sub := bus.Subscribe(f.account.ID)
	defer sub.Close()
	notice := func() events.Notice {
		t.Helper()
		for {
			select {
			case n := <-sub.C:
				if n.Kind == events.KindAccess {
					continue // the fixture's inbox members
				}
				return n
			case <-time.After(10 * time.Second): // a guard against hanging, not a timing requirement
				t.Fatal("no notice")
			}
			return events.Notice{}
		}
	}
	_, v, err := st.CreateVisitor(ctx, f.account.ID)
	check(t, err)
	const pageA, pageB = "https://shop.example/a", "https://shop.example/b?x=1#top"
	c, _, err := st.CreateConversation(ctx, store.NewConversation{AccountID: f.account.ID, ChatflowID: f.chatflow, InboxID: f.inbox.ID,
		VisitorID: v.ID, PageURL: pageA})
	check(t, err)
	if c.CurrentPage != "" || c.VisitorPage() != pageA {
		t.Fatalf("new conversation: current %q, visitor page %q", c.CurrentPage, c.VisitorPage())
	}
	if n := notice(); n.Conversation != c.ID { // the conversation's start
		t.Fatalf("notice %v", n)
	}
	reread := func() *store.Conversation {
		t.Helper()
		got, err := st.Conversation(ctx, f.account.ID, c.ID)
		check(t, err)
		return got
	}

	// The same page as now: nothing written.
	if changed, err := st.SetConversationPage(ctx, f.account.ID, c.ID, pageA); err != nil || changed {
		t.Fatalf("start page again: changed %v, %v", changed, err)
	}
	if changed, err := st.SetConversationPage(ctx, f.account.ID, c.ID, pageB); err != nil || !changed {
		t.Fatalf("page B: changed %v, %v", changed, err)
	}
	if got := reread(); got.CurrentPage != pageB || got.PageURL != pageA || got.VisitorPage() != pageB {
		t.Fatalf("after B: current %q, start %q", got.CurrentPage, got.PageURL)
	}
	if n := notice(); n.Kind != events.KindConversation || n.Conversation != c.ID {
		t.Fatalf("notice %v", n)
	}
	if changed, err := st.SetConversationPage(ctx, f.account.ID, c.ID, pageB); err != nil || changed {
		t.Fatalf("page B again: changed %v, %v", changed, err)
	}

	for _, bad := range []string{"javascript:alert(document.cookie)", "JavaScript://shop.example/%0aalert(1)", "data:text/html,<script>x</script>",
		"/relative/path", "https://", "https://shop.example/\nx", "https://shop.example/" + strings.Repeat("a", store.MaxContextChars)} {
		if store.ValidPageURL(bad) {
			t.Errorf("%.40q is valid", bad)
		}
		if changed, err := st.SetConversationPage(ctx, f.account.ID, c.ID, bad); err != nil || changed {
			t.Fatalf("%.40q: changed %v, %v", bad, changed, err)
		}
	}
	if got := reread(); got.CurrentPage != pageB {
		t.Fatalf("a bad page was stored: %.60q", got.CurrentPage)
	}
	long := "https://shop.example/" + strings.Repeat("é", store.MaxContextChars-len("https://shop.example/"))
	if !store.ValidPageURL(long) || !store.ValidPageURL("HTTP://Shop.example") {
		t.Fatal("a good URL at the limit, or with an upper-case scheme, is refused")
	}

	// Another account's conversation, or a closed one, is left alone.
	other := newFixture(t, st, "b")
	if changed, err := st.SetConversationPage(ctx, other.account.ID, c.ID, "https://shop.example/c"); err != nil || changed {
		t.Fatalf("another account: changed %v, %v", changed, err)
	}
	// Back on the start page: current and start agree again.
	if changed, err := st.SetConversationPage(ctx, f.account.ID, c.ID, pageA); err != nil || !changed {
		t.Fatalf("back to A: changed %v, %v", changed, err)
	}
	if _, err := st.CloseConversation(ctx, f.account.ID, c.ID, ""); err != nil {
		t.Fatal(err)
	}
	if changed, err := st.SetConversationPage(ctx, f.account.ID, c.ID, pageB); err != nil || changed {
		t.Fatalf("closed: changed %v, %v", changed, err)
	}
	if got := reread(); got.CurrentPage != pageA || got.PageURL != pageA {
		t.Fatalf("end: current %q, start %q", got.CurrentPage, got.PageURL)
	}
}

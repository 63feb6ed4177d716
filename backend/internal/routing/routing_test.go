package routing_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/routing"
	"github.com/parleychat/parley/backend/internal/store"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var ctx = context.Background()

// world is one account with an inbox, agents and chatflows, on a fresh database.
type world struct {
	t     *testing.T
	st    *store.Store
	acct  *store.Account
	inbox *store.Inbox
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, st: store.New(dbtest.New(t))}
	w.acct = &store.Account{Name: "Acme"}
	w.check(w.st.CreateAccount(ctx, w.acct))
	w.inbox = &store.Inbox{AccountID: w.acct.ID, Name: "Support", HasChatChannel: true}
	w.check(w.st.CreateInbox(ctx, w.inbox))
	return w
}

func (w *world) check(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

// agent adds a user; member puts them in the inbox.
func (w *world) agent(name string, seat bool, status string, max int, member bool) int64 {
	w.t.Helper()
	u := &store.User{AccountID: w.acct.ID, Email: strings.ToLower(name) + "@example.com", Name: name,
		HasSeat: seat, Status: status, MaxOpenChats: max}
	w.check(w.st.CreateUser(ctx, u))
	if member {
		in, err := w.st.Inbox(ctx, w.acct.ID, w.inbox.ID)
		w.check(err)
		w.check(w.st.SetInboxMembers(ctx, w.acct.ID, w.inbox.ID, append(in.MemberIDs, u.ID)))
	}
	return u.ID
}

// chatflow stores a chatflow with the given assignment and returns its id.
func (w *world) chatflow(a chatflow.Assignment) int64 {
	w.t.Helper()
	cf := chatflow.Default()
	cf.Name, cf.InboxID, cf.Enabled, cf.PublicID = "Web", w.inbox.ID, true, store.NewPublicID("cf")
	cf.Assignment = a
	row, err := cf.Row(w.acct.ID)
	w.check(err)
	w.check(w.st.CreateChatflow(ctx, row))
	return row.ID
}

// conversation starts a conversation of a new visitor on chatflow cf and routes it.
func (w *world) conversation(cf int64) int64 {
	w.t.Helper()
	id := w.create(cf)
	w.check(routing.Route(ctx, w.st, id))
	return id
}

func (w *world) create(cf int64) int64 {
	w.t.Helper()
	_, v, err := w.st.CreateVisitor(ctx, w.acct.ID)
	w.check(err)
	c, created, err := w.st.CreateConversation(ctx, store.NewConversation{AccountID: w.acct.ID, ChatflowID: cf,
		InboxID: w.inbox.ID, VisitorID: v.ID})
	w.check(err)
	if !created {
		w.t.Fatal("not created")
	}
	return c.ID
}

// assignee returns who conversation id is assigned to (0: nobody).
func (w *world) assignee(id int64) int64 {
	w.t.Helper()
	c, err := w.st.Conversation(ctx, w.acct.ID, id)
	w.check(err)
	if c.AssigneeID == nil {
		return 0
	}
	return *c.AssigneeID
}

// load gives user n open conversations already (as if assigned earlier).
func (w *world) load(cf, user int64, n int) {
	w.t.Helper()
	for range n {
		id := w.create(cf)
		w.check(w.st.AssignToUser(ctx, w.acct.ID, id, user, ""))
	}
}

func (w *world) lastAssigned(user int64, ago time.Duration) {
	w.t.Helper()
	var at any
	if ago > 0 {
		at = time.Now().Add(-ago)
	}
	_, err := w.st.DB().Exec(`UPDATE users SET last_assigned_at = $2 WHERE id = $1`, user, at)
	w.check(err)
}

func (w *world) update(user int64, fn func(u *store.User)) {
	w.t.Helper()
	u, err := w.st.User(ctx, w.acct.ID, user)
	w.check(err)
	fn(u)
	w.check(w.st.UpdateUser(ctx, u))
	_, err = routing.RouteWaiting(ctx, w.st, w.acct.ID)
	w.check(err)
}

func auto() chatflow.Assignment { return chatflow.Assignment{AutoAssign: true} }

func TestOnlyEligibleAgentsAreRouted(t *testing.T) {
	cases := []struct {
		name string
		// skip is set up so that it would win on every other rule (no load, idle longest).
		skip func(w *world) int64
	}{
		{"no seat", func(w *world) int64 { return w.agent("Skip", false, store.UserAvailable, 5, true) }},
		{"away", func(w *world) int64 { return w.agent("Skip", true, store.UserAway, 5, true) }},
		{"offline", func(w *world) int64 { return w.agent("Skip", true, store.UserOffline, 5, true) }},
		{"at capacity", func(w *world) int64 {
			id := w.agent("Skip", true, store.UserAvailable, 1, true)
			w.load(w.chatflow(chatflow.Assignment{}), id, 1)
			w.lastAssigned(id, 0)
			return id
		}},
		{"zero capacity", func(w *world) int64 { return w.agent("Skip", true, store.UserAvailable, 0, true) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			skip := c.skip(w)
			ok := w.agent("Ok", true, store.UserAvailable, 5, true)
			w.load(w.chatflow(chatflow.Assignment{}), ok, 2) // more loaded, recently assigned
			if got := w.assignee(w.conversation(w.chatflow(auto()))); got != ok || got == skip {
				t.Fatalf("assigned to %d, want %d", got, ok)
			}
		})
	}
}

func TestLeastLoadedThenIdleLongest(t *testing.T) {
	w := newWorld(t)
	manual := w.chatflow(chatflow.Assignment{})
	ana := w.agent("Ana", true, store.UserAvailable, 5, true)
	ben := w.agent("Ben", true, store.UserAvailable, 5, true)
	cas := w.agent("Cas", true, store.UserAvailable, 5, true)
	w.load(manual, ana, 2)
	w.load(manual, ben, 1)
	w.load(manual, cas, 1)
	w.lastAssigned(ben, time.Minute)
	w.lastAssigned(cas, time.Hour)
	cf := w.chatflow(auto())

	// Ben and Cas have one chat each; Cas waited longer.
	if got := w.assignee(w.conversation(cf)); got != cas {
		t.Fatalf("first: %d, want Cas %d", got, cas)
	}
	// Cas now has two: Ben is the least loaded.
	if got := w.assignee(w.conversation(cf)); got != ben {
		t.Fatalf("second: %d, want Ben %d", got, ben)
	}
	// All have two; Ana was assigned longest ago (her load came first).
	if got := w.assignee(w.conversation(cf)); got != ana {
		t.Fatalf("third: %d, want Ana %d", got, ana)
	}
}

func TestNeverAssignedWinsTies(t *testing.T) {
	w := newWorld(t)
	ana := w.agent("Ana", true, store.UserAvailable, 5, true)
	ben := w.agent("Ben", true, store.UserAvailable, 5, true)
	w.lastAssigned(ana, 24*time.Hour)
	if got := w.assignee(w.conversation(w.chatflow(auto()))); got != ben {
		t.Fatalf("assigned to %d, want Ben %d (never assigned)", got, ben)
	}
}

func TestTargetsUsersTeamsAndInbox(t *testing.T) {
	w := newWorld(t)
	inInbox := w.agent("Ina", true, store.UserAvailable, 5, true)
	teamOnly := w.agent("Tom", true, store.UserAvailable, 5, true)
	userOnly := w.agent("Uma", true, store.UserAvailable, 5, true)
	// Olga is in the team and named by chatflows, but not in the inbox: she
	// could not open its conversations, so she never gets one.
	outsider := w.agent("Olga", true, store.UserAvailable, 5, false)
	team := &store.Team{AccountID: w.acct.ID, Name: "Sales", MemberIDs: []int64{teamOnly, outsider}}
	w.check(w.st.CreateTeam(ctx, team))
	w.lastAssigned(outsider, 0) // Olga would win every tie
	w.lastAssigned(inInbox, 1)

	if got := w.assignee(w.conversation(w.chatflow(chatflow.Assignment{AutoAssign: true, TeamIDs: []int64{team.ID}}))); got != teamOnly {
		t.Fatalf("team target: %d, want Tom %d", got, teamOnly)
	}
	if got := w.assignee(w.conversation(w.chatflow(chatflow.Assignment{AutoAssign: true, UserIDs: []int64{userOnly, outsider}}))); got != userOnly {
		t.Fatalf("user target: %d, want Uma %d", got, userOnly)
	}
	both := w.chatflow(chatflow.Assignment{AutoAssign: true, UserIDs: []int64{userOnly}, TeamIDs: []int64{team.ID}})
	got := map[int64]bool{w.assignee(w.conversation(both)): true, w.assignee(w.conversation(both)): true}
	if !got[userOnly] || !got[teamOnly] || got[inInbox] || got[outsider] {
		t.Fatalf("users and teams: %v, want Uma %d and Tom %d", got, userOnly, teamOnly)
	}
	// Only outsiders named: the conversation waits rather than go where
	// nobody can open it, and a manual assignment to one is refused.
	waiting := w.conversation(w.chatflow(chatflow.Assignment{AutoAssign: true, UserIDs: []int64{outsider}}))
	if got := w.assignee(waiting); got != 0 {
		t.Fatalf("assigned to %d outside the inbox", got)
	}
	if err := routing.Assign(ctx, w.st, w.acct.ID, waiting, outsider, 0, "Ina"); !errors.Is(err, routing.ErrNotInInbox) {
		t.Fatalf("manual assignment outside the inbox: %v", err)
	}
	// Neither users nor teams: the inbox's members (Ina, the least loaded).
	if got := w.assignee(w.conversation(w.chatflow(auto()))); got != inInbox {
		t.Fatalf("inbox members: %d, want Ina %d", got, inInbox)
	}
	// Auto-assign off: nobody.
	if got := w.assignee(w.conversation(w.chatflow(chatflow.Assignment{UserIDs: []int64{userOnly}}))); got != 0 {
		t.Fatalf("auto-assign off: assigned to %d", got)
	}
}

func TestWaitingConversationIsAssignedWhenSomeoneBecomesEligible(t *testing.T) {
	steps := []struct {
		name   string
		before func(w *world, u int64)
		change func(w *world, u int64)
	}{
		{"status goes to available",
			func(w *world, u int64) { w.update(u, func(x *store.User) { x.Status = store.UserAway }) },
			func(w *world, u int64) { w.update(u, func(x *store.User) { x.Status = store.UserAvailable }) }},
		{"seat given",
			func(w *world, u int64) { w.update(u, func(x *store.User) { x.HasSeat = false }) },
			func(w *world, u int64) { w.update(u, func(x *store.User) { x.HasSeat = true }) }},
		{"capacity raised",
			func(w *world, u int64) { w.update(u, func(x *store.User) { x.MaxOpenChats = 0 }) },
			func(w *world, u int64) { w.update(u, func(x *store.User) { x.MaxOpenChats = 1 }) }},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			w := newWorld(t)
			u := w.agent("Ana", true, store.UserAvailable, 5, true)
			s.before(w, u)
			cf := w.chatflow(auto())
			first, second := w.conversation(cf), w.conversation(cf)
			if w.assignee(first) != 0 || w.assignee(second) != 0 {
				t.Fatal("assigned while nobody is eligible")
			}
			s.change(w, u)
			if w.assignee(first) != u {
				t.Fatalf("the oldest waiting conversation went to %d, want %d", w.assignee(first), u)
			}
			if s.name == "capacity raised" && w.assignee(second) != 0 {
				t.Fatal("capacity 1 took two conversations")
			}
			if s.name != "capacity raised" && w.assignee(second) != u {
				t.Fatal("the second waiting conversation was not assigned")
			}
		})
	}
}

// A conversation a bot runs in waits for the bot's hand-over, but not once
// its chatflow stopped running that bot: the visitor would wait forever.
func TestBotConversationWaitsOnlyWhileItsChatflowRunsTheBot(t *testing.T) {
	w := newWorld(t)
	u := w.agent("Ana", true, store.UserAway, 5, true)
	cf := w.chatflow(auto())
	withBot, switched := w.conversation(cf), w.conversation(cf)
	for _, id := range []int64{withBot, switched} {
		if _, err := w.st.StartBot(ctx, w.acct.ID, id, store.BotKindCustomerAgent, 0); err != nil {
			t.Fatal(err)
		}
	}
	// withBot's chatflow still runs the customer agent; switched's was
	// changed to live agents after its bot started.
	other := w.chatflow(auto())
	_, err := w.st.DB().Exec(`UPDATE chatflows SET type = 'customer_agent' WHERE id = $1`, other)
	w.check(err)
	_, err = w.st.DB().Exec(`UPDATE conversations SET chatflow_id = $1 WHERE id = $2`, other, withBot)
	w.check(err)
	w.update(u, func(x *store.User) { x.Status = store.UserAvailable })
	if w.assignee(switched) != u {
		t.Fatal("a conversation whose chatflow no longer runs its bot still waits for the bot")
	}
	if w.assignee(withBot) != 0 {
		t.Fatal("a conversation was taken from the bot still running it")
	}
}

func TestClosingFreesCapacityForTheWaiting(t *testing.T) {
	w := newWorld(t)
	u := w.agent("Ana", true, store.UserAvailable, 1, true)
	cf := w.chatflow(auto())
	first := w.conversation(cf)
	waiting := w.conversation(cf)
	if w.assignee(first) != u || w.assignee(waiting) != 0 {
		t.Fatalf("first %d, second %d", w.assignee(first), w.assignee(waiting))
	}
	w.check(routing.Close(ctx, w.st, w.acct.ID, first))
	if w.assignee(waiting) != u {
		t.Fatal("closing did not hand the waiting conversation to the freed agent")
	}
	c, err := w.st.Conversation(ctx, w.acct.ID, first)
	w.check(err)
	if c.Status != store.StatusClosed || c.ClosedAt == nil || c.AssigneeID == nil || *c.AssigneeID != u {
		t.Fatalf("closed conversation: %+v", c)
	}
	tk, err := w.st.TicketOfConversation(ctx, w.acct.ID, first)
	w.check(err)
	if tk.Status != store.TicketStatusClosed || tk.ClosedAt == nil {
		t.Fatalf("ticket after close: %s %v", tk.Status, tk.ClosedAt)
	}
	// Closing twice is harmless; reopening reopens the ticket and keeps the assignee (over capacity is allowed).
	w.check(routing.Close(ctx, w.st, w.acct.ID, first))
	w.check(routing.Reopen(ctx, w.st, w.acct.ID, first, "Ben"))
	tk, err = w.st.TicketOfConversation(ctx, w.acct.ID, first)
	w.check(err)
	if w.assignee(first) != u || tk.Status != store.TicketStatusOpen || tk.ClosedAt != nil {
		t.Fatalf("after reopen: assignee %d, ticket %s %v", w.assignee(first), tk.Status, tk.ClosedAt)
	}
}

func TestConcurrentCreationsNeverOverAssign(t *testing.T) {
	w := newWorld(t)
	ana := w.agent("Ana", true, store.UserAvailable, 2, true)
	ben := w.agent("Ben", true, store.UserAvailable, 1, true)
	cf := w.chatflow(auto())
	const n = 12
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = w.create(cf)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- routing.Route(ctx, w.st, id)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		w.check(err)
	}
	count := map[int64]int{}
	for _, id := range ids {
		count[w.assignee(id)]++
	}
	if count[ana] != 2 || count[ben] != 1 || count[0] != n-3 {
		t.Fatalf("assignments %v: want Ana 2, Ben 1, %d waiting", count, n-3)
	}
}

func TestManualAssign(t *testing.T) {
	w := newWorld(t)
	ana := w.agent("Ana", true, store.UserAvailable, 1, true)
	ben := w.agent("Ben", true, store.UserOffline, 0, true)
	noSeat := w.agent("Nos", false, store.UserAvailable, 5, true)
	team := &store.Team{AccountID: w.acct.ID, Name: "Sales", MemberIDs: []int64{ana}}
	w.check(w.st.CreateTeam(ctx, team))
	cf := w.chatflow(chatflow.Assignment{}) // no auto-assign
	conv := w.conversation(cf)

	// Manual assignment ignores status and capacity.
	w.check(routing.Assign(ctx, w.st, w.acct.ID, conv, ben, 0, "Ana"))
	if w.assignee(conv) != ben {
		t.Fatal("not assigned to Ben")
	}
	ms, err := w.st.MessagesAfter(ctx, conv, 0, 10, true)
	w.check(err)
	if len(ms) != 1 || ms[0].Body != "Assigned to Ben by Ana" || ms[0].AuthorType != store.AuthorSystem || !ms[0].Internal {
		t.Fatalf("thread: %+v", ms)
	}
	if vis, _ := w.st.MessagesAfter(ctx, conv, 0, 10, false); len(vis) != 0 {
		t.Fatalf("the visitor sees the note: %+v", vis)
	}

	// To a team: routed to an eligible member at once.
	w.check(routing.Assign(ctx, w.st, w.acct.ID, conv, 0, team.ID, ""))
	c, err := w.st.Conversation(ctx, w.acct.ID, conv)
	w.check(err)
	if c.TeamID == nil || *c.TeamID != team.ID || w.assignee(conv) != ana {
		t.Fatalf("team assignment: team %v assignee %d", c.TeamID, w.assignee(conv))
	}
	// A second conversation for the team waits (Ana is full) and goes to Ana when the first closes.
	conv2 := w.conversation(cf)
	w.check(routing.Assign(ctx, w.st, w.acct.ID, conv2, 0, team.ID, ""))
	if w.assignee(conv2) != 0 {
		t.Fatal("over capacity through a team")
	}
	w.check(routing.Close(ctx, w.st, w.acct.ID, conv))
	if w.assignee(conv2) != ana {
		t.Fatal("the team's waiting conversation was not assigned after a close")
	}

	// Refusals.
	other := &store.Account{Name: "Other"}
	w.check(w.st.CreateAccount(ctx, other))
	stranger := &store.User{AccountID: other.ID, Email: "x@example.com", Name: "X", HasSeat: true, Status: store.UserAvailable}
	w.check(w.st.CreateUser(ctx, stranger))
	for _, c := range []struct {
		name       string
		acct, conv int64
		user, team int64
		want       error
	}{
		{"no seat", w.acct.ID, conv2, noSeat, 0, routing.ErrNoSeat},
		{"closed", w.acct.ID, conv, ana, 0, routing.ErrClosed},
		{"another account's user", w.acct.ID, conv2, stranger.ID, 0, routing.ErrUnknownUser},
		{"unknown team", w.acct.ID, conv2, 0, 999999, routing.ErrUnknownTeam},
		{"both", w.acct.ID, conv2, ana, team.ID, routing.ErrBadTarget},
		{"neither", w.acct.ID, conv2, 0, 0, routing.ErrBadTarget},
		{"another account's conversation", other.ID, conv2, stranger.ID, 0, store.ErrNotFound},
	} {
		if err := routing.Assign(ctx, w.st, c.acct, c.conv, c.user, c.team, ""); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if err := routing.Close(ctx, w.st, other.ID, conv2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("closing another account's conversation: %v", err)
	}
	if w.assignee(conv2) != ana {
		t.Error("a refused assignment changed the conversation")
	}
}

func TestReopenRefusedWhenTheVisitorStartedANewerOne(t *testing.T) {
	w := newWorld(t)
	cf := w.chatflow(chatflow.Assignment{})
	first := w.create(cf)
	c, err := w.st.Conversation(ctx, w.acct.ID, first)
	w.check(err)
	w.check(routing.Close(ctx, w.st, w.acct.ID, first))
	_, created, err := w.st.CreateConversation(ctx, store.NewConversation{AccountID: w.acct.ID, ChatflowID: cf, InboxID: w.inbox.ID, VisitorID: c.VisitorID})
	w.check(err)
	if !created {
		t.Fatal("no second conversation")
	}
	if err := routing.Reopen(ctx, w.st, w.acct.ID, first, ""); !errors.Is(err, routing.ErrNewerOpen) {
		t.Fatalf("reopen: %v", err)
	}
}

func TestTicketTakesTheChatflowsProperties(t *testing.T) {
	w := newWorld(t)
	cf := chatflow.Default()
	cf.Name, cf.InboxID, cf.PublicID = "Web", w.inbox.ID, store.NewPublicID("cf")
	cf.Tickets = chatflow.TicketProperties{Pipeline: "sales", Status: "waiting", Priority: "high", Category: "billing",
		Properties: map[string]string{"source": "pricing page"}}
	row, err := cf.Row(w.acct.ID)
	w.check(err)
	w.check(w.st.CreateChatflow(ctx, row))
	conv := w.create(row.ID)
	tk, err := w.st.TicketOfConversation(ctx, w.acct.ID, conv)
	w.check(err)
	var props map[string]string
	w.check(json.Unmarshal(tk.Properties, &props))
	if tk.Pipeline != "sales" || tk.Status != "waiting" || tk.Priority != "high" || tk.Category != "billing" || props["source"] != "pricing page" {
		t.Fatalf("ticket %+v %v", tk, props)
	}
	// Without a chatflow: the defaults.
	_, v, err := w.st.CreateVisitor(ctx, w.acct.ID)
	w.check(err)
	c, _, err := w.st.CreateConversation(ctx, store.NewConversation{AccountID: w.acct.ID, InboxID: w.inbox.ID, VisitorID: v.ID})
	w.check(err)
	tk, err = w.st.TicketOfConversation(ctx, w.acct.ID, c.ID)
	w.check(err)
	if tk.Pipeline != "support" || tk.Status != "new" || tk.Priority != "medium" || string(tk.Properties) != "{}" {
		t.Fatalf("default ticket %+v", tk)
	}
}

package chat_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/bot"
	"github.com/parleychat/parley/backend/internal/chat"
	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/backend/internal/kb"
	"github.com/parleychat/parley/backend/internal/routing"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/internal/link"
	"github.com/parleychat/parley/widget"
)

// restart replaces the world's backend with a new engine on the same
// database, as after a deploy: links made afterwards reach the new one.
func (w *world) restart(t *testing.T) {
	t.Helper()
	w.engine.Close()
	bus, err := events.Listen(w.dsn)
	must(t, err)
	t.Cleanup(func() { bus.Close() })
	w.engine = chat.New(w.st, bus, chat.Config{LinkSecret: secret, RetryAfter: 100 * time.Millisecond})
	mux := http.NewServeMux()
	mux.Handle(link.Path, w.engine.LinkHandler())
	w.srv = httptest.NewServer(mux)
	t.Cleanup(w.srv.Close)
}

// readyAgent makes Ann available with a seat and a member of the inbox.
func (w *world) readyAgent(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	w.agent.HasSeat, w.agent.Status, w.agent.MaxOpenChats = true, store.UserAvailable, 5
	must(t, w.st.UpdateUser(ctx, w.agent))
	must(t, w.st.SetInboxMembers(ctx, w.account.ID, w.inbox.ID, []int64{w.agent.ID}))
}

// botSays reads the bot's next message.
func (s *testSession) botSays(t *testing.T, want string) widget.Frame {
	t.Helper()
	m := s.next(t, widget.FrameMessage)
	if m.From != widget.FromBot || !strings.Contains(m.Text, want) {
		t.Fatalf("bot message %+v, want one saying %q", m, want)
	}
	return m
}

// say sends a visitor message and reads its ack and echo.
func (s *testSession) say(t *testing.T, id, text string) widget.Frame {
	t.Helper()
	s.send(widget.Frame{Type: widget.FrameSend, ID: id, Text: text})
	ack := s.next(t, widget.FrameAck)
	if m := s.next(t, widget.FrameMessage); m.ID != id {
		t.Fatalf("echo %+v, want %s", m, id)
	}
	return ack
}

func replies(f widget.Frame) []string {
	if f.QuickReplies == nil {
		return nil
	}
	return *f.QuickReplies
}

func (w *world) assignee(t *testing.T, convID string) *int64 {
	t.Helper()
	return w.conversation(t, convID).AssigneeID
}

func (w *world) waitAssigned(t *testing.T, convID string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for w.assignee(t, convID) == nil {
		if time.Now().After(deadline) {
			t.Fatal("never handed over to Ann")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if a := *w.assignee(t, convID); a != w.agent.ID {
		t.Fatalf("assigned to %d, want Ann", a)
	}
}

func TestRuleBotRunsATemplateWithQuickRepliesAndHandsOver(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.readyAgent(t)
	tpl, _ := bot.TemplateByID("support_triage")
	flow, _ := json.Marshal(tpl.Flow)
	b := &store.BotRow{AccountID: w.account.ID, Name: "Triage", Flow: flow}
	must(t, w.st.CreateBot(ctx, b))
	w.setFlow(t, "rule_bot", `{"assignment":{"auto_assign":true},"options":{"bot_id":`+itoa(b.ID)+`}}`)
	if cfg := w.published(t); cfg.Type != "rule_bot" || cfg.Options.BotID != 0 {
		t.Fatalf("published %q with bot id %d: the type is public, the bot id is not", cfg.Type, cfg.Options.BotID)
	}

	l := w.link(t)
	s := l.open()
	s.send(hello("", "", 0))
	token := s.next(t, widget.FrameWelcome).Token
	ack := s.say(t, "m1", "hi there")
	q := s.botSays(t, "What can we help you with?")
	if got := strings.Join(replies(q), "|"); got != "Billing|Something is broken|My account|Something else" {
		t.Fatalf("quick replies %q", got)
	}
	// An answer that does not fit is asked again. Its ack comes after the
	// first message's handling, routing included.
	s.say(t, "m2", "pizza")
	if w.assignee(t, ack.Conversation) != nil {
		t.Fatal("assigned while the bot still runs")
	}
	s.botSays(t, "choose one of the options")
	if again := s.botSays(t, "What can we help you with?"); len(replies(again)) != 4 {
		t.Fatalf("asked again without the buttons: %+v", again)
	}
	s.say(t, "m3", "billing")
	s.botSays(t, "describe what happened")

	// The backend restarts; the visitor reconnects and goes on where they were.
	w.restart(t)
	r := w.link(t).open()
	r.send(hello(token, ack.Conversation, 0))
	r.next(t, widget.FrameWelcome)
	var last widget.Frame
	for range 7 { // m1, question, m2, retry, question, m3, describe: replayed in order
		last = r.next(t, widget.FrameMessage)
		if last.From == widget.FromBot && strings.Contains(last.Text, "What can we help") && len(replies(last)) != 4 {
			t.Fatalf("replayed question without its quick replies: %+v", last)
		}
	}
	if last.From != widget.FromBot || !strings.Contains(last.Text, "describe") {
		t.Fatalf("replay ends with %+v", last)
	}
	r.say(t, "m4", "I was charged twice for <b>March</b>")
	r.botSays(t, "What email address")
	if w.assignee(t, ack.Conversation) != nil {
		t.Fatal("assigned before the hand-over")
	}
	r.say(t, "m5", "nora@example.com")
	r.botSays(t, "A member of the team will pick this up")
	w.waitAssigned(t, ack.Conversation)

	// The agent who takes over finds the address (an unverified claim, no
	// contact) and the answers on the ticket.
	conv := w.conversation(t, ack.Conversation)
	if conv.ContactID != nil || conv.ClaimedEmail != "nora@example.com" {
		t.Fatalf("conversation contact %v, claim %q", conv.ContactID, conv.ClaimedEmail)
	}
	tk, err := w.st.TicketOfConversation(ctx, w.account.ID, conv.ID)
	must(t, err)
	props, _ := tk.PropertyMap()
	if tk.Category != "billing" || tk.Subject != "billing: I was charged twice for <b>March</b>" || props["description"] != "I was charged twice for <b>March</b>" {
		t.Fatalf("ticket %+v %v", tk, props)
	}
	// Bot turns are in the transcript as the bot's; once handed over the bot is quiet.
	if n := w.count(t, `SELECT count(*) FROM messages WHERE conversation_id = $1 AND author_type = 'bot'`, conv.ID); n != 6 {
		t.Fatalf("%d bot messages stored, want 6", n)
	}
	r.say(t, "m6", "hello?")
	r.quiet(t, 300*time.Millisecond)
	// Bot ids are the bot's.
	r.send(widget.Frame{Type: widget.FrameSend, ID: "bot:99:0", Text: "spoof"})
	r.errorCode(t, widget.ErrBadFrame)
}

func TestRuleBotKeepsContactAnswersOnTheTicketAndHandsOverToAUser(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.readyAgent(t)
	flow := bot.Flow{Start: "name", Steps: []bot.FlowStep{
		{ID: "name", Type: bot.TypeQuestion, Input: bot.InputText, Text: "Your name?", SaveTo: &bot.Property{Object: bot.ObjectContact, Name: "name"}, Next: "size"},
		{ID: "size", Type: bot.TypeQuestion, Input: bot.InputNumber, Text: "Team size?", SaveTo: &bot.Property{Object: bot.ObjectContact, Name: "team_size"}, Next: "email"},
		{ID: "email", Type: bot.TypeQuestion, Input: bot.InputEmail, Text: "Email?", SaveTo: &bot.Property{Object: bot.ObjectContact, Name: "email"}, Next: "ticket"},
		{ID: "ticket", Type: bot.TypeCreateTicket, Subject: "Lead {{name}}", Properties: map[string]string{"priority": "high", "team": "{{size}}"}, Next: "ann"},
		{ID: "ann", Type: bot.TypeHandover, Text: "Ann will take it from here.", UserID: w.agent.ID},
	}}
	js, _ := json.Marshal(flow)
	b := &store.BotRow{AccountID: w.account.ID, Name: "Leads", Flow: js}
	must(t, w.st.CreateBot(ctx, b))
	// No auto-assign: only the bot's hand-over names Ann.
	w.setFlow(t, "rule_bot", `{"options":{"bot_id":`+itoa(b.ID)+`,"marketing_contacts":true}}`)

	s := w.link(t).open()
	s.send(hello("", "", 0))
	s.next(t, widget.FrameWelcome)
	ack := s.say(t, "m1", "hello")
	s.botSays(t, "Your name?")
	s.say(t, "m2", "Olga")
	s.botSays(t, "Team size?")
	s.say(t, "m3", "12")
	s.botSays(t, "Email?")
	s.say(t, "m4", "olga@example.com")
	s.botSays(t, "Ann will take it from here.")
	w.waitAssigned(t, ack.Conversation)

	// A typed address makes no contact (it is the visitor's unverified
	// claim), so the contact answers reach the agent on the ticket.
	if _, err := w.st.ContactByEmail(ctx, w.account.ID, "olga@example.com"); err == nil {
		t.Fatal("a typed address made a contact")
	}
	conv := w.conversation(t, ack.Conversation)
	if conv.ClaimedEmail != "olga@example.com" || conv.ContactID != nil {
		t.Fatalf("conversation claim %q, contact %v", conv.ClaimedEmail, conv.ContactID)
	}
	tk, err := w.st.TicketOfConversation(ctx, w.account.ID, conv.ID)
	must(t, err)
	if props, _ := tk.PropertyMap(); tk.Subject != "Lead Olga" || tk.Priority != "high" || props["team"] != "12" ||
		props["contact_name"] != "Olga" || props["contact_team_size"] != "12" {
		t.Fatalf("ticket %+v %v", tk, props)
	}
}

// helpCentre makes a knowledge base with two articles and returns its id.
func (w *world) helpCentre(t *testing.T) (kbID, refundArticle int64) {
	t.Helper()
	ctx := context.Background()
	k := &store.KnowledgeBase{AccountID: w.account.ID, Name: "Help", Language: "en"}
	must(t, w.st.CreateKB(ctx, k))
	add := func(title, body string) int64 {
		a := &store.KBArticle{KBID: k.ID, Title: title, Body: body, Language: "en", Published: true}
		ps, err := kb.Prepare(a)
		must(t, err)
		must(t, w.st.CreateKBArticle(ctx, w.account.ID, a, ps))
		return a.ID
	}
	refund := add("Payments", "We accept cards and bank transfers.\n\n## Refunds\n\nA refund reaches your card within five working days after we approve it.")
	add("Shipping", "Parcels ship from Rotterdam.\n\n## Delivery times\n\nDelivery takes two days within the Netherlands.")
	return k.ID, refund
}

func TestCustomerAgentAnswersFromArticlesAndHandsOver(t *testing.T) {
	w := newWorld(t)
	w.readyAgent(t)
	kbID, refund := w.helpCentre(t)
	w.setFlow(t, "customer_agent", `{"assignment":{"auto_assign":true},"options":{"knowledge_base_id":`+itoa(kbID)+`}}`)
	if cfg := w.published(t); !cfg.Help || cfg.Options.KnowledgeBaseID != kbID {
		t.Fatalf("published help %v kb %d", cfg.Help, cfg.Options.KnowledgeBaseID)
	}
	l := w.link(t)

	// Answers from an article, with a link to it; then two misses hand over.
	s := l.open()
	s.send(hello("", "", 0))
	s.next(t, widget.FrameWelcome)
	ack := s.say(t, "m1", "How long does a refund take to reach my card?")
	a := s.botSays(t, "five working days")
	if a.Link != "/v1/sites/site_a/kb/"+itoa(kbID)+"/articles/"+itoa(refund) || a.LinkTitle != "Payments" {
		t.Fatalf("answer link %q %q", a.Link, a.LinkTitle)
	}
	// Routing's sweep (an agent came online, a chat closed) leaves it to the bot.
	if _, err := routing.RouteWaiting(context.Background(), w.st, w.account.ID); err != nil {
		t.Fatal(err)
	}
	if w.assignee(t, ack.Conversation) != nil {
		t.Fatal("auto-assigned before the hand-over")
	}
	s.say(t, "m2", "Do you sell refurbished telescopes?")
	s.botSays(t, "could not find an answer")
	if w.assignee(t, ack.Conversation) != nil {
		t.Fatal("handed over after one miss")
	}
	s.say(t, "m3", "What is the weather like on Mars?")
	s.botSays(t, "bringing in someone")
	w.waitAssigned(t, ack.Conversation)
	s.say(t, "m4", "How many days does delivery take?")
	s.quiet(t, 300*time.Millisecond) // a human has it now

	// Asking for a person hands over at once, in Dutch too.
	w.agent.MaxOpenChats = 10
	must(t, w.st.UpdateUser(context.Background(), w.agent))
	for i, ask := range []string{"Can I talk to a human please", "Ik wil een medewerker spreken"} {
		h := l.open()
		h.send(hello("", "", 0))
		h.next(t, widget.FrameWelcome)
		ack := h.say(t, "h"+itoa(int64(i)), ask)
		h.botSays(t, "someone from the team")
		w.waitAssigned(t, ack.Conversation)
	}
}

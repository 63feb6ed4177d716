package chat

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleychat/parley/backend/internal/availability"
	"github.com/parleychat/parley/backend/internal/bot"
	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/kb"
	"github.com/parleychat/parley/backend/internal/routing"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// Bots on the server. A rule_bot chatflow runs its bot's
// flow (bot.Step) from the conversation's first message, one step per
// visitor message; a customer_agent chatflow answers each visitor message
// from its knowledge base (kb.BestPassage). Both stop when a human takes
// over: on the flow's hand-over, when the visitor asks for a person, after
// two questions the customer agent could not answer, or when an agent is
// assigned. Until then routing leaves the conversation alone.
//
// Where each conversation is lives in bot_states (store.BotState), read
// and written under its row lock on every turn, so it survives reconnects
// and restarts and two tabs take turns. Bot messages are ordinary messages
// with author "bot" (in the transcript and the inbox), with client ids
// derived from the visitor message they answer: a turn run twice stores
// nothing twice. Their quick replies and article links are in bot_messages.

// botClientPrefix starts the client id of every bot message; visitors may
// not use it (decodeFrame refuses it).
const botClientPrefix = "bot:"

// maxPassageRunes bounds the knowledge-base passage a customer agent quotes.
const maxPassageRunes = 1200

// maxMisses is how many questions the customer agent may fail to answer
// before it hands over.
const maxMisses = 2

// customerState is the customer agent's state in bot_states.
type customerState struct {
	Misses int `json:"misses"`
}

// botKind is the bot the session's chatflow runs, "" for none.
func (s *session) botKind() string {
	switch {
	case s.flow.Type == chatflow.TypeRuleBot && s.flow.Options.BotID != 0:
		return store.BotKindRule
	case s.flow.Type == chatflow.TypeCustomerAgent && s.flow.Options.KnowledgeBaseID != 0:
		return store.BotKindCustomerAgent
	}
	return ""
}

// botAction is one thing a turn does once its state is saved.
type botAction struct {
	say          string
	quickReplies []string
	link, title  string
	contact      map[string]string // answers for the visitor's (identified) contact
	email        string            // an address the visitor typed: kept as their unverified claim
	ticket       map[string]string // fields for the conversation's ticket
}

// botTurn runs the chatflow's bot on visitor message msg (stored just
// now); created says msg started the conversation. It reports whether a
// bot runs in the conversation (then the caller does not route it).
//
// A turn reads what it needs first, then decides under the state's row
// lock without touching the database otherwise (Step is pure), saves the
// new state, and only then acts: one connection at a time, so turns
// cannot starve each other of pooled connections. Its messages have
// client ids derived from msg, so acting twice stores nothing twice.
func (s *session) botTurn(ctx context.Context, msg *store.Message, created bool) bool {
	kind := s.botKind()
	if kind == "" {
		// A live-agent chatflow runs no bot: no reads on the message hot path.
		return false
	}
	if created && !availability.BotAnswers(s.account, s.flow, time.Now()) {
		return false // outside the office hours the bot follows: the team's queue
	}
	if created {
		if _, err := s.e.st.StartBot(ctx, s.account.ID, s.conv.ID, kind, s.flow.Options.BotID); err != nil {
			s.e.log.Warn("chat: bot not started", "conversation", s.conv.ID, "err", err)
			return false
		}
	}
	conv, err := s.e.st.ConversationByID(ctx, s.conv.ID)
	if err != nil {
		s.botFailed(err)
		return true
	}
	// What the decision needs, read before taking the lock.
	var (
		flow   *bot.Flow
		answer *kbAnswer
	)
	switch kind {
	case store.BotKindRule:
		flow, err = s.botFlow(ctx)
	case store.BotKindCustomerAgent:
		answer, err = s.kbAnswer(ctx, msg.Body)
	}
	if err != nil {
		s.botFailed(err)
		return true
	}
	var (
		actions  []botAction
		handover *bot.Output
	)
	err = s.e.st.UpdateBotState(ctx, s.conv.ID, func(b *store.BotState) error {
		actions, handover = nil, nil
		switch {
		case !b.Active:
		case conv.AssigneeID != nil:
			b.Active = false // an agent took the conversation: the bot steps back
		case b.Kind == store.BotKindRule:
			return s.ruleDecide(b, flow, msg, created, &actions, &handover)
		case b.Kind == store.BotKindCustomerAgent:
			return s.customerDecide(b, answer, msg, &actions, &handover)
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return false // no bot in this conversation
	}
	if err != nil {
		s.botFailed(err)
		return true
	}
	for i, a := range actions {
		if err := s.botAct(ctx, msg.Seq, i, a); err != nil {
			s.botFailed(err)
			break
		}
	}
	s.catchUp() // the bot's messages, with their quick replies and links
	if handover != nil {
		s.handOver(ctx, handover.UserID, handover.TeamID)
	}
	return true
}

func (s *session) botFailed(err error) {
	if s.ctx.Err() == nil {
		s.e.log.Warn("chat: bot turn failed", "conversation", s.conv.ID, "err", err)
	}
}

// botFlow reads the rule bot's flow; nil when the bot was deleted.
func (s *session) botFlow(ctx context.Context) (*bot.Flow, error) {
	row, err := s.e.st.Bot(ctx, s.account.ID, s.flow.Options.BotID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var flow bot.Flow
	if err := json.Unmarshal(row.Flow, &flow); err != nil {
		return nil, err
	}
	return &flow, nil
}

// ruleDecide advances a rule bot by one visitor message: the new state and
// what to do. It runs under the state's lock and touches nothing else.
func (s *session) ruleDecide(b *store.BotState, flow *bot.Flow, msg *store.Message, created bool, actions *[]botAction, handover **bot.Output) error {
	if flow == nil {
		// The bot was deleted under the chatflow: a human takes over.
		b.Active, *handover = false, &bot.Output{Kind: bot.OutHandover}
		return nil
	}
	var state bot.State
	if len(b.State) > 0 {
		if err := json.Unmarshal(b.State, &state); err != nil {
			return err
		}
	}
	input := msg.Body
	if created {
		input = "" // the first message opens the chat; the flow starts from its first step
	}
	outs, next := bot.Step(flow, state, input)
	pending := b.Pending()
	hasContact := s.visitor.ContactID != nil
	ticket := map[string]string{}
	for _, o := range outs {
		switch o.Kind {
		case bot.OutMessage:
			*actions = append(*actions, botAction{say: o.Text})
		case bot.OutQuestion:
			labels := make([]string, 0, len(o.Options))
			for _, opt := range o.Options {
				labels = append(labels, opt.Label)
			}
			*actions = append(*actions, botAction{say: o.Text, quickReplies: labels})
		case bot.OutSave:
			name := o.Property.Name
			switch {
			case o.Property.Object == bot.ObjectTicket:
				ticket[name] = o.Value
			case name == "email" && widget.ValidEmail(o.Value):
				// A typed address is only a claim (claim.go): it makes no
				// contact, so the other answers keep waiting for one.
				*actions = append(*actions, botAction{email: o.Value})
			case hasContact:
				*actions = append(*actions, botAction{contact: map[string]string{name: o.Value}})
			default:
				pending[name] = o.Value
			}
		case bot.OutCreateTicket:
			// Every conversation has its ticket already: filing one fills it in.
			for k, v := range o.Properties {
				ticket[k] = v
			}
			if o.Subject != "" {
				ticket["subject"] = o.Subject
			}
		case bot.OutHandover:
			b.Active, *handover = false, &o
		case bot.OutEnd:
			b.Active = false
		}
	}
	if !b.Active && !hasContact && len(pending) > 0 {
		// No contact to hold them: the agent still sees them on the ticket.
		for k, v := range pending {
			ticket["contact_"+k] = v
		}
	}
	if len(ticket) > 0 {
		*actions = append(*actions, botAction{ticket: ticket})
	}
	js, err := json.Marshal(next)
	if err != nil {
		return err
	}
	b.State = js
	b.PendingContact, err = json.Marshal(pending)
	return err
}

// botAct does one action of a turn (the i-th; i keys its message id).
func (s *session) botAct(ctx context.Context, trigger int64, i int, a botAction) error {
	switch {
	case a.say != "":
		return s.botSay(ctx, trigger, i, a.say, a.quickReplies, a.link, a.title)
	case a.email != "":
		return s.claimEmail(ctx, a.email)
	case a.contact != nil:
		if s.visitor.ContactID == nil {
			return nil
		}
		return s.e.st.SetContactFields(ctx, s.account.ID, *s.visitor.ContactID, a.contact)
	case a.ticket != nil:
		return s.e.st.SetTicketFields(ctx, s.account.ID, s.conv.ID, a.ticket)
	}
	return nil
}

// flushPendingContact writes contact answers a rule bot collected before
// the visitor had a contact onto the contact it now has.
func (s *session) flushPendingContact(ctx context.Context) {
	if s.conv == nil || s.visitor.ContactID == nil {
		return
	}
	var pending map[string]string
	err := s.e.st.UpdateBotState(ctx, s.conv.ID, func(b *store.BotState) error {
		pending = b.Pending()
		b.PendingContact = []byte("{}")
		return nil
	})
	if err == nil && len(pending) > 0 {
		err = s.e.st.SetContactFields(ctx, s.account.ID, *s.visitor.ContactID, pending)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) && s.ctx.Err() == nil {
		s.e.log.Warn("chat: bot answers to contact", "err", err)
	}
}

// kbAnswer is the customer agent's best answer to one question.
type kbAnswer struct {
	ok      bool
	passage string
	link    string
	title   string
}

// kbAnswer looks the question up in the chatflow's knowledge base, which
// must be this account's own.
func (s *session) kbAnswer(ctx context.Context, question string) (*kbAnswer, error) {
	if asksForHuman(question) {
		return &kbAnswer{}, nil // not a question for the knowledge base
	}
	kbID := s.flow.Options.KnowledgeBaseID
	if _, err := s.e.st.KB(ctx, s.account.ID, kbID); errors.Is(err, store.ErrNotFound) {
		return &kbAnswer{}, nil
	} else if err != nil {
		return nil, err
	}
	ref, passage, _, ok, err := kb.BestPassage(ctx, s.e.st, kbID, s.flow.Language, question)
	if err != nil || !ok {
		return &kbAnswer{}, err
	}
	return &kbAnswer{ok: true, passage: cut(passage, maxPassageRunes), title: ref.Title,
		link: "/v1/sites/" + s.account.PublicID + "/kb/" + strconv.FormatInt(kbID, 10) + "/articles/" + strconv.FormatInt(ref.ID, 10)}, nil
}

// customerDecide answers one visitor question from the knowledge base, or
// hands over: when asked for a person, or after maxMisses questions
// without an answer. It runs under the state's lock and touches nothing else.
func (s *session) customerDecide(b *store.BotState, a *kbAnswer, msg *store.Message, actions *[]botAction, handover **bot.Output) error {
	var st customerState
	if len(b.State) > 0 {
		json.Unmarshal(b.State, &st)
	}
	t := botTexts(s.language())
	say := func(text string) { *actions = append(*actions, botAction{say: text}) }
	switch {
	case asksForHuman(msg.Body):
		say(t.handover)
		b.Active, *handover = false, &bot.Output{Kind: bot.OutHandover}
	case a.ok:
		*actions = append(*actions, botAction{say: a.passage, link: a.link, title: a.title})
	default:
		st.Misses++
		if st.Misses >= maxMisses {
			say(t.noAnswerHandover)
			b.Active, *handover = false, &bot.Output{Kind: bot.OutHandover}
		} else {
			say(t.noAnswer)
		}
	}
	var err error
	b.State, err = json.Marshal(st)
	return err
}

// botSay stores one bot message answering the visitor message at seq
// trigger (the i-th of that turn) with what it carries.
func (s *session) botSay(ctx context.Context, trigger int64, i int, text string, quickReplies []string, link, linkTitle string) error {
	if strings.TrimSpace(text) == "" {
		return nil
	}
	m, _, err := s.e.st.AppendMessage(ctx, store.NewMessage{
		ConversationID: s.conv.ID,
		ClientID:       botClientPrefix + strconv.FormatInt(trigger, 10) + ":" + strconv.Itoa(i),
		AuthorType:     store.AuthorBot,
		Body:           text,
		RequireOpen:    true,
	})
	if err != nil {
		return err
	}
	if len(quickReplies) == 0 && link == "" {
		return nil
	}
	return s.e.st.SaveBotMessage(ctx, s.conv.ID, m.ID, quickReplies, link, linkTitle)
}

// handOver gives the conversation to a human: the user or team a flow
// names, else the chatflow's own assignment (normal routing; nobody
// eligible leaves it waiting for the next one).
func (s *session) handOver(ctx context.Context, userID, teamID int64) {
	var err error
	if userID != 0 || teamID != 0 {
		err = routing.Assign(ctx, s.e.st, s.account.ID, s.conv.ID, userID, teamID, "the bot")
		if err == nil {
			return
		}
		s.e.log.Warn("chat: bot hand-over target refused; routing normally", "conversation", s.conv.ID, "err", err)
	}
	if err = routing.Route(ctx, s.e.st, s.conv.ID); err != nil {
		s.e.log.Warn("chat: hand-over routing failed; trying the waiting conversations again", "conversation", s.conv.ID, "err", err)
		s.e.routeAgain(s.account.ID)
	}
}

// botMessagesOf returns what the bot messages among ms carry.
func (s *session) botMessagesOf(ms []store.Message) map[int64]*store.BotMessage {
	var ids []int64
	for _, m := range ms {
		if m.AuthorType == store.AuthorBot {
			ids = append(ids, m.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	ctx, cancel := s.dbctx()
	defer cancel()
	out, err := s.e.st.BotMessages(ctx, ids)
	if err != nil && s.ctx.Err() == nil {
		s.e.log.Warn("chat: bot messages", "err", err) // the text still goes out
	}
	return out
}

// withBotMessage adds a bot message's quick replies and link to its frame.
func withBotMessage(f *widget.Frame, b *store.BotMessage) {
	if b == nil {
		return
	}
	if r := b.Replies(); len(r) > 0 {
		q := widget.QuickReplies(r)
		f.QuickReplies = &q
	}
	f.Link, f.LinkTitle = b.Link, b.LinkTitle
}

// humanWords are the words that ask for a person, in the widget's five languages.
var humanWords = map[string]bool{
	// en
	"human": true, "humans": true, "agent": true, "agents": true, "operator": true, "representative": true,
	"staff": true, "employee": true,
	// nl
	"medewerker": true, "medewerkers": true, "mens": true, "mensen": true,
	// de
	"mensch": true, "menschen": true, "mitarbeiter": true, "mitarbeiterin": true, "berater": true,
	// fr
	"humain": true, "humaine": true, "conseiller": true, "conseillère": true, "opérateur": true,
	// es
	"humano": true, "humana": true, "agente": true, "asesor": true, "operador": true,
}

// asksForHuman reports whether the visitor asks to talk to a person.
func asksForHuman(text string) bool {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) })
	for _, w := range words {
		if humanWords[w] {
			return true
		}
	}
	return false
}

// customerTexts is what the customer agent says, per language.
type customerTexts struct{ noAnswer, noAnswerHandover, handover string }

var customerTextsByLang = map[string]customerTexts{
	"en": {"Sorry, I could not find an answer to that in our help articles. Could you put it another way? Or type \"human\" to talk to a person.",
		"Sorry, I could not find an answer to that either. I am bringing in someone from the team.",
		"Sure, I am bringing in someone from the team."},
	"nl": {"Sorry, daar heb ik geen antwoord op gevonden in onze helpartikelen. Kun je het anders formuleren? Of typ \"medewerker\" om met iemand te praten.",
		"Sorry, daar heb ik ook geen antwoord op gevonden. Ik haal iemand van het team erbij.",
		"Natuurlijk, ik haal iemand van het team erbij."},
	"de": {"Leider habe ich dazu keine Antwort in unseren Hilfeartikeln gefunden. Können Sie es anders formulieren? Oder schreiben Sie \"Mitarbeiter\", um mit einem Menschen zu sprechen.",
		"Leider habe ich auch dazu keine Antwort gefunden. Ich hole jemanden aus dem Team dazu.",
		"Gern, ich hole jemanden aus dem Team dazu."},
	"fr": {"Désolé, je n'ai pas trouvé de réponse dans nos articles d'aide. Pouvez-vous reformuler ? Ou écrivez « humain » pour parler à quelqu'un.",
		"Désolé, je n'ai pas trouvé de réponse non plus. Je fais appel à quelqu'un de l'équipe.",
		"Bien sûr, je fais appel à quelqu'un de l'équipe."},
	"es": {"Lo siento, no encontré una respuesta en nuestros artículos de ayuda. ¿Puedes decirlo de otra manera? O escribe \"humano\" para hablar con una persona.",
		"Lo siento, tampoco encontré una respuesta. Voy a avisar a alguien del equipo.",
		"Claro, voy a avisar a alguien del equipo."},
}

func botTexts(lang string) customerTexts {
	if t, ok := customerTextsByLang[lang]; ok {
		return t
	}
	return customerTextsByLang["en"]
}

// cut shortens s to at most n runes, ending with an ellipsis when cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return strings.TrimSpace(string([]rune(s)[:n-1])) + "…"
}

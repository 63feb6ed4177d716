package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	pevents "github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/backend/internal/seed"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget/client"
)

// The app SDK (widget/client) against the real edge and backend: every
// part of a mobile chatflow an app shows.

// memStorage is an app's device storage.
type memStorage struct {
	mu sync.Mutex
	m  map[string]string
}

func (m *memStorage) Load(k string) string { m.mu.Lock(); defer m.mu.Unlock(); return m.m[k] }
func (m *memStorage) Save(k, v string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]string{}
	}
	m.m[k] = v
}
func (m *memStorage) Remove(k string) { m.mu.Lock(); defer m.mu.Unlock(); delete(m.m, k) }

// holdsToken reports whether anything stored holds token.
func (m *memStorage) holdsToken(token string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, v := range m.m {
		if token != "" && strings.Contains(v, token) {
			return true
		}
	}
	return false
}

// appEvents is an app's Listener: every call as one line, and the objects.
type appEvents struct {
	mu       sync.Mutex
	lines    []string
	messages []*client.Message
	surveys  []*client.Survey
	presence []*client.Presence
}

func (a *appEvents) add(s string) { a.mu.Lock(); a.lines = append(a.lines, s); a.mu.Unlock() }

func (a *appEvents) OnState(s string) { a.add("state " + s) }
func (a *appEvents) OnMessage(m *client.Message) {
	a.mu.Lock()
	a.messages = append(a.messages, m)
	a.mu.Unlock()
	a.add("message " + m.From + " " + m.Text)
}
func (a *appEvents) OnSent(id string, seq int64)   { a.add("sent " + id) }
func (a *appEvents) OnError(code, id, text string) { a.add("error " + code + " " + text) }
func (a *appEvents) OnPresence(p *client.Presence) {
	a.mu.Lock()
	a.presence = append(a.presence, p)
	a.mu.Unlock()
	a.add(fmt.Sprintf("presence %s back_at=%s hide=%v", p.State, p.BackAt, p.Hide))
}
func (a *appEvents) OnTyping(name string) { a.add("typing " + name) }
func (a *appEvents) OnRead(seq int64)     { a.add("read " + strconv.FormatInt(seq, 10)) }
func (a *appEvents) OnSurvey(s *client.Survey) {
	a.mu.Lock()
	a.surveys = append(a.surveys, s)
	a.mu.Unlock()
	a.add("survey " + s.Question)
}
func (a *appEvents) OnSurveyAnswered(score int, comment string) {
	a.add(fmt.Sprintf("survey answered %d %s", score, comment))
}
func (a *appEvents) OnConversationEnd(conv string) { a.add("end " + conv) }
func (a *appEvents) OnEmail(email string)          { a.add("email " + email) }
func (a *appEvents) OnConsent(kind, d string)      { a.add("consent " + kind + " " + d) }
func (a *appEvents) OnPush(registered bool)        { a.add(fmt.Sprintf("push %v", registered)) }

// wait waits until a line starting with prefix was heard and returns it.
func (a *appEvents) wait(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		a.mu.Lock()
		for _, l := range a.lines {
			if strings.HasPrefix(l, prefix) {
				a.mu.Unlock()
				return l
			}
		}
		lines := append([]string(nil), a.lines...)
		a.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("the app never heard %q; it heard:\n%s", prefix, strings.Join(lines, "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// heard counts the lines starting with prefix.
func (a *appEvents) heard(prefix string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, l := range a.lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// mobileFlow creates an enabled mobile chatflow with tag and extra JSON
// settings, and resolves it through the SDK once the edge serves it.
func mobileFlow(t *testing.T, s *System, tag, extra string) (*client.Chatflow, int64) {
	t.Helper()
	cf := mobileAPI(t, s, "POST", "/chatflows", `{"name":"`+tag+`","channel":"mobile","mobile_tag":"`+tag+`","enabled":true,"inbox_id":`+mobileInbox(t, s)+extra+`}`)
	return resolveUntil(t, s, tag, cf["public_id"].(string)), int64(cf["id"].(float64))
}

// startApp makes and connects a chat the way an app does, and waits for its welcome.
func startApp(t *testing.T, cf *client.Chatflow, st client.Storage) (*client.Chat, *appEvents) {
	t.Helper()
	ev := &appEvents{}
	c, err := cf.NewChat(ev)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if st != nil {
		c.SetStorage(st)
	}
	c.Connect()
	ev.wait(t, "state connected")
	return c, ev
}

// threadBodies is what a conversation holds, visible messages in order.
func threadBodies(t *testing.T, s *System, public string) []string {
	t.Helper()
	var got []string
	if err := s.DB.Select(&got, `SELECT m.body FROM messages m JOIN conversations c ON c.id = m.conversation_id
		WHERE c.public_id = $1 AND NOT m.internal ORDER BY m.seq`, public); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestMobileSDK(t *testing.T) {
	s := StartSystem(t)
	t.Run("consent", func(t *testing.T) { mobileConsent(t, s) })
	t.Run("survey", func(t *testing.T) { mobileSurvey(t, s) })
	t.Run("closed", func(t *testing.T) { mobileClosed(t, s) })
	t.Run("rule bot", func(t *testing.T) { mobileRuleBot(t, s) })
	t.Run("customer agent and help", func(t *testing.T) { mobileCustomerAgentAndHelp(t, s) })
	t.Run("files, receipts, typing", func(t *testing.T) { mobileFilesAndLive(t, s) })
	t.Run("presence and email capture", func(t *testing.T) { mobilePresenceAndEmail(t, s) })
	t.Run("terminal commands", func(t *testing.T) { terminalCommands(t, s) })
}

// pngBytes is a small PNG file (its header is what the server sniffs).
var pngBytes = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"), make([]byte, 64)...)

// mobileFilesAndLive: files both ways, refused before any upload when too
// large or of a forbidden type, with a sentence in the chatflow's
// language; the team's typing and read receipts reach the app live; the
// brand image and close button settings reach it.
func mobileFilesAndLive(t *testing.T, s *System) {
	cf, _ := mobileFlow(t, s, "app.files", `,"language":"de","look":{"show_close_button":true,"heading":{"kind":"brand","brand_name":"Laden","image_url":"https://cdn.example.com/laden.png"}},"options":{"attachments":true}`)
	if !cf.ShowCloseButton || cf.BrandImage != "https://cdn.example.com/laden.png" || cf.HeadingName != "Laden" || !cf.Attachments {
		t.Fatalf("chatflow look %+v", cf)
	}
	c, ev := startApp(t, cf, nil)
	if err := c.CheckFile("early.png", pngBytes); err == nil {
		t.Fatal("a file was accepted before the conversation exists")
	}
	id, _ := c.Send("Ich schicke ein Bild")
	ev.wait(t, "sent "+id)
	conv := convID(t, s, c.Conversation())
	countFiles := func() int {
		var n int
		s.DB.Get(&n, `SELECT count(*) FROM attachments WHERE conversation_id = $1`, conv)
		return n
	}
	big := append(append([]byte(nil), pngBytes...), make([]byte, client.MaxFileBytes)...)
	if _, err := c.SendFile("huge.png", big); err == nil || !strings.Contains(err.Error(), "zu groß") {
		t.Fatalf("an oversized file: %v, want the German too-large sentence", err)
	}
	if _, err := c.SendFile("page.html", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>")); err == nil || !strings.Contains(err.Error(), "Dateien dieses Typs") {
		t.Fatalf("an HTML file: %v, want the German bad-type sentence", err)
	}
	if n := countFiles(); n != 0 {
		t.Fatalf("%d files stored after refusals", n)
	}
	fid, err := c.SendFile("photo.png", pngBytes)
	if err != nil {
		t.Fatal(err)
	}
	own := ev.waitMessage(t, func(m *client.Message) bool { return m.ID == fid && m.Attachment != nil })
	if own.Attachment.Type != "image/png" || own.Attachment.Size != int64(len(pngBytes)) || own.Attachment.Name != "photo.png" {
		t.Fatalf("the visitor's file %+v", own.Attachment)
	}
	if got, err := c.Download(own.Attachment); err != nil || string(got) != string(pngBytes) {
		t.Fatalf("download of the visitor's file: %d bytes, %v", len(got), err)
	}

	// The agent sends a file; the app gets it and can fetch it.
	agent, err := s.Store.UserByLogin(context.Background(), s.Demo.AgentEmail)
	if err != nil {
		t.Fatal(err)
	}
	pdf := []byte("%PDF-1.4\n% the invoice\n")
	if _, _, err := s.Store.AddAttachment(context.Background(), store.NewAttachment{Message: store.NewMessage{ConversationID: conv,
		ClientID: "agent-file-1", AuthorType: store.AuthorAgent, AuthorID: agent.ID}, Filename: "invoice.pdf", ContentType: "application/pdf", Data: pdf}); err != nil {
		t.Fatal(err)
	}
	theirs := ev.waitMessage(t, func(m *client.Message) bool { return m.From == "agent" && m.Attachment != nil })
	if got, err := c.Download(theirs.Attachment); err != nil || string(got) != string(pdf) || theirs.Attachment.Name != "invoice.pdf" {
		t.Fatalf("download of the agent's file: %q, %v", got, err)
	}

	// The team types and reads: the app hears both.
	if err := pevents.Notify(context.Background(), s.DB, pevents.Notice{Account: agent.AccountID, Conversation: conv, Kind: pevents.KindTyping,
		Author: store.ReadAgent + ":" + strconv.FormatInt(agent.ID, 10)}); err != nil {
		t.Fatal(err)
	}
	ev.wait(t, "typing Ada")
	if !strings.Contains(c.TypingLine(), "Ada") {
		t.Fatalf("typing line %q", c.TypingLine())
	}
	if _, _, err := s.Store.MarkRead(context.Background(), conv, store.ReadAgent, 2); err != nil {
		t.Fatal(err)
	}
	ev.wait(t, "read 2")
	if c.AgentRead() != 2 {
		t.Fatalf("agent read %d", c.AgentRead())
	}
}

// waitMessage waits for a message the app was given that satisfies ok.
func (a *appEvents) waitMessage(t *testing.T, ok func(*client.Message) bool) *client.Message {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		a.mu.Lock()
		for _, m := range a.messages {
			if ok(m) {
				a.mu.Unlock()
				return m
			}
		}
		lines := strings.Join(a.lines, "\n")
		a.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("the app never got the message; it heard:\n%s", lines)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mobilePresenceAndEmail: the team goes offline while the app is open:
// presence with back_at and hide reaches the app live, and the chatflow's
// email capture (when offline) asks with its own prompt; the address is
// stored once.
func mobilePresenceAndEmail(t *testing.T, s *System) {
	// Office hours: all of today in the account's zone.
	now := demoNow(t)
	today := strings.ToLower(now.Weekday().String())
	cf, _ := mobileFlow(t, s, "app.presence", `,"availability":{"mode":"office_hours","office_hours":[{"day":"`+today+`","start":"00:00","end":"24:00"}],
		"offline":{"behaviour":"hide_launcher"}},"email_capture":{"when":"when_offline","prompt":{"en":"Where can we email you?"}}`)
	c, ev := startApp(t, cf, nil)
	if p := c.Presence(); p.State != "available" || p.Hide || c.AskEmail() {
		t.Fatalf("presence %+v, ask email %v, want available", p, c.AskEmail())
	}
	// The account moves to a zone where it is another day: closed now
	// (UTC-12 is yesterday there before noon here, UTC+14 tomorrow after).
	zone := "Etc/GMT+12"
	if now.Hour() >= 12 {
		zone = "Pacific/Kiritimati"
	}
	mobileAPI(t, s, "PATCH", "/account", `{"timezone":"`+zone+`"}`)
	defer mobileAPI(t, s, "PATCH", "/account", `{"timezone":"`+seed.Timezone+`"}`)
	line := ev.wait(t, "presence offline")
	if !strings.Contains(line, "hide=true") || strings.Contains(line, "back_at= ") {
		t.Fatalf("live presence %q, want offline with back_at and hide", line)
	}
	p := c.Presence()
	if _, err := time.Parse(time.RFC3339, p.BackAt); err != nil || !p.Hide || !c.EntryHidden() {
		t.Fatalf("presence %+v (%v), entry hidden %v", p, err, c.EntryHidden())
	}
	if !c.AskEmail() || c.EmailPrompt() != "Where can we email you?" {
		t.Fatalf("ask email %v with %q", c.AskEmail(), c.EmailPrompt())
	}
	if err := c.SubmitEmail("not an address"); err == nil || !strings.Contains(err.Error(), "email address") {
		t.Fatalf("a bad address: %v", err)
	}
	if err := c.SubmitEmail("ida@example.com"); err != nil {
		t.Fatal(err)
	}
	ev.wait(t, "email ida@example.com")
	id, _ := c.Send("Please answer by email")
	ev.wait(t, "sent "+id)
	if c.AskEmail() || c.Email() != "ida@example.com" || !strings.Contains(c.Note(), "ida@example.com") {
		t.Fatalf("after the address: ask %v, email %q, note %q", c.AskEmail(), c.Email(), c.Note())
	}
}

// convID is the database id of a conversation's public id.
func convID(t *testing.T, s *System, public string) int64 {
	t.Helper()
	var id int64
	if err := s.DB.Get(&id, `SELECT id FROM conversations WHERE public_id = $1`, public); err != nil {
		t.Fatal(err)
	}
	return id
}

// mobileSurvey: the agent closes; the app hears the end and the survey
// (question, scale, comment box), answers it, and the answer reaches the
// survey's page and the agents' thread.
func mobileSurvey(t *testing.T, s *System) {
	sv := mobileAPI(t, s, "POST", "/surveys", `{"name":"App CSAT","question":"How did the app chat go?","scale":"emoji","allow_comment":true}`)
	svID := int64(sv["id"].(float64))
	cf, _ := mobileFlow(t, s, "app.survey", `,"options":{"survey_id":`+strconv.FormatInt(svID, 10)+`}`)
	c, ev := startApp(t, cf, nil)
	if err := c.AnswerSurvey(5, ""); err == nil {
		t.Fatal("a survey was answered before one was asked")
	}
	id, _ := c.Send("Please close this when done")
	ev.wait(t, "sent "+id)
	conv := convID(t, s, c.Conversation())
	if code, out := liveREST(t, s, "POST", fmt.Sprintf("/api/v1/conversations/%d/close", conv), map[string]any{}); code >= 300 {
		t.Fatalf("close: %d %s", code, out)
	}
	ev.wait(t, "end")
	ev.wait(t, "survey How did the app chat go?")
	got := c.Survey()
	if got == nil || got.ID != svID || got.Scale != "emoji" || !got.AllowComment || got.ScoreLabel(5) != "😄" {
		t.Fatalf("survey %+v", got)
	}
	if err := c.AnswerSurvey(9, ""); err == nil {
		t.Fatal("a score of 9 was taken")
	}
	if err := c.AnswerSurvey(4, "Quick answers in the app"); err != nil {
		t.Fatal(err)
	}
	ev.wait(t, "survey answered 4 Quick answers in the app")
	waitREST(t, s, fmt.Sprintf("/api/v1/surveys/%d/responses", svID), `"score":4`, "Quick answers in the app")
	var note int
	s.DB.Get(&note, `SELECT count(*) FROM messages WHERE conversation_id = $1 AND body LIKE '%Quick answers in the app%'`, conv)
	if note == 0 {
		t.Fatal("the answer is not in the conversation's thread")
	}
}

// mobileClosed: without a survey, the app hears the end the moment the
// agent closes, without writing (once); its next message starts a new
// conversation.
func mobileClosed(t *testing.T, s *System) {
	cf, _ := mobileFlow(t, s, "app.closed", "")
	c, ev := startApp(t, cf, nil)
	id, _ := c.Send("Close this, please")
	ev.wait(t, "sent "+id)
	first := c.Conversation()
	if code, out := liveREST(t, s, "POST", fmt.Sprintf("/api/v1/conversations/%d/close", convID(t, s, first)), map[string]any{}); code >= 300 {
		t.Fatalf("close: %d %s", code, out)
	}
	ev.wait(t, "end "+first)
	id, _ = c.Send("A new question")
	ev.wait(t, "sent "+id)
	if c.Conversation() == first || c.Conversation() == "" {
		t.Fatalf("the message after the end went to %q", c.Conversation())
	}
	ev.mu.Lock()
	ends := 0
	for _, l := range ev.lines {
		if strings.HasPrefix(l, "end ") {
			ends++
		}
	}
	ev.mu.Unlock()
	if ends != 1 {
		t.Fatalf("the end was heard %d times", ends)
	}
}

// lastBot waits for the bot's newest message after n messages were heard.
func (a *appEvents) botAfter(t *testing.T, n int) (*client.Message, int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		a.mu.Lock()
		for i := n; i < len(a.messages); i++ {
			if a.messages[i].From == "bot" {
				m := a.messages[i]
				a.mu.Unlock()
				return m, i + 1
			}
		}
		a.mu.Unlock()
		if time.Now().After(deadline) {
			a.mu.Lock()
			lines := strings.Join(a.lines, "\n")
			a.mu.Unlock()
			t.Fatalf("no bot message after message %d; heard:\n%s", n, lines)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (a *appEvents) count() int { a.mu.Lock(); defer a.mu.Unlock(); return len(a.messages) }

// mobileRuleBot: a rule-bot mobile chatflow answered through its quick
// replies (and free text where it asks for it) until it hands over.
func mobileRuleBot(t *testing.T, s *System) {
	bot := mobileAPI(t, s, "POST", "/bots", `{"name":"App leads","template":"lead_qualification"}`)
	cf, _ := mobileFlow(t, s, "app.bot", `,"type":"rule_bot","options":{"bot_id":`+strconv.Itoa(int(bot["id"].(float64)))+`}}`)
	c, ev := startApp(t, cf, nil)
	answers := map[string]string{"name": "Ida", "email": "ida@example.com", "How many": "5"}
	n := ev.count()
	c.Send("Hi")
	quick := 0
	for turn := 0; turn < 10; turn++ {
		var m *client.Message
		m, n = ev.botAfter(t, n)
		if strings.Contains(m.Text, "bringing in someone") {
			if quick == 0 {
				t.Fatal("the bot handed over without offering a quick reply")
			}
			if !ev.waitHandedOver(t, s, c.Conversation()) {
				t.Fatal("the conversation was not handed to the team")
			}
			return
		}
		var reply string
		if m.QuickReplyCount() > 0 {
			reply = m.QuickReply(0) // "This quarter": a lead for the team
			quick++
		} else if strings.Contains(m.Text, "?") {
			for k, v := range answers {
				if strings.Contains(m.Text, k) {
					reply = v
				}
			}
		}
		if reply == "" {
			continue // a greeting: the question follows
		}
		if _, err := c.Send(reply); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("the bot never handed over")
}

// waitHandedOver waits until the bot has stopped and the conversation is
// the team's.
func (a *appEvents) waitHandedOver(t *testing.T, s *System, public string) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var done bool
		s.DB.Get(&done, `SELECT NOT b.active FROM bot_states b JOIN conversations c ON c.id = b.conversation_id WHERE c.public_id = $1`, public)
		if done {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// mobileCustomerAgentAndHelp: the Help tab of a Dutch chatflow lists its
// categories, finds an article in Dutch with a marked snippet and shows
// it as sanitised HTML and as text; the customer agent's answer carries
// the article's link, which opens in the Help tab.
func mobileCustomerAgentAndHelp(t *testing.T, s *System) {
	kb := restID(t, s, "/api/v1/knowledge-bases", map[string]any{"name": "App hulp", "language": "nl"})
	kbPath := fmt.Sprintf("/api/v1/knowledge-bases/%d", kb)
	cat := restID(t, s, kbPath+"/categories", map[string]any{"name": "Bestellingen"})
	art := restID(t, s, kbPath+"/articles", map[string]any{"title": "Een bestelling retourneren", "category_id": cat, "published": true, "language": "nl",
		"body": "## Retour\n\nJe kunt elke bestelling binnen **30 dagen** retourneren voor je geld terug. <script>window.x=1</script>Print het retourlabel in je account."})
	restID(t, s, kbPath+"/articles", map[string]any{"title": "Levertijden", "category_id": cat, "published": true, "language": "nl",
		"body": "Pakketten naar België zijn twee werkdagen onderweg."})
	cf, _ := mobileFlow(t, s, "app.help", `,"type":"customer_agent","language":"nl","options":{"knowledge_base_id":`+strconv.FormatInt(kb, 10)+`,"help_tab":true}}`)
	h := cf.Help()
	if h == nil || h.Language != "nl" || h.KnowledgeBaseID != kb {
		t.Fatalf("help %+v", h)
	}
	cs, err := h.Categories()
	if err != nil {
		t.Fatal(err)
	}
	if cs.Len() < 1 || cs.Get(0).Name != "Bestellingen" || cs.Get(0).ArticleLen() != 2 {
		t.Fatalf("categories: %d, first %+v", cs.Len(), cs.Get(0))
	}
	rs, err := h.Search("retourneren geld")
	if err != nil {
		t.Fatal(err)
	}
	if rs.Len() != 1 || rs.Get(0).ArticleID != art || !strings.Contains(rs.Get(0).Snippet, "30 dagen") {
		t.Fatalf("search: %d results, first %+v", rs.Len(), rs.Get(0))
	}
	marked := false
	for i := 0; i < rs.Get(0).PartCount(); i++ {
		marked = marked || rs.Get(0).PartMarked(i)
	}
	if !marked {
		t.Fatal("the snippet marks nothing the search matched")
	}
	a, err := h.Article(art)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(a.HTML, "<strong>30 dagen</strong>") || strings.Contains(a.HTML, "script") || strings.Contains(a.Text, "<") ||
		!strings.Contains(a.Text, "Retour\n\nJe kunt elke bestelling binnen 30 dagen") {
		t.Fatalf("article html %q text %q", a.HTML, a.Text)
	}

	c, ev := startApp(t, cf, nil)
	n := ev.count()
	c.Send("Hoeveel dagen heb ik om een bestelling te retourneren?")
	m, _ := ev.botAfter(t, n)
	if !strings.Contains(m.Text, "30 dagen") || m.ArticleID != art || m.LinkTitle != "Een bestelling retourneren" ||
		!strings.HasPrefix(m.Link, s.Edge+"/v1/sites/"+s.Demo.Site+"/kb/") {
		t.Fatalf("the bot's answer %+v", m)
	}
	if a2, err := h.Article(m.ArticleID); err != nil || a2.Title != "Een bestelling retourneren" {
		t.Fatalf("the answer's article: %+v %v", a2, err)
	}
}

// mobileConsent: a mobile chatflow with a cookie notice, explicit
// data-processing consent and communication consent. The app sees each
// notice with its parts and version; nothing is stored on the device
// before the cookie notice is accepted; a refusal keeps sends refused
// with a sentence to show and nothing stored; after agreeing, messages go
// (also one typed before); the communication choice is recorded and
// agents see it beside the conversation.
func mobileConsent(t *testing.T, s *System) {
	sub := mobileAPI(t, s, "POST", "/subscription-types", `{"name":"App news"}`)
	cf, _ := mobileFlow(t, s, "app.consent", `,"language":"nl","options":{
		"cookie_consent":{"enabled":true,"when":"before_chat"},
		"data_consent":{"enabled":true,"type":"explicit","text":"We use your messages to answer you. See {privacy_policy}.","privacy_url":"https://example.com/privacy"},
		"communication_consent":{"enabled":true,"subscription_type_id":`+strconv.Itoa(int(sub["id"].(float64)))+`}}}`)

	cookie, data, comm := cf.Consent(client.ConsentCookie), cf.Consent(client.ConsentDataProcessing), cf.Consent(client.ConsentCommunication)
	if cookie == nil || data == nil || comm == nil {
		t.Fatalf("notices cookie=%v data=%v communication=%v, want all three", cookie, data, comm)
	}
	if data.Mode != "explicit" || data.Version == "" || data.Accept == "" || !strings.Contains(data.Text(), "We use your messages") {
		t.Fatalf("data notice %+v %q", data, data.Text())
	}
	link := false
	for i := 0; i < data.PartCount(); i++ {
		link = link || data.PartLink(i) == "https://example.com/privacy"
	}
	if !link || cookie.Mode != "before_chat" || cookie.Version == "" || comm.Version == "" {
		t.Fatalf("privacy link %v, cookie %+v, communication %+v", link, cookie, comm)
	}

	// Refusing: nothing stored on the device, sends refused with a
	// sentence in the chatflow's language, nothing stored on the server.
	st := &memStorage{}
	c, ev := startApp(t, cf, st)
	if !c.ConsentNeeded(client.ConsentCookie, false) || !c.SendBlocked() {
		t.Fatal("the notices are not asked before the visitor answered them")
	}
	if c.Token() == "" || st.holdsToken(c.Token()) || c.MayStore() {
		t.Fatal("the SDK stored the visitor token before the cookie notice was accepted")
	}
	if err := c.Refuse(client.ConsentCookie); err != nil {
		t.Fatal(err)
	}
	if err := c.Refuse(client.ConsentDataProcessing); err != nil {
		t.Fatal(err)
	}
	ev.wait(t, "consent data_processing refused")
	_, err := c.Send("Hello after refusing")
	if err == nil || !strings.Contains(err.Error(), "geweigerd") {
		t.Fatalf("send after refusing: %v, want the Dutch refusal sentence", err)
	}
	if st.holdsToken(c.Token()) || c.Conversation() != "" || c.Unsent() != 0 {
		t.Fatalf("after refusing: stored=%v conversation=%q unsent=%d", st.holdsToken(c.Token()), c.Conversation(), c.Unsent())
	}
	var visitorMsgs int
	s.DB.Get(&visitorMsgs, `SELECT count(*) FROM messages WHERE body = 'Hello after refusing'`)
	if visitorMsgs != 0 {
		t.Fatal("a refused message was stored")
	}
	c.Close()

	// Agreeing: a message typed before the agreement waits, then goes; the
	// token is stored once cookies are accepted; communication consent
	// is recorded with the conversation.
	st = &memStorage{}
	c, ev = startApp(t, cf, st)
	held, err := c.Send("Typed before agreeing")
	if err != nil {
		t.Fatal(err)
	}
	if !c.SendBlocked() || c.Unsent() != 1 {
		t.Fatalf("blocked=%v unsent=%d, want the message held", c.SendBlocked(), c.Unsent())
	}
	// The cookie answer goes out after anything sent before it on the same
	// socket: once it is recorded, a held message that went out would be
	// stored or refused by now.
	if err := c.Agree(client.ConsentCookie); err != nil {
		t.Fatal(err)
	}
	ev.wait(t, "consent cookie granted")
	s.DB.Get(&visitorMsgs, `SELECT count(*) FROM messages WHERE body = 'Typed before agreeing'`)
	if visitorMsgs != 0 || ev.heard("error ") != 0 || c.Unsent() != 1 {
		t.Fatalf("a message went out before the visitor agreed (stored %d, refusals %d, unsent %d)", visitorMsgs, ev.heard("error "), c.Unsent())
	}
	for _, kind := range []string{client.ConsentDataProcessing, client.ConsentCommunication} {
		if err := c.Agree(kind); err != nil {
			t.Fatal(err)
		}
	}
	ev.wait(t, "sent "+held)
	ev.wait(t, "consent communication granted")
	after, err := c.Send("And after agreeing")
	if err != nil {
		t.Fatal(err)
	}
	ev.wait(t, "sent "+after)
	conv := c.Conversation()
	if !st.holdsToken(c.Token()) || !c.MayStore() {
		t.Fatal("the token was not stored after the cookie notice was accepted")
	}
	if got := threadBodies(t, s, conv); strings.Join(got, "|") != "Typed before agreeing|And after agreeing" {
		t.Fatalf("thread %q", got)
	}
	var convID int64
	s.DB.Get(&convID, `SELECT id FROM conversations WHERE public_id = $1`, conv)
	waitREST(t, s, fmt.Sprintf("/api/v1/consents?conversation_id=%d", convID), `"kind":"communication"`, `"kind":"data_processing"`, `"decision":"granted"`)
	c.Close()

	// The next run of the app continues from the device: same
	// conversation, consent not asked again.
	c2, ev2 := startApp(t, cf, st)
	if c2.Conversation() != conv || c2.SendBlocked() || c2.ConsentNeeded(client.ConsentCookie, false) {
		t.Fatalf("restart: conversation %q (want %q), blocked %v", c2.Conversation(), conv, c2.SendBlocked())
	}
	again, _ := c2.Send("Back in the app")
	ev2.wait(t, "sent "+again)
	if got := threadBodies(t, s, conv); len(got) != 3 {
		t.Fatalf("thread after restart %q", got)
	}
}

package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

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
func (a *appEvents) OnConversationEnd(string) { a.add("end") }
func (a *appEvents) OnEmail(email string)     { a.add("email " + email) }
func (a *appEvents) OnConsent(kind, d string) { a.add("consent " + kind + " " + d) }
func (a *appEvents) OnPush(registered bool)   { a.add(fmt.Sprintf("push %v", registered)) }

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
	time.Sleep(300 * time.Millisecond) // nothing may go out meanwhile
	s.DB.Get(&visitorMsgs, `SELECT count(*) FROM messages WHERE body = 'Typed before agreeing'`)
	if visitorMsgs != 0 {
		t.Fatal("a message went out before the visitor agreed")
	}
	for _, kind := range []string{client.ConsentCookie, client.ConsentDataProcessing, client.ConsentCommunication} {
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

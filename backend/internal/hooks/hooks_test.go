package hooks_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/api"
	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/hooks"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/backend/internal/webhook"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	dbtest.Main(m)
}

type env struct {
	t     *testing.T
	st    *store.Store
	api   *httptest.Server
	key   string
	acct  *store.Account
	inbox int64
	flow  int64
}

func setup(t *testing.T) *env {
	ctx := context.Background()
	e := &env{t: t, st: store.New(dbtest.New(t))}
	r := gin.New()
	api.New(e.st, "link-secret").Register(r)
	e.api = httptest.NewServer(r)
	t.Cleanup(e.api.Close)
	e.acct = &store.Account{Name: "Acme", PublicID: "acme"}
	must(t, e.st.CreateAccount(ctx, e.acct))
	var err error
	e.key, err = e.st.CreateAPIKey(ctx, e.acct.ID, "test", "")
	must(t, err)
	_, p := e.do("POST", "/api/v1/inboxes", `{"name":"Support"}`)
	e.inbox = int64(p["id"].(float64))
	_, p = e.do("POST", "/api/v1/chatflows", `{"name":"Web","inbox_id":`+strconv.FormatInt(e.inbox, 10)+`}`)
	e.flow = int64(p["id"].(float64))
	return e
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) do(method, path, body string) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.api.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	must(e.t, err)
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	json.Unmarshal(raw, &out)
	return res.StatusCode, out
}

// conversation starts a conversation with one visitor message.
func (e *env) conversation(text string) int64 {
	ctx := context.Background()
	_, v, err := e.st.CreateVisitor(ctx, e.acct.ID)
	must(e.t, err)
	c, _, err := e.st.CreateConversation(ctx, store.NewConversation{AccountID: e.acct.ID, ChatflowID: e.flow, InboxID: e.inbox, VisitorID: v.ID})
	must(e.t, err)
	_, _, err = e.st.AppendMessage(ctx, store.NewMessage{ConversationID: c.ID, ClientID: "m1", AuthorType: store.AuthorVisitor, Body: text})
	must(e.t, err)
	return c.ID
}

// receiver is a webhook receiver that checks every signature and can be down.
type receiver struct {
	*httptest.Server
	secret atomic.Value // string
	down   atomic.Bool
	calls  atomic.Int64
	mu     sync.Mutex
	got    map[string][]map[string]any // by delivery id
	bad    []string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{got: map[string][]map[string]any{}}
	r.secret.Store("")
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.calls.Add(1)
		if r.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := webhook.Verify(r.secret.Load().(string), req.Header, body, time.Now()); err != nil {
			r.bad = append(r.bad, err.Error())
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p map[string]any
		json.Unmarshal(body, &p)
		id, _ := p["id"].(string)
		r.got[id] = append(r.got[id], p)
	}))
	t.Cleanup(r.Close)
	return r
}

// events lists the events received, one per delivery id, and the ids received twice.
func (r *receiver) events() (map[string]int, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := map[string]int{}
	var twice []string
	for id, ps := range r.got {
		n[ps[0]["event"].(string)]++
		if len(ps) > 1 {
			twice = append(twice, id)
		}
	}
	return n, twice
}

func waitFor(t *testing.T, what string, within time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) createWebhook(url, events string) (int64, string) {
	code, p := e.do("POST", "/api/v1/webhooks", `{"url":"`+url+`","events":`+events+`}`)
	if code != 201 || p["secret"] == nil {
		e.t.Fatalf("create webhook: %d %v", code, p)
	}
	return int64(p["id"].(float64)), p["secret"].(string)
}

func (e *env) deliveries(id int64) []map[string]any {
	code, p := e.do("GET", "/api/v1/webhooks/"+strconv.FormatInt(id, 10)+"/deliveries?limit=100", "")
	if code != 200 {
		e.t.Fatalf("deliveries: %d %v", code, p)
	}
	var out []map[string]any
	for _, d := range p["deliveries"].([]any) {
		out = append(out, d.(map[string]any))
	}
	return out
}

func TestReceiverDownLosesNothing(t *testing.T) {
	e := setup(t)
	rcv := newReceiver(t)
	hook, secret := e.createWebhook(rcv.URL, `["conversation.created","message.created","conversation.closed"]`)
	rcv.secret.Store(secret)
	rcv.down.Store(true)

	// Two backends deliver from the same queue.
	cfg := hooks.Config{MaxFailures: 1000, Queue: webhook.Queue{RetryMin: 50 * time.Millisecond, RetryMax: 300 * time.Millisecond, PollEvery: 20 * time.Millisecond}}
	for range 2 {
		t.Cleanup(hooks.New(e.st, cfg).Start())
	}
	ctx := context.Background()
	var convs []int64
	for i := range 3 {
		c := e.conversation("hello " + strconv.Itoa(i))
		convs = append(convs, c)
		_, _, err := e.st.AppendMessage(ctx, store.NewMessage{ConversationID: c, ClientID: "n1", AuthorType: store.AuthorAgent, Internal: true, Body: "a note"})
		must(t, err)
	}
	code, _ := e.do("POST", "/api/v1/conversations/"+strconv.FormatInt(convs[0], 10)+"/close", "")
	if code != 200 {
		t.Fatal("close")
	}
	// The receiver stays down while every delivery is tried a few times.
	waitFor(t, "retries while the receiver is down", 15*time.Second, func() bool {
		ds := e.deliveries(hook)
		for _, d := range ds {
			if d["attempts"].(float64) < 3 || d["status"] != "pending" || !strings.Contains(d["last_error"].(string), "503") {
				return false
			}
		}
		return len(ds) == 7
	})
	if n, _ := rcv.events(); len(n) != 0 {
		t.Fatalf("received while down: %v", n)
	}
	rcv.down.Store(false)
	want := map[string]int{"conversation.created": 3, "message.created": 3, "conversation.closed": 1}
	waitFor(t, "every delivery once the receiver is back", 20*time.Second, func() bool {
		n, _ := rcv.events()
		return n["conversation.created"] == 3 && n["message.created"] == 3 && n["conversation.closed"] == 1
	})
	n, twice := rcv.events()
	if len(twice) > 0 || len(n) != len(want) || len(rcv.bad) > 0 {
		t.Errorf("received %v, twice %v, bad signatures %v", n, twice, rcv.bad)
	}
	// The log says so once the answers are written (just after the receiver had them).
	waitFor(t, "every delivery logged as delivered", 10*time.Second, func() bool {
		for _, d := range e.deliveries(hook) {
			if d["status"] != "delivered" {
				return false
			}
		}
		return true
	})
	for _, d := range e.deliveries(hook) {
		if d["status"] != "delivered" || d["attempts"].(float64) < 4 || d["last_http_status"].(float64) != 200 || d["done_at"] == nil {
			t.Errorf("log: %v", d)
		}
	}
	// A message's payload carries its text; an internal note never went out.
	rcv.mu.Lock()
	for _, ps := range rcv.got {
		if p := ps[0]; p["event"] == "message.created" {
			if d := p["data"].(map[string]any); !strings.HasPrefix(d["text"].(string), "hello ") || d["author_type"] != "visitor" {
				t.Errorf("message payload %v", p)
			}
		}
	}
	rcv.mu.Unlock()
}

func TestSwitchedOffAfterConsecutiveFailures(t *testing.T) {
	e := setup(t)
	rcv := newReceiver(t)
	hook, secret := e.createWebhook(rcv.URL, `["conversation.created","message.created"]`)
	rcv.secret.Store(secret)
	rcv.down.Store(true)
	t.Cleanup(hooks.New(e.st, hooks.Config{MaxFailures: 4, Queue: webhook.Queue{RetryMin: 30 * time.Millisecond, RetryMax: 60 * time.Millisecond, PollEvery: 20 * time.Millisecond}}).Start())
	e.conversation("hello")
	path := "/api/v1/webhooks/" + strconv.FormatInt(hook, 10)
	waitFor(t, "the webhook switched off", 15*time.Second, func() bool {
		_, p := e.do("GET", path, "")
		return p["enabled"] == false
	})
	_, p := e.do("GET", path, "")
	if p["consecutive_failures"].(float64) != 4 || !strings.Contains(p["disabled_reason"].(string), "4 consecutive") {
		t.Errorf("switched off: %v", p)
	}
	if c := rcv.calls.Load(); c != 4 {
		t.Errorf("%d calls, want 4 before it was switched off", c)
	}
	// Events while it is off are not queued; the waiting ones go out when
	// an admin switches it on again.
	e.conversation("while off")
	rcv.down.Store(false)
	if code, p := e.do("PATCH", path, `{"enabled":true}`); code != 200 || p["consecutive_failures"].(float64) != 0 {
		t.Fatalf("switch on: %d %v", code, p)
	}
	waitFor(t, "the waiting deliveries", 15*time.Second, func() bool {
		n, _ := rcv.events()
		return n["conversation.created"] == 1 && n["message.created"] == 1
	})
	waitFor(t, "both logged as delivered", 10*time.Second, func() bool {
		for _, d := range e.deliveries(hook) {
			if d["status"] != "delivered" {
				return false
			}
		}
		return true
	})
	attempts := 0.0
	for _, d := range e.deliveries(hook) {
		attempts += d["attempts"].(float64)
		if d["status"] != "delivered" {
			t.Errorf("log: %v", d)
		}
	}
	if attempts != 6 {
		t.Errorf("the log counts %v attempts, want 6 (4 failed, 2 delivered)", attempts)
	}
}

func TestWebhookInputIsChecked(t *testing.T) {
	e := setup(t)
	for _, body := range []string{
		`{"url":"ftp://x.example","events":["message.created"]}`,
		`{"url":"https://x.example","events":[]}`,
		`{"url":"https://x.example","events":["message.deleted"]}`,
		`{"url":"https://x.example","events":["message.created"],"secret":"mine"}`,
	} {
		if code, p := e.do("POST", "/api/v1/webhooks", body); code != 400 && code != 422 {
			t.Errorf("%s: %d %v", body, code, p)
		}
	}
	id, _ := e.createWebhook("https://x.example/hook", `["message.created","message.created"]`)
	code, p := e.do("GET", "/api/v1/webhooks/"+strconv.FormatInt(id, 10), "")
	if code != 200 || p["secret"] != nil || len(p["events"].([]any)) != 1 {
		t.Errorf("GET shows %d %v", code, p)
	}
	if code, _ := e.do("DELETE", "/api/v1/webhooks/"+strconv.FormatInt(id, 10), ""); code != 204 {
		t.Errorf("delete: %d", code)
	}
	if code, _ := e.do("GET", "/api/v1/webhooks/"+strconv.FormatInt(id, 10), ""); code != 404 {
		t.Errorf("deleted: %d", code)
	}
}

func TestAssignedEvent(t *testing.T) {
	e := setup(t)
	rcv := newReceiver(t)
	hook, secret := e.createWebhook(rcv.URL, `["conversation.assigned"]`)
	rcv.secret.Store(secret)
	_, u := e.do("POST", "/api/v1/users", `{"email":"ana@example.com","name":"Ana","has_seat":true,"status":"available"}`)
	user := strconv.FormatInt(int64(u["id"].(float64)), 10)
	if code, p := e.do("PATCH", "/api/v1/inboxes/"+strconv.FormatInt(e.inbox, 10), `{"member_ids":[`+user+`]}`); code != 200 {
		t.Fatalf("members: %d %v", code, p)
	}
	c := e.conversation("hello")
	if code, p := e.do("POST", "/api/v1/conversations/"+strconv.FormatInt(c, 10)+"/assign", `{"user_id":`+user+`}`); code != 200 {
		t.Fatalf("assign: %d %v", code, p)
	}
	t.Cleanup(hooks.New(e.st, hooks.Config{Queue: webhook.Queue{PollEvery: 20 * time.Millisecond}}).Start())
	waitFor(t, "conversation.assigned", 10*time.Second, func() bool {
		n, _ := rcv.events()
		return n["conversation.assigned"] == 1
	})
	rcv.mu.Lock()
	for _, ps := range rcv.got {
		if d := ps[0]["data"].(map[string]any); strconv.FormatInt(int64(d["assignee_id"].(float64)), 10) != user {
			t.Errorf("assigned payload %v", ps[0])
		}
	}
	rcv.mu.Unlock()
	if ds := e.deliveries(hook); len(ds) != 1 || ds[0]["status"] != "delivered" || ds[0]["attempts"].(float64) != 1 {
		t.Errorf("log %v", ds)
	}
}

// Erasing a contact takes the webhook deliveries of its conversations with
// it (they carry the messages' text), delivered or still waiting; another
// visitor's stay.
func TestErasureTakesTheDeliveriesOfItsConversations(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	id, _ := e.createWebhook("http://127.0.0.1:9/nowhere", `["message.created","conversation.created"]`)
	erased := e.conversation("my secret order number is 42")
	kept := e.conversation("someone else")
	var visitor int64
	must(t, e.st.DB().Get(&visitor, `SELECT visitor_id FROM conversations WHERE id = $1`, erased))
	_, _, c, err := e.st.IdentifyContact(ctx, store.Identification{AccountID: e.acct.ID, Email: "ann@example.com"}, time.Hour)
	must(t, err)
	must(t, e.st.LinkVisitorContact(ctx, e.acct.ID, visitor, c.ID))
	count := func(conv int64) int {
		var n int
		must(t, e.st.DB().Get(&n, `SELECT count(*) FROM webhook_deliveries WHERE webhook_id = $1
			AND (payload #>> '{data,conversation_id}')::bigint = $2`, id, conv))
		return n
	}
	if count(erased) == 0 || count(kept) == 0 {
		t.Fatalf("no deliveries queued: %d, %d", count(erased), count(kept))
	}
	if _, err := e.st.EraseContact(ctx, e.acct.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	if n := count(erased); n != 0 {
		t.Fatalf("%d deliveries of the erased conversation remain", n)
	}
	if count(kept) == 0 {
		t.Fatal("another visitor's deliveries went too")
	}
}

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/push"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/backend/internal/webhook"
	"github.com/parleychat/parley/widget/client"
)

// pushReceiver is the app owner's server: it records each push call,
// checks its signature, and fails the next `failing` calls with a 500.
type pushReceiver struct {
	t      *testing.T
	secret string

	mu      sync.Mutex
	calls   []push.Payload // the calls it accepted
	refused int            // calls answered 500
	failing int
	bad     []string // signature problems
}

func (r *pushReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := webhook.Verify(r.secret, req.Header, body, time.Now()); err != nil {
		r.bad = append(r.bad, err.Error()+": "+string(body))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.failing > 0 {
		r.failing--
		r.refused++
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	var p push.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		r.bad = append(r.bad, "not JSON: "+string(body))
	}
	r.calls = append(r.calls, p)
	w.WriteHeader(http.StatusNoContent)
}

func (r *pushReceiver) snapshot() (calls []push.Payload, refused int, bad []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]push.Payload(nil), r.calls...), r.refused, append([]string(nil), r.bad...)
}

// waitCalls waits until the receiver accepted n calls.
func (r *pushReceiver) waitCalls(t *testing.T, n int) []push.Payload {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		calls, _, bad := r.snapshot()
		if len(bad) > 0 {
			t.Fatalf("push calls with a bad signature: %q", bad)
		}
		if len(calls) >= n {
			return calls
		}
		if time.Now().After(deadline) {
			t.Fatalf("the push webhook got %d calls, want %d", len(calls), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitQueueSettled waits until no push call is waiting and want calls are done.
func waitQueueSettled(t *testing.T, s *System, outcome string, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var waiting, done int
		s.DB.Get(&waiting, `SELECT count(*) FROM push_queue WHERE done_at IS NULL`)
		s.DB.Get(&done, `SELECT count(*) FROM push_queue WHERE outcome = $1`, outcome)
		if waiting == 0 && done >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("push queue: %d waiting, %d %s (want %d)", waiting, done, outcome, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMobilePush: an app registers its device's push token through the
// SDK; team messages that arrive while the app is connected (to another
// backend than the one making calls, say) call nobody; a burst while it
// is not connected calls the account's webhook once, signed; a failing
// webhook is retried until it takes the call, and the messages stored
// meanwhile are in it; a removed token, and an erased contact's, calls
// nobody again.
func TestMobilePush(t *testing.T) {
	c := StartCluster(t, ClusterOptions{Backends: 2, Edges: 2,
		Env: []string{"PUSH_DELAY=1s", "PUSH_RETRY_MIN=300ms", "PUSH_RETRY_MAX=600ms"}})
	s := &System{Cluster: c, Edge: c.Edges[0].URL}
	recv := &pushReceiver{t: t, secret: "app-owner-secret-1234"}
	hs := httptest.NewServer(recv)
	defer hs.Close()

	// Admin only: the webhook receives visitors' messages.
	out := mobileAPI(t, s, "PUT", "/account/push-webhook", `{"url":"`+hs.URL+`/parley","secret":"`+recv.secret+`"}`)
	if out["secret"] != recv.secret || out["secret_set"] != true {
		t.Fatalf("PUT push-webhook: %v", out)
	}
	if got := mobileAPI(t, s, "GET", "/account/push-webhook", ""); got["secret"] != nil || got["url"] != hs.URL+"/parley" {
		t.Fatalf("GET push-webhook shows %v", got)
	}

	cf, _ := mobileFlow(t, s, "app.push", "")
	// The app talks to the second edge (and so the second backend).
	cf2, err := client.Resolve(c.Edges[1].URL, s.Demo.Site, "app.push")
	if err != nil {
		t.Fatal(err)
	}
	app, ev := startApp(t, cf2, nil)
	if err := app.RegisterPush("webos", "x"); err == nil {
		t.Fatal("an unknown push platform was taken")
	}
	first, _ := app.Send("Hello from my phone")
	ev.wait(t, "sent "+first)
	if err := app.RegisterPush(client.PushFCM, "fcm-device-token-1"); err != nil {
		t.Fatal(err)
	}
	ev.wait(t, "push true")
	conv, err := s.Store.ConversationByPublicID(context.Background(), app.Conversation())
	if err != nil {
		t.Fatal(err)
	}
	agent, err := s.Store.UserByLogin(context.Background(), s.Demo.AgentEmail)
	if err != nil {
		t.Fatal(err)
	}
	agentSays := func(text string) int64 {
		t.Helper()
		m, _, err := s.Store.AppendMessage(context.Background(), store.NewMessage{ConversationID: conv.ID, AuthorType: store.AuthorAgent, AuthorID: agent.ID, Body: text})
		if err != nil {
			t.Fatal(err)
		}
		return m.Seq
	}

	// Connected: the app sees the messages; nobody is called.
	agentSays("Seen live one")
	agentSays("Seen live two")
	ev.wait(t, "message agent Seen live two")
	waitQueueSettled(t, s, "skipped", 1)
	if calls, refused, _ := recv.snapshot(); len(calls)+refused != 0 {
		t.Fatalf("the webhook was called while the app was connected: %+v", calls)
	}

	// Not connected: one call for the burst, signed, with what the app's
	// server needs to notify the device.
	app.Close()
	waitDisconnected(t, s, conv.VisitorID)
	agentSays("Your order shipped")
	agentSays("It arrives tomorrow")
	last := agentSays("Anything else?")
	calls := recv.waitCalls(t, 1)
	waitQueueSettled(t, s, "sent", 1)
	calls, _, _ = recv.snapshot()
	if len(calls) != 1 {
		t.Fatalf("%d calls for one burst, want 1: %+v", len(calls), calls)
	}
	p := calls[0]
	if p.Type != "messages" || p.Messages != 3 || p.LastSeq != last || p.PushToken != "fcm-device-token-1" || p.Platform != "fcm" ||
		p.Conversation != conv.PublicID || p.Site != s.Demo.Site || p.Chatflow != cf.ID || p.Last.Text != "Anything else?" || p.Last.From != "agent" || p.ID == "" {
		t.Fatalf("push call %+v", p)
	}

	// A failing webhook: retried with backoff; a message stored meanwhile
	// joins the call; nothing is lost.
	recv.mu.Lock()
	recv.failing = 2
	recv.mu.Unlock()
	agentSays("Are you there?")
	waitRefused(t, recv, 1)
	again := agentSays("Still here if you need us")
	calls = recv.waitCalls(t, 2)
	if _, refused, _ := recv.snapshot(); refused != 2 {
		t.Fatalf("%d refused calls, want 2", refused)
	}
	if p := calls[1]; p.Messages != 2 || p.LastSeq != again || p.Last.Text != "Still here if you need us" {
		t.Fatalf("the retried call %+v, want both messages", p)
	}
	waitQueueSettled(t, s, "sent", 2)

	// The app removes its token: no more calls.
	app, ev = startApp(t, cf2, nil) // a new visitor: nothing stored, so a new install
	if err := app.RegisterPush(client.PushAPNs, "apns-token-2"); err != nil {
		t.Fatal(err)
	}
	ev.wait(t, "push true")
	if err := app.RemovePush(); err != nil {
		t.Fatal(err)
	}
	ev.wait(t, "push false")
	var tokens int
	s.DB.Get(&tokens, `SELECT count(*) FROM push_tokens WHERE token = 'apns-token-2'`)
	if tokens != 0 {
		t.Fatal("the removed push token is still stored")
	}
	app.Close()

	// Erasure removes an identified visitor's token.
	var id struct {
		Token     string `json:"token"`
		ContactID int64  `json:"contact_id"`
	}
	code, body := liveREST(t, s, "POST", "/api/v1/visitor-identification", map[string]any{"email": "ann@example.com"})
	if code != 200 || json.Unmarshal([]byte(body), &id) != nil {
		t.Fatalf("identification: %d %s", code, body)
	}
	kev := &appEvents{}
	known, err := cf.NewChat(kev)
	if err != nil {
		t.Fatal(err)
	}
	defer known.Close()
	known.Identify("ann@example.com", id.Token)
	known.Connect()
	kev.wait(t, "state connected")
	if !known.Identified() {
		t.Fatalf("not identified: %s", known.IdentificationWarning())
	}
	known.RegisterPush(client.PushAPNs, "apns-ann")
	kev.wait(t, "push true")
	if code, body := liveREST(t, s, "DELETE", "/api/v1/contacts/"+strconv.FormatInt(id.ContactID, 10), nil); code >= 300 {
		t.Fatalf("erase: %d %s", code, body)
	}
	s.DB.Get(&tokens, `SELECT count(*) FROM push_tokens WHERE token = 'apns-ann'`)
	if tokens != 0 {
		t.Fatal("the erased contact's push token is still stored")
	}
	if calls, _, _ := recv.snapshot(); len(calls) != 2 {
		t.Fatalf("%d calls in all, want 2: %s", len(calls), fmt.Sprint(calls))
	}
}

// waitDisconnected waits until no backend counts the visitor's socket.
func waitDisconnected(t *testing.T, s *System, visitorID int64) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		on, err := s.Store.VisitorConnected(context.Background(), visitorID, 0)
		if err == nil && !on {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the visitor still counts as connected (%v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitRefused(t *testing.T, r *pushReceiver, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, refused, _ := r.snapshot(); refused >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the webhook never failed %d times", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

package inbox_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/api"
	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/backend/internal/inbox"
	"github.com/parleychat/parley/backend/internal/store"
)

// backend starts another backend process's worth of parts on the test's
// database: its own event bus, inbox and admin API. It returns its URL and
// its store (whose writes it announces).
func (e *env) backend() (string, *store.Store) {
	e.t.Helper()
	bus, err := events.Listen(e.dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { bus.Close() })
	st := store.New(e.db)
	st.SetNotifier(bus.Send)
	r := gin.New()
	inbox.New(st, bus, inbox.Config{}).Register(r)
	api.New(st, "").Register(r)
	srv := httptest.NewServer(r)
	e.t.Cleanup(srv.Close)
	return srv.URL, st
}

// adminKey makes an admin API key of the test's account.
func (e *env) adminKey() string {
	e.t.Helper()
	secret, err := e.st.CreateAPIKeyWithRole(context.Background(), e.account, "admin", store.RoleAdmin)
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// callAPI sends an admin API request to base and answers the status.
func (e *env) callAPI(base, key, method, path, body string) int {
	e.t.Helper()
	req, _ := http.NewRequest(method, base+path, bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// follow opens b's live socket on the backend at base and subscribes to
// conv, reading the catch-up (one message is there already).
func (b *browser) follow(t *testing.T, base string, conv int64) *websocket.Conn {
	t.Helper()
	u, _ := url.Parse(base + "/inbox")
	h := http.Header{}
	h.Set("Origin", base)
	for _, c := range b.c.Jar.Cookies(u) {
		h.Add("Cookie", c.Name+"="+c.Value)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/inbox/ws", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	wsjson.Write(context.Background(), c, map[string]any{"type": "subscribe", "conversation": conv, "last_seq": 0})
	if f := read(t, c, 2*time.Second); f.Type != "message" || f.Text != "before" {
		t.Fatalf("catch-up: %+v", f)
	}
	return c
}

// expectCut waits for c to close with code within a few seconds, while the
// visitor keeps writing through st, the backend that revoked (notices of one
// backend arrive in order, so no message written after the revocation may
// arrive; across backends "after" is only as sharp as a notice's travel).
func (e *env) expectCut(t *testing.T, st *store.Store, c *websocket.Conn, conv int64, code websocket.StatusCode) {
	t.Helper()
	if _, _, err := st.AppendMessage(context.Background(), store.NewMessage{ConversationID: conv, AuthorType: store.AuthorVisitor, Body: "secret after revocation"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	for {
		var f frame
		err := wsjson.Read(ctx, c, &f)
		if err != nil {
			if got := websocket.CloseStatus(err); got != code {
				t.Fatalf("socket ended with %v (status %d), want close %d", err, got, code)
			}
			t.Logf("socket closed %v after the revocation", time.Since(start))
			return
		}
		if f.Type == "message" && strings.Contains(f.Text, "after revocation") {
			t.Fatalf("a revoked socket received %q", f.Text)
		}
	}
}

// revocationWorld: two backends; alice follows a thread of inbox A on one
// of them (the second when onOther, where the inbox pages revoke through
// the first; else the first, where the admin API on the second revokes).
func revocationWorld(t *testing.T, onOther bool) (e *env, other string, otherSt *store.Store, conv int64, alice *browser, c *websocket.Conn) {
	e = setup(t, inbox.Config{})
	other, otherSt = e.backend()
	conv, _ = e.conversation(e.inboxA, "Vera")
	e.say(conv, "before")
	alice = e.signedIn(e.alice)
	if onOther {
		c = alice.follow(t, other, conv)
	} else {
		c = alice.follow(t, e.srv.URL, conv)
	}
	return e, other, otherSt, conv, alice, c
}

func TestRevokedSocketsCloseOnEveryBackend(t *testing.T) {
	t.Run("sign-out", func(t *testing.T) {
		e, _, _, conv, alice, c := revocationWorld(t, true)
		if p := alice.post("/inbox/logout", url.Values{}); p.status != http.StatusSeeOther {
			t.Fatalf("logout: %d", p.status)
		}
		e.expectCut(t, e.st, c, conv, inbox.CloseSessionEnded)
	})
	t.Run("password changed on My account from another session", func(t *testing.T) {
		e, _, _, conv, _, c := revocationWorld(t, true)
		other := e.signedIn(e.alice)
		other.get("/inbox/account")
		if p := other.changePassword(password, "a brand new secret", "a brand new secret"); p.status != http.StatusSeeOther {
			t.Fatalf("change password: %d %s", p.status, p.body)
		}
		e.expectCut(t, e.st, c, conv, inbox.CloseSessionEnded)
	})
	t.Run("reset-password command", func(t *testing.T) {
		e, _, _, conv, _, c := revocationWorld(t, true)
		// The command is a process of its own: a store without the bus.
		if _, err := inbox.ResetPassword(context.Background(), store.New(e.db), e.alice.Email, "a brand new secret"); err != nil {
			t.Fatal(err)
		}
		e.expectCut(t, e.st, c, conv, inbox.CloseSessionEnded)
	})
	t.Run("password set over the API", func(t *testing.T) {
		e, other, otherSt, conv, _, c := revocationWorld(t, false)
		key := e.adminKey()
		if st := e.callAPI(other+"/api/v1", key, "PATCH", fmt.Sprintf("/users/%d", e.alice.ID), `{"password":"a brand new secret"}`); st != http.StatusOK {
			t.Fatalf("PATCH user: %d", st)
		}
		e.expectCut(t, otherSt, c, conv, inbox.CloseSessionEnded)
		if e.canSignIn(e.alice.Email, password) || !e.canSignIn(e.alice.Email, "a brand new secret") {
			t.Fatal("the API's password did not replace the old one")
		}
	})
	t.Run("password reset by an emailed link", func(t *testing.T) {
		e, _, otherSt, conv, _, c := revocationWorld(t, false)
		token := store.NewToken()
		if _, err := e.db.Exec(`INSERT INTO password_resets (token_hash, user_id, expires_at) VALUES ($1, $2, now() + interval '1 hour')`,
			store.HashToken(token), e.alice.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := otherSt.UsePasswordReset(context.Background(), token, e.alice.PasswordHash); err != nil {
			t.Fatal(err)
		}
		e.expectCut(t, otherSt, c, conv, inbox.CloseSessionEnded)
	})
	t.Run("user deleted", func(t *testing.T) {
		e, other, otherSt, conv, _, c := revocationWorld(t, false)
		if st := e.callAPI(other+"/api/v1", e.adminKey(), "DELETE", fmt.Sprintf("/users/%d", e.alice.ID), ""); st != http.StatusNoContent {
			t.Fatalf("DELETE user: %d", st)
		}
		e.expectCut(t, otherSt, c, conv, inbox.CloseSessionEnded)
	})
	t.Run("removed from the inbox", func(t *testing.T) {
		e, other, otherSt, conv, alice, c := revocationWorld(t, false)
		key := e.adminKey()
		// A list page of hers, on the second backend too, loses the conversation.
		list := alice.listSocket(t, e, conv)
		body := fmt.Sprintf(`{"name":"Support","has_chat_channel":true,"member_ids":[%d]}`, e.bob.ID)
		if st := e.callAPI(other+"/api/v1", key, "PATCH", fmt.Sprintf("/inboxes/%d", e.inboxA), body); st != http.StatusOK {
			t.Fatalf("PATCH inbox: %d", st)
		}
		e.expectCut(t, otherSt, c, conv, inbox.CloseAccessEnded)
		deadline := time.Now().Add(5 * time.Second)
		for {
			f := read(t, list, time.Until(deadline))
			if f.Type == "list" && len(f.Items) == 0 {
				break
			}
		}
		// Bob, the new member, still follows and reads it.
		if p := e.signedIn(e.bob).get(fmt.Sprintf("/inbox/conversations/%d", conv)); p.status != http.StatusOK {
			t.Fatalf("new member's thread: %d", p.status)
		}
	})
	t.Run("role changed: the socket checks again and stays", func(t *testing.T) {
		e, other, otherSt, conv, _, c := revocationWorld(t, false)
		if st := e.callAPI(other+"/api/v1", e.adminKey(), "PATCH", fmt.Sprintf("/users/%d", e.alice.ID), `{"role":"editor"}`); st != http.StatusOK {
			t.Fatalf("PATCH role: %d", st)
		}
		// Her inboxes are what they were: the thread keeps coming.
		if _, _, err := otherSt.AppendMessage(context.Background(), store.NewMessage{ConversationID: conv, AuthorType: store.AuthorVisitor, Body: "still here"}); err != nil {
			t.Fatal(err)
		}
		if f := read(t, c, 3*time.Second); f.Text != "still here" {
			t.Fatalf("after a role change: %+v", f)
		}
	})
}

// listSocket opens b's list page socket on the env's own backend and reads
// the first list, which holds conv.
func (b *browser) listSocket(t *testing.T, e *env, conv int64) *websocket.Conn {
	t.Helper()
	c, _, err := b.dial(t, e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	wsjson.Write(context.Background(), c, map[string]any{"type": "list", "view": "open"})
	if f := read(t, c, 2*time.Second); f.Type != "list" || len(f.Items) != 1 {
		t.Fatalf("list: %+v", f)
	}
	return c
}

// Without any notice (a change made straight in the database), every
// subscribe still checks the session and the membership.
func TestSubscribeChecksSessionAndMembershipAgain(t *testing.T) {
	e := setup(t, inbox.Config{})
	conv, _ := e.conversation(e.inboxA, "Vera")
	e.say(conv, "before")
	alice := e.signedIn(e.alice)
	c := alice.follow(t, e.srv.URL, conv)

	if _, err := e.db.Exec(`DELETE FROM inbox_members WHERE user_id = $1`, e.alice.ID); err != nil {
		t.Fatal(err)
	}
	wsjson.Write(context.Background(), c, map[string]any{"type": "subscribe", "conversation": conv, "last_seq": 0})
	if f := read(t, c, 2*time.Second); f.Type != "error" {
		t.Fatalf("subscribe after leaving the inbox: %+v", f)
	}

	if _, err := e.db.Exec(`DELETE FROM user_sessions WHERE user_id = $1`, e.alice.ID); err != nil {
		t.Fatal(err)
	}
	wsjson.Write(context.Background(), c, map[string]any{"type": "subscribe", "conversation": conv, "last_seq": 0})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for {
		var f frame
		err := wsjson.Read(ctx, c, &f)
		if err != nil {
			if websocket.CloseStatus(err) != inbox.CloseSessionEnded {
				t.Fatalf("subscribe after the session ended: %v", err)
			}
			break
		}
		if f.Type == "message" {
			t.Fatalf("history sent to an ended session: %+v", f)
		}
	}
}

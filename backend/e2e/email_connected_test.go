package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/backend/internal/mail/mailpittest"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// An agent's reply reaches a visitor by email only when they are not
// connected: with the widget's socket open on either of two backends
// (each behind its own edge) the reply arrives live and no email is
// written, whichever backend's mail job looks; once the socket closes,
// the unread reply is mailed, once.
func TestEmailReplyOnlyWhenVisitorNotConnected(t *testing.T) {
	mp := mailpittest.Start(t)
	c := StartCluster(t, ClusterOptions{Backends: 2, Edges: 2, Env: []string{"SMTP_HOST=127.0.0.1",
		"SMTP_PORT=" + strconv.Itoa(mp.SMTPPort), "SMTP_TLS=none", "MAIL_FROM=chat@parley.test", "MAIL_REPLY_DELAY=1s"}})
	on := []*System{{Cluster: c, Edge: c.Edges[0].URL}, {Cluster: c, Edge: c.Edges[1].URL}}
	ctx := context.Background()
	var agentID int64
	if err := c.DB.Get(&agentID, `SELECT id FROM users WHERE email = $1`, c.Demo.AgentEmail); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("connected-%d@example.net", time.Now().UnixNano())
	outbox := func() int {
		var n int
		if err := c.DB.Get(&n, `SELECT count(*) FROM outbox WHERE recipient = $1`, addr); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// A control: a visitor who left an address and went. A reply to them
	// after each reply here is mailed by the first job run that finds both
	// past the delay (oldest first): once it is, the reply here was looked
	// at, and left alone.
	ctrlAddr := fmt.Sprintf("control-%d@example.net", time.Now().UnixNano())
	var ctrl store.Conversation
	{
		v := dialVisitor(t, on[0])
		v.hello(on[0], "", "")
		ack := v.say("c1", "Just leaving my address.")
		if err := v.send(widget.Frame{Type: widget.FrameEmail, ID: "e1", Email: ctrlAddr}); err != nil {
			t.Fatal(err)
		}
		if _, err := v.next(widget.FrameEmail); err != nil {
			t.Fatal(err)
		}
		if err := c.DB.Get(&ctrl, `SELECT id, visitor_id FROM conversations WHERE public_id = $1`, ack.Conversation); err != nil {
			t.Fatal(err)
		}
		v.c.Close(websocket.StatusNormalClosure, "")
	}
	ctrlMailed := func() int {
		var n int
		if err := c.DB.Get(&n, `SELECT count(*) FROM outbox WHERE recipient = $1`, ctrlAddr); err != nil {
			t.Fatal(err)
		}
		return n
	}

	var token, convPublic string
	var conv store.Conversation
	for i, s := range on {
		// Connected through edge i+1 to backend i+1.
		v := dialVisitor(t, s)
		w := v.hello(s, token, convPublic)
		token = w.Token
		if i == 0 {
			ack := v.say("m1", "Hello, is my order on its way?")
			convPublic = ack.Conversation
			if err := v.send(widget.Frame{Type: widget.FrameEmail, ID: "e1", Email: addr}); err != nil {
				t.Fatal(err)
			}
			if _, err := v.next(widget.FrameEmail); err != nil {
				t.Fatal(err)
			}
			if err := c.DB.Get(&conv, `SELECT id, visitor_id FROM conversations WHERE public_id = $1`, convPublic); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "the visitor's socket known to every backend", 10*time.Second, func() bool {
			ok, err := c.Store.VisitorConnected(ctx, conv.VisitorID, 0)
			return err == nil && ok
		})
		text := "Reply " + strconv.Itoa(i+1) + ": it left the warehouse."
		if _, _, err := c.Store.AppendMessage(ctx, store.NewMessage{ConversationID: conv.ID, ClientID: "a" + strconv.Itoa(i),
			AuthorType: store.AuthorAgent, AuthorID: agentID, Body: text}); err != nil {
			t.Fatal(err)
		}
		for {
			f, err := v.next(widget.FrameMessage)
			if err != nil {
				t.Fatalf("the reply did not arrive live: %v", err)
			}
			if f.Text == text {
				break
			}
		}
		// Unread, but seen arriving: the mail jobs look at it past the 1 s
		// delay (the control's later reply is mailed) and write nothing.
		if _, _, err := c.Store.AppendMessage(ctx, store.NewMessage{ConversationID: ctrl.ID, ClientID: "control-reply-" + strconv.Itoa(i),
			AuthorType: store.AuthorAgent, AuthorID: agentID, Body: "Noted, thanks."}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the control's reply mailed", 20*time.Second, func() bool { return ctrlMailed() == i+1 })
		if n := outbox(); n != i {
			t.Fatalf("%d emails while the visitor was connected to backend %d, want %d", n, i+1, i)
		}
		v.c.Close(websocket.StatusNormalClosure, "")
		got := mp.WaitTo(t, addr, i+1, 20*time.Second)
		if last := got[len(got)-1]; !strings.Contains(last.Text, text) {
			t.Fatalf("email after leaving backend %d lacks the reply:\n%s", i+1, last.Text)
		}
	}
	waitFor(t, "the reply marks handled", 10*time.Second, func() bool {
		var n int
		c.DB.Get(&n, `SELECT count(*) FROM mail_due WHERE conversation_id = $1`, conv.ID)
		return n == 0
	})
	if n := outbox(); n != 2 {
		t.Fatalf("%d emails, want one per reply after each disconnect", n)
	}
}

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/backend/cmd/parley-load/chatsim"
	"github.com/parleychat/parley/backend/internal/events/natstest"
	"github.com/parleychat/parley/widget"
)

// TestScaleOut runs two backends and two edges on one database: edge 1
// links to backend 1 only, edge 2 to backend 2 only. A visitor on edge 1
// and an agent signed in on backend 2 (through edge 2) chat live both ways;
// the only path between the two backends is the bus: PostgreSQL's
// LISTEN/NOTIFY, then NATS (BUS_URL) with the same checks.
func TestScaleOut(t *testing.T) {
	t.Run("listen-notify", func(t *testing.T) { scaleOut(t, nil) })
	t.Run("nats", func(t *testing.T) {
		scaleOut(t, []string{"BUS_URL=" + natstest.Start(t).URL()})
	})
}

func scaleOut(t *testing.T, env []string) {
	c := StartCluster(t, ClusterOptions{Backends: 2, Edges: 2, Env: env})
	edge1, edge2 := c.Edges[0], c.Edges[1]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	agent, err := chatsim.SignIn(ctx, edge2.URL, c.Demo.AgentEmail, c.Demo.AgentPass)
	if err != nil {
		t.Fatal(err)
	}
	// The agent's list socket, open before the visitor says anything: the
	// new conversation must be pushed to it.
	list, err := agent.DialLive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer list.CloseNow()
	if err := chatsim.WriteLive(ctx, list, "list", 0, 0); err != nil {
		t.Fatal(err)
	}
	if f := readLiveFrame(t, ctx, list, "list"); len(f.Items) != 0 {
		t.Fatalf("list before any chat: %+v", f.Items)
	}

	frames := make(chan widget.Frame, 64)
	visitor := chatsim.NewVisitor(chatsim.VisitorConfig{Edge: edge1.URL, Site: c.Demo.Site, Chatflow: c.Demo.ChatflowID,
		IDPrefix: "v1", OnFrame: func(f widget.Frame) { frames <- f }})
	vctx, vstop := context.WithCancel(ctx)
	vdone := make(chan struct{})
	go func() { defer close(vdone); visitor.Run(vctx) }()
	defer func() { vstop(); <-vdone }()
	waitFor(t, "the visitor's welcome on edge 1", 10*time.Second, visitor.Connected)

	// Visitor → agent: stored by backend 1, pushed to the agent by backend 2.
	sent := time.Now()
	if _, err := visitor.Send(ctx, "Hello from edge 1 <b>bold?</b>"); err != nil {
		t.Fatal(err)
	}
	// The conversation is pushed when it opens, then again with its first message.
	var item *chatsim.ListItem
	for item == nil || !strings.Contains(item.Preview, "Hello from edge 1") {
		f := readLiveFrame(t, ctx, list, "rows")
		for i := range f.Items {
			if item = &f.Items[i]; item.PublicID == "" {
				t.Fatalf("list push without a conversation: %+v", item)
			}
		}
	}
	t.Logf("new conversation on the agent's list (backend 2) %v after the visitor's send (backend 1)", time.Since(sent).Round(time.Millisecond))
	waitFor(t, "the visitor's acknowledgement", 5*time.Second, func() bool { return visitor.Unsent() == 0 })
	if visitor.Conversation() != item.PublicID {
		t.Fatalf("visitor's conversation %q, agent's list shows %q", visitor.Conversation(), item.PublicID)
	}

	thread, err := agent.DialLive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer thread.CloseNow()
	if err := chatsim.WriteLive(ctx, thread, "subscribe", item.ID, 0); err != nil {
		t.Fatal(err)
	}
	if f := readLiveFrame(t, ctx, thread, "message"); f.Seq != 1 || f.From != widget.FromVisitor || f.Text != "Hello from edge 1 <b>bold?</b>" {
		t.Fatalf("thread catch-up: %+v", f)
	}
	// A message while the agent watches the thread arrives by push.
	sent = time.Now()
	visitor.Send(ctx, "Are you there?")
	if f := readLiveFrame(t, ctx, thread, "message"); f.Seq != 2 || f.Text != "Are you there?" {
		t.Fatalf("live message on backend 2: %+v", f)
	}
	t.Logf("visitor (edge 1, backend 1) → agent socket (backend 2): %v", time.Since(sent).Round(time.Millisecond))

	// Agent → visitor: stored by backend 2 through the reply form, pushed
	// to the visitor's socket by backend 1 through edge 1.
	sent = time.Now()
	seq, err := agent.Reply(ctx, item.ID, "reply-1", "Yes! How can I help?")
	if err != nil || seq != 3 {
		t.Fatalf("reply: seq %d, %v", seq, err)
	}
	for {
		f := nextFrame(t, ctx, frames)
		if f.Type == widget.FrameMessage && f.From == widget.FromAgent {
			if f.Seq != 3 || f.Text != "Yes! How can I help?" || f.Name == "" {
				t.Fatalf("agent's reply at the visitor: %+v", f)
			}
			break
		}
	}
	t.Logf("agent reply (backend 2) → visitor socket (edge 1, backend 1): %v", time.Since(sent).Round(time.Millisecond))
	if f := readLiveFrame(t, ctx, thread, "message"); f.Seq != 3 || f.From != widget.FromAgent {
		t.Fatalf("the agent's own reply on its thread socket: %+v", f)
	}

	// The visitor saw everything once, in order, and reconnected never.
	var got []string
	for _, e := range visitor.Entries() {
		got = append(got, e.From+":"+e.Text)
	}
	want := []string{"visitor:Hello from edge 1 <b>bold?</b>", "visitor:Are you there?", "agent:Yes! How can I help?"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("visitor shows %q, want %q", got, want)
	}
	if visitor.Dials() != 1 {
		t.Fatalf("the visitor dialed %d times; the chat should have needed one socket", visitor.Dials())
	}
}

// readLiveFrame reads live-socket frames until one of type typ, within 10 s.
func readLiveFrame(t *testing.T, ctx context.Context, c *websocket.Conn, typ string) chatsim.LiveFrame {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		f, err := chatsim.ReadLive(rctx, c)
		if err != nil {
			t.Fatalf("no %q frame on the live socket: %v", typ, err)
		}
		if f.Type == typ {
			return f
		}
	}
}

// nextFrame returns the visitor's next frame from the server, within 10 s.
func nextFrame(t *testing.T, ctx context.Context, frames <-chan widget.Frame) widget.Frame {
	t.Helper()
	select {
	case f := <-frames:
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no frame for the visitor within 10s")
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	return widget.Frame{}
}

// waitFor polls cond every 20 ms until it holds.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

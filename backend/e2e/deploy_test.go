package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/cmd/parley-load/chatsim"
	"github.com/parleychat/parley/widget"
)

// failover is a TCP front for several edges, as a load balancer is: each
// new connection goes to the first edge that accepts it.
func failover(t *testing.T, edges ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer in.Close()
				var out net.Conn
				for _, e := range edges {
					if out, err = net.DialTimeout("tcp", e, time.Second); err == nil {
						break
					}
				}
				if out == nil {
					return
				}
				defer out.Close()
				go func() { io.Copy(out, in); out.(*net.TCPConn).CloseWrite() }()
				io.Copy(in, out)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// TestEdgeSIGTERMMidConversation deploys an edge while a visitor chats
// through it: two edges behind one address, SIGTERM to the visitor's. The
// edge closes the socket with 1012 (service restart) and exits within its
// drain time; the widget reconnects at once, through the same address, to
// the other edge; every message of both sides arrives exactly once.
func TestEdgeSIGTERMMidConversation(t *testing.T) {
	const drain = 3 * time.Second
	c := StartCluster(t, ClusterOptions{Edges: 2, Env: []string{"EDGE_DRAIN_TIME=" + drain.String()}})
	front := failover(t, c.Edges[0].Addr, c.Edges[1].Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	agent, err := chatsim.SignIn(ctx, c.Edges[1].URL, c.Demo.AgentEmail, c.Demo.AgentPass)
	if err != nil {
		t.Fatal(err)
	}
	type closing struct {
		code  int
		delay time.Duration
		at    time.Time
	}
	var mu sync.Mutex
	var closes []closing
	var welcomedAt []time.Time
	v := chatsim.NewVisitor(chatsim.VisitorConfig{Edge: front, Site: c.Demo.Site, Chatflow: c.Demo.ChatflowID, IDPrefix: "d",
		OnClose: func(code int, delay time.Duration) {
			mu.Lock()
			closes = append(closes, closing{code, delay, time.Now()})
			mu.Unlock()
		},
		OnFrame: func(f widget.Frame) {
			if f.Type == widget.FrameWelcome {
				mu.Lock()
				welcomedAt = append(welcomedAt, time.Now())
				mu.Unlock()
			}
		}})
	vctx, vstop := context.WithCancel(ctx)
	vdone := make(chan struct{})
	go func() { defer close(vdone); v.Run(vctx) }()
	defer func() { vstop(); <-vdone }()
	waitFor(t, "the visitor's welcome", 10*time.Second, v.Connected)
	if !strings.Contains(c.Edges[0].Log(), "edge listening") {
		t.Fatal("edge 1 is not up")
	}

	var want []string
	say := func(i int) {
		text := fmt.Sprintf("visitor %02d", i)
		want = append(want, "visitor:"+text)
		if _, err := v.Send(ctx, text); err != nil {
			t.Error(err)
		}
	}
	for i := range 5 {
		say(i)
	}
	waitFor(t, "the first messages stored", 10*time.Second, func() bool { return v.Unsent() == 0 && v.Conversation() != "" })
	var conv int64
	if err := c.DB.Get(&conv, `SELECT id FROM conversations WHERE public_id = $1`, v.Conversation()); err != nil {
		t.Fatal(err)
	}
	reply := func(n int) {
		text := fmt.Sprintf("agent %d", n)
		want = append(want, "agent:"+text)
		if _, err := agent.Reply(ctx, conv, fmt.Sprintf("a%d", n), text); err != nil {
			t.Fatal(err)
		}
	}
	reply(1)
	waitFor(t, "the first reply at the visitor", 10*time.Second, func() bool { return len(v.Entries()) == 6 })

	// The deploy begins while the visitor is typing away: messages go out
	// every 10 ms, before, during and after the SIGTERM.
	edge1 := c.Edges[0]
	var termAt time.Time
	for i := 5; i < 25; i++ {
		say(i)
		if i == 10 {
			termAt = time.Now()
			edge1.p.cmd.Process.Signal(syscall.SIGTERM)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-edge1.p.done:
	case <-time.After(drain + 2*time.Second):
		t.Fatalf("edge 1 still runs %v after SIGTERM (drain time %v)", time.Since(termAt), drain)
	}
	exited := time.Since(termAt)
	reply(2)
	waitFor(t, "every message stored", 15*time.Second, func() bool { return v.Unsent() == 0 })
	reply(3)

	// The visitor shows everything once: its own messages in order, the replies in order.
	waitFor(t, "the whole conversation at the visitor", 15*time.Second, func() bool { return len(v.Entries()) >= len(want) })
	var got []string
	for _, e := range v.Entries() {
		got = append(got, e.From+":"+e.Text)
	}
	same := func(from string) bool {
		var a, b []string
		for _, s := range got {
			if strings.HasPrefix(s, from) {
				a = append(a, s)
			}
		}
		for _, s := range want {
			if strings.HasPrefix(s, from) {
				b = append(b, s)
			}
		}
		return strings.Join(a, "|") == strings.Join(b, "|")
	}
	if len(got) != len(want) || !same("visitor:") || !same("agent:") {
		t.Fatalf("the visitor shows\n%q\nwant (each once, in order per side)\n%q", got, want)
	}
	var stored, distinct int
	if err := c.DB.QueryRow(`SELECT count(*), count(DISTINCT body) FROM messages WHERE conversation_id = $1`, conv).Scan(&stored, &distinct); err != nil {
		t.Fatal(err)
	}
	if stored != len(want) || distinct != len(want) {
		t.Fatalf("stored %d messages (%d distinct), want %d", stored, distinct, len(want))
	}

	mu.Lock()
	defer mu.Unlock()
	if len(closes) != 1 || closes[0].code != widget.CloseServiceRestart || closes[0].delay != 0 {
		t.Fatalf("socket closes %+v, want one 1012 answered by an immediate reconnect", closes)
	}
	if len(welcomedAt) != 2 || v.Dials() != 2 {
		t.Fatalf("%d welcomes, %d dials; want 2 of each (the other edge took the reconnect)", len(welcomedAt), v.Dials())
	}
	t.Logf("SIGTERM → 1012 at the visitor %v; welcomed again (edge 2) %v after the close; edge 1 exited %v after SIGTERM (drain time %v)",
		closes[0].at.Sub(termAt).Round(time.Millisecond), welcomedAt[1].Sub(closes[0].at).Round(time.Millisecond),
		exited.Round(time.Millisecond), drain)
}

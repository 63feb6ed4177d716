package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/widget"
)

// visitorConn is a raw visitor socket through the edge, speaking the protocol as the widget does.
type visitorConn struct {
	t *testing.T
	c *websocket.Conn
}

func dialVisitor(t *testing.T, s *System) *visitorConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(s.Edge, "http", "ws", 1)+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return &visitorConn{t: t, c: c}
}

func (v *visitorConn) send(f widget.Frame) error {
	b, _ := json.Marshal(f)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return v.c.Write(ctx, websocket.MessageText, b)
}

// next reads frames until one of type typ arrives.
func (v *visitorConn) next(typ string) (widget.Frame, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, b, err := v.c.Read(ctx)
		if err != nil {
			return widget.Frame{}, err
		}
		var f widget.Frame
		if err := json.Unmarshal(b, &f); err != nil {
			v.t.Fatalf("server sent non-JSON %q", b)
		}
		if f.Type == typ {
			return f, nil
		}
	}
}

func (v *visitorConn) hello(s *System, token, conv string) widget.Frame {
	v.t.Helper()
	if err := v.send(widget.Frame{Type: widget.FrameHello, V: widget.ProtocolVersion, Site: s.Demo.Site, Chatflow: s.Demo.ChatflowID, Token: token, Conversation: conv}); err != nil {
		v.t.Fatal(err)
	}
	w, err := v.next(widget.FrameWelcome)
	if err != nil {
		v.t.Fatalf("no welcome: %v", err)
	}
	return w
}

func (v *visitorConn) say(id, text string) widget.Frame {
	v.t.Helper()
	if err := v.send(widget.Frame{Type: widget.FrameSend, ID: id, Text: text}); err != nil {
		v.t.Fatal(err)
	}
	ack, err := v.next(widget.FrameAck)
	if err != nil || ack.ID != id {
		v.t.Fatalf("ack for %s: %v %+v", id, err, ack)
	}
	return ack
}

// TestOversizeFrameClosesOnlyThatSocket sends a frame over the limit through
// the real edge: that socket closes with 1009, another visitor chats on.
func TestOversizeFrameClosesOnlyThatSocket(t *testing.T) {
	s := StartSystem(t)
	a, b := dialVisitor(t, s), dialVisitor(t, s)
	a.hello(s, "", "")
	b.hello(s, "", "")

	big := widget.Frame{Type: widget.FrameSend, ID: "m1", Text: strings.Repeat("x", widget.MaxFrameBytes+1)}
	a.send(big) // the edge may close before the write completes
	_, err := a.next(widget.FrameAck)
	if got := websocket.CloseStatus(err); got != websocket.StatusMessageTooBig {
		t.Fatalf("oversize frame: close status %v (%v), want 1009", got, err)
	}

	ack := b.say("b1", "still here")
	if ack.Seq != 1 {
		t.Fatalf("other visitor's ack %+v", ack)
	}
	var n int
	if err := s.DB.Get(&n, `SELECT count(*) FROM messages`); err != nil || n != 1 {
		t.Fatalf("stored %d messages (%v), want only the other visitor's", n, err)
	}
}

// TestForeignConversationRefused: a visitor naming another visitor's
// conversation is refused with 4403 and sees none of it.
func TestForeignConversationRefused(t *testing.T) {
	s := StartSystem(t)
	owner := dialVisitor(t, s)
	owner.hello(s, "", "")
	ack := owner.say("o1", "my private question")

	for _, name := range []string{"new visitor", "another visitor's token"} {
		t.Run(name, func(t *testing.T) {
			token := ""
			if name == "another visitor's token" {
				other := dialVisitor(t, s)
				token = other.hello(s, "", "").Token
			}
			intruder := dialVisitor(t, s)
			intruder.send(widget.Frame{Type: widget.FrameHello, V: widget.ProtocolVersion, Site: s.Demo.Site, Chatflow: s.Demo.ChatflowID, Token: token, Conversation: ack.Conversation})
			for {
				f, err := intruder.next(widget.FrameError)
				if err != nil {
					if got := websocket.CloseStatus(err); got != widget.CloseForbidden {
						t.Fatalf("close status %v (%v), want %d", got, err, widget.CloseForbidden)
					}
					return
				}
				if f.Code != widget.ErrForbidden {
					t.Fatalf("error %+v, want forbidden", f)
				}
				if strings.Contains(f.Message, "private question") {
					t.Fatal("leaked the conversation")
				}
			}
		})
	}

	// A token that does not exist gets a fresh anonymous identity, not the conversation.
	v := dialVisitor(t, s)
	w := v.hello(s, "made-up-token", "")
	if w.Token == "made-up-token" || w.Token == "" || w.Conversation != "" {
		t.Fatalf("welcome for a made-up token: %+v", w)
	}
}

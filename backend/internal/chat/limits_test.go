package chat_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/chat"
	"github.com/parleychat/parley/internal/link"
	"github.com/parleychat/parley/widget"
)

// One visitor token holds at most MaxSocketsPerVisitor sockets on a
// backend; a closed one frees its place.
func TestSocketsPerVisitorTokenAreCapped(t *testing.T) {
	w := newWorld(t, func(c *chat.Config) { c.MaxSocketsPerVisitor = 3 })
	l := w.link(t)
	first := l.open()
	first.send(hello("", "", 0))
	token := first.next(t, widget.FrameWelcome).Token
	held := []*testSession{first}
	for range 2 {
		s := l.open()
		s.send(hello(token, "", 0))
		s.next(t, widget.FrameWelcome)
		held = append(held, s)
	}
	extra := l.open()
	extra.send(hello(token, "", 0))
	extra.errorCode(t, widget.ErrTooManySockets)
	extra.expectClose(t, widget.CloseRateLimited)
	// Another visitor is not affected.
	other := l.open()
	other.send(hello("", "", 0))
	other.next(t, widget.FrameWelcome)
	// Closing one socket lets the next in (the edge tells the backend).
	held[0].closeSocket()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := l.open()
		s.send(hello(token, "", 0))
		f := s.nextAny(t)
		if f.Type == widget.FrameWelcome {
			break
		}
		if f.Code != widget.ErrTooManySockets || time.Now().After(deadline) {
			t.Fatalf("after a close: %+v", f)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// One client address makes at most NewVisitorsPerAddress new visitors per
// window; visitors with a token carry on, and another address is not affected.
func TestNewVisitorsPerAddressAreCapped(t *testing.T) {
	w := newWorld(t, func(c *chat.Config) { c.NewVisitorsPerAddress = 3; c.NewVisitorsWindow = time.Hour })
	l := w.link(t)
	var token string
	for i := range 3 {
		s := l.open()
		s.send(hello("", "", 0))
		wel := s.next(t, widget.FrameWelcome)
		if i == 0 {
			token = wel.Token
		}
	}
	s := l.open()
	s.send(hello("", "", 0))
	s.errorCode(t, widget.ErrTooManyVisitors)
	s.expectClose(t, widget.CloseRateLimited)
	if n := w.count(t, `SELECT count(*) FROM visitors`); n != 3 {
		t.Fatalf("%d visitor rows, want 3", n)
	}
	// A known token is no new visitor.
	r := l.open()
	r.send(hello(token, "", 0))
	if wel := r.next(t, widget.FrameWelcome); wel.Token != token {
		t.Fatalf("returning visitor got %+v", wel)
	}
	// Another address.
	o := l.openFrom("203.0.113.9")
	o.send(hello("", "", 0))
	o.next(t, widget.FrameWelcome)
}

// openFrom opens a session whose visitor connects from address ip.
func (l *testLink) openFrom(ip string) *testSession {
	l.mu.Lock()
	l.next++
	s := &testSession{l: l, id: l.next, events: make(chan event, 1000)}
	l.sess[s.id] = s
	l.mu.Unlock()
	b, _ := json.Marshal(link.Envelope{Session: s.id, Kind: link.Open, Meta: &link.Meta{RemoteIP: ip, UserAgent: "TestBrowser/1.0"}})
	l.write(b)
	return s
}

// closeSocket tells the backend the visitor's socket closed, as the edge does.
func (s *testSession) closeSocket() {
	b, _ := json.Marshal(link.Envelope{Session: s.id, Kind: link.Close})
	s.l.write(b)
}

// nextAny returns the next frame but presence, failing on a close or silence.
func (s *testSession) nextAny(t *testing.T) widget.Frame {
	t.Helper()
	for {
		select {
		case ev := <-s.events:
			if ev.closed != nil {
				t.Fatalf("session closed (%d %s)", ev.closed.Code, ev.closed.Reason)
			}
			if ev.frame.Type != widget.FramePresence {
				return ev.frame
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no frame within 5s")
		}
	}
}

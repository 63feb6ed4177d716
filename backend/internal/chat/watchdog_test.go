package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/backend/internal/chat"
	"github.com/parleychat/parley/internal/link"
	"github.com/parleychat/parley/widget"
)

// smallSendBuffers shrinks the kernel's send buffer of every connection it
// accepts: a peer that stops reading then blocks the server's writes after
// kilobytes rather than the megabytes loopback would buffer.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4 << 10)
	}
	return c, err
}

// dialStuckLink dials a link whose socket has a small receive buffer; its
// caller never reads from it, as an edge that hangs.
func dialStuckLink(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	var d net.Dialer
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetReadBuffer(4 << 10)
			}
			return c, err
		},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+link.Path, &websocket.DialOptions{
		HTTPClient: client,
		HTTPHeader: http.Header{"Authorization": {"Bearer " + secret}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return conn
}

// A link whose edge stops reading is dropped once a write to it has taken
// WriteTimeout, and the backend's other links go on meanwhile.
func TestLinkStuckInAWriteIsDropped(t *testing.T) {
	const writeTimeout = 300 * time.Millisecond
	w := newWorld(t, func(c *chat.Config) { c.WriteTimeout = writeTimeout })
	mux := http.NewServeMux()
	mux.Handle(link.Path, w.engine.LinkHandler())
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener = smallSendBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(srv.Close)

	healthy := w.link(t)
	hs, _, _ := w.chat(t, healthy, "before")

	// The stuck edge's visitor says hello and sends long messages: each
	// is acked and echoed, far more than the socket buffers hold.
	stuck := dialStuckLink(t, srv.URL)
	write := func(b []byte) error { return stuck.Write(context.Background(), websocket.MessageText, b) }
	open, _ := json.Marshal(link.Envelope{Session: 1, Kind: link.Open, Meta: &link.Meta{RemoteIP: "192.0.2.7", UserAgent: "TestBrowser/1.0"}})
	data := func(f widget.Frame) []byte {
		b, _ := json.Marshal(f)
		return []byte(fmt.Sprintf(`{"s":1,"k":"data","f":%s}`, b))
	}
	must(t, write(open))
	must(t, write(data(hello("", "", 0))))
	text := strings.Repeat("x", widget.MaxTextRunes)
	start := time.Now()
	for i := range 40 {
		must(t, write(data(widget.Frame{Type: widget.FrameSend, ID: fmt.Sprint("m", i), Text: text})))
	}
	// Keep-alives until a write fails: the backend has closed the link.
	// Without the watchdog its write would block until the edge read.
	dropped := make(chan error, 1)
	go func() {
		ping := data(widget.Frame{Type: widget.FramePing})
		for {
			if err := write(ping); err != nil {
				dropped <- err
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()

	deadline := time.After(5 * time.Second)
	for i := 0; ; i++ {
		select {
		case err := <-dropped:
			took := time.Since(start)
			if took < writeTimeout {
				t.Fatalf("link dropped after %v, before any write could have taken %v (%v)", took, writeTimeout, err)
			}
			t.Logf("stuck link dropped after %v (%v); %d messages on the healthy link meanwhile", took, err, i)
			// The other link carries on.
			hs.send(widget.Frame{Type: widget.FrameSend, ID: "after", Text: "after"})
			hs.next(t, widget.FrameAck)
			if m := hs.next(t, widget.FrameMessage); m.Text != "after" {
				t.Fatalf("echo after the drop: %+v", m)
			}
			select {
			case <-healthy.gone:
				t.Fatal("the healthy link was dropped too")
			default:
			}
			return
		case <-deadline:
			t.Fatal("a link stuck in a write is still up after 5s")
		default:
		}
		// Meanwhile the healthy link's visitor chats on.
		id := fmt.Sprint("h", i)
		hs.send(widget.Frame{Type: widget.FrameSend, ID: id, Text: id})
		if a := hs.next(t, widget.FrameAck); a.ID != id {
			t.Fatalf("ack %+v, want %s", a, id)
		}
		hs.next(t, widget.FrameMessage)
	}
}

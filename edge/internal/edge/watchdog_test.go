package edge

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/internal/link"
	"github.com/parleychat/parley/widget"
)

// smallBuffers shrinks the kernel's buffers of every connection it accepts:
// a peer that stops reading then blocks writes after kilobytes rather than
// the megabytes loopback would buffer. Accept returns the *net.TCPConn
// itself, so the edge still finds its raw socket.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetReadBuffer(4 << 10)
		tc.SetWriteBuffer(4 << 10)
	}
	return c, err
}

// stallBackend is a link endpoint with small socket buffers. It echoes
// every send as a message frame, as fakeBackend does; with stallNext set,
// the link that next opens a session stops reading for good; a send of
// "flood" is answered with floodFrames long message frames instead.
type stallBackend struct {
	t         *testing.T
	links     atomic.Int64
	stallNext atomic.Bool
	stalled   chan time.Time // when a link stopped reading
	flooded   chan uint64    // a session whose flood has been written to the link
	stop      chan struct{}  // closed at cleanup: a stalled link lets go
	floodText string

	mu     sync.Mutex
	closed map[uint64]bool
}

const floodFrames = 64

func newStallBackend(t *testing.T) (*stallBackend, *httptest.Server) {
	fb := &stallBackend{
		t:         t,
		stalled:   make(chan time.Time, 1),
		flooded:   make(chan uint64, 1),
		stop:      make(chan struct{}),
		floodText: strings.Repeat("f", widget.MaxFrameBytes-1024),
		closed:    map[uint64]bool{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc(link.Path, fb.serveLink)
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = smallBuffers{listenSmallSegments(t)}
	srv.Start()
	t.Cleanup(func() { close(fb.stop); srv.Close() })
	return fb, srv
}

func (fb *stallBackend) serveLink(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	fb.links.Add(1)
	send := func(env link.Envelope) {
		b, _ := json.Marshal(env)
		c.Write(context.Background(), websocket.MessageText, b)
	}
	var seq int64
	for {
		_, data, err := c.Read(context.Background())
		if err != nil {
			return
		}
		stall := false
		err = link.Decode(data, func(env link.Envelope) {
			switch env.Kind {
			case link.Open:
				stall = stall || fb.stallNext.CompareAndSwap(true, false)
			case link.Close:
				fb.mu.Lock()
				fb.closed[env.Session] = true
				fb.mu.Unlock()
			case link.Data:
				var f widget.Frame
				json.Unmarshal(env.Frame, &f)
				n := 1
				if f.Text == "flood" {
					n, f.Text = floodFrames, fb.floodText
				}
				for range n {
					seq++
					mf, _ := json.Marshal(widget.Frame{Type: widget.FrameMessage, Seq: seq, ID: f.ID, From: widget.FromVisitor, Text: f.Text})
					send(link.Envelope{Session: env.Session, Kind: link.Data, Frame: mf})
				}
				if n == floodFrames {
					fb.flooded <- env.Session
				}
			}
		})
		if err != nil {
			fb.t.Errorf("edge sent a bad link message: %v", err)
			return
		}
		if stall {
			fb.stalled <- time.Now()
			<-fb.stop // never reads again: the edge's writes fill the buffers and block
			return
		}
	}
}

func (fb *stallBackend) sawClose(id uint64) bool {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	return fb.closed[id]
}

// closeWatch reads a visitor socket in the background and reports the
// close code it ends with.
func closeWatch(v *visitor) <-chan websocket.StatusCode {
	ch := make(chan websocket.StatusCode, 1)
	go func() {
		for {
			if _, _, err := v.c.Read(context.Background()); err != nil {
				ch <- websocket.CloseStatus(err)
				return
			}
		}
	}()
	return ch
}

// A link the backend stops reading is dropped once a write to it has
// taken WriteTimeout (the link's pings come far later): its visitors are
// closed with try-again, the pool redials, and the other link serves its
// visitors meanwhile.
func TestLinkStuckInAWriteIsDropped(t *testing.T) {
	const writeTimeout = 300 * time.Millisecond
	fb, backend := newStallBackend(t)
	srv, edge := startEdge(t, backend.URL, Settings{
		LinkCount: 2, LinkQueue: 4, WriteTimeout: writeTimeout,
		RateBurst: 1 << 20, RatePerSecond: 1 << 20,
	}, 2)

	// a's session stalls its link; b's goes on the other, least loaded one.
	fb.stallNext.Store(true)
	a := dialVisitor(t, edge.URL)
	var stalledAt time.Time
	select {
	case stalledAt = <-fb.stalled:
	case <-time.After(5 * time.Second):
		t.Fatal("no session opened")
	}
	b := dialVisitor(t, edge.URL)
	b.echo("b before")

	// a sends long frames until the edge can no longer take them: they
	// fill the stalled link's buffers and its writer's queue.
	aClosed := closeWatch(a)
	frame := []byte(`{"type":"send","id":"a","text":"` + strings.Repeat("a", widget.MaxFrameBytes-1024) + `"}`)
	var sent atomic.Int64
	go func() {
		for a.c.Write(context.Background(), websocket.MessageText, frame) == nil {
			sent.Add(int64(len(frame)))
		}
	}()

	// Meanwhile b's echoes go on the other link, now and then (not in a
	// tight loop, which would slow a's flood on a busy machine).
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(5 * time.Second)
	for i := 0; ; {
		select {
		case code := <-aClosed:
			took := time.Since(stalledAt)
			if code != widget.CloseTryAgain {
				t.Fatalf("a closed with %d, want %d", code, widget.CloseTryAgain)
			}
			if took < writeTimeout {
				t.Fatalf("link dropped %v after it stalled, before a write could have taken %v", took, writeTimeout)
			}
			t.Logf("stalled link dropped after %v, %d kB sent; %d echoes on the other link meanwhile", took, sent.Load()>>10, i)
			waitFor(t, "the pool to redial", func() bool { return fb.links.Load() == 3 && srv.Pool.Live() == 2 })
			b.echo("b after")
			dialVisitor(t, edge.URL).echo("c after")
			return
		case <-deadline:
			t.Fatal("a link stuck in a write is still up 5s after it stalled")
		case <-tick.C:
			b.echo("b during")
			i++
		}
	}
}

// startSmallBufferEdge is startEdge with small socket buffers for visitors.
func startSmallBufferEdge(t *testing.T, backendURL string, s Settings, wantLinks int) (*Server, *httptest.Server) {
	t.Helper()
	s.BackendURL = backendURL
	s.LinkSecret = "s3cret"
	s.PublicDir = t.TempDir()
	s.BuildDir = t.TempDir()
	srv, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv)
	hs.Listener = smallBuffers{hs.Listener}
	hs.Start()
	t.Cleanup(func() { hs.Close(); srv.Close() })
	waitFor(t, "links up", func() bool { return srv.Pool.Live() == wantLinks })
	return srv, hs
}

// dialStuckVisitor dials /ws with a small receive buffer; its caller never
// reads from it, as a visitor whose device hangs.
func dialStuckVisitor(t *testing.T, edgeURL string) *visitor {
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
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(edgeURL, "http")+"/ws", &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return &visitor{t: t, c: c}
}

// A visitor that stops reading is closed once a write to it has taken
// WriteTimeout, and meanwhile the other visitors on the same link get
// their frames.
func TestVisitorStuckInAWriteIsClosed(t *testing.T) {
	const writeTimeout = time.Second
	fb, backend := newStallBackend(t)
	_, edge := startSmallBufferEdge(t, backend.URL, Settings{LinkCount: 1, WriteTimeout: writeTimeout}, 1)

	// a asks for a flood of frames, more than the socket buffers hold but
	// fewer than the visitor queue (the "too slow" close is not at stake),
	// and never reads them.
	a := dialStuckVisitor(t, edge.URL)
	b := dialVisitor(t, edge.URL)
	b.echo("b before")
	start := time.Now()
	a.send(widget.Frame{Type: widget.FrameSend, ID: "flood", Text: "flood"})
	var aID uint64
	select {
	case aID = <-fb.flooded:
	case <-time.After(5 * time.Second):
		t.Fatal("no flood")
	}

	// b's echo comes after a's flood on the link: a's writes are stuck
	// by the time it arrives, and must not hold it up.
	b.echo("b during")
	if fb.sawClose(aID) {
		t.Fatalf("a closed before b's echo came through: b waited for a's write to time out")
	}

	waitFor(t, "a's session to be closed", func() bool { return fb.sawClose(aID) })
	took := time.Since(start)
	if took < writeTimeout {
		t.Fatalf("a closed after %v, before a write to it could have taken %v", took, writeTimeout)
	}
	t.Logf("stuck visitor closed after %v", took)
	b.echo("b after")
}

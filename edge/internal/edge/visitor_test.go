package edge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/internal/link"
	"github.com/parleychat/parley/widget"
)

// fakeBackend is a real link endpoint scripted for the tests: it echoes
// every data frame back as a message frame, answers a send of "close-me"
// with an error frame and a 4403 close, and records what it saw.
type fakeBackend struct {
	t     *testing.T
	links atomic.Int64 // link connections accepted in all

	mu     sync.Mutex
	conns  []*websocket.Conn
	opened map[uint64]link.Meta
	closed map[uint64]bool
}

func newFakeBackend(t *testing.T) (*fakeBackend, *httptest.Server) {
	fb := &fakeBackend{t: t, opened: map[uint64]link.Meta{}, closed: map[uint64]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc(link.Path, fb.serveLink)
	mux.HandleFunc("/internal/sites/{site}/config", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(widget.Config{Site: r.PathValue("site"), Chatflows: []widget.ChatflowConfig{}})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/inbox/ws" {
			c, err := websocket.Accept(w, r, nil) // same-origin check against the public Host
			if err != nil {
				return
			}
			defer c.CloseNow()
			typ, msg, err := c.Read(r.Context())
			if err == nil {
				c.Write(r.Context(), typ, append([]byte("inbox got "), msg...))
			}
			c.Close(websocket.StatusNormalClosure, "")
			return
		}
		json.NewEncoder(w).Encode(map[string]string{
			"path": r.URL.Path, "host": r.Host,
			"xff": r.Header.Get("X-Forwarded-For"), "proto": r.Header.Get("X-Forwarded-Proto"),
		})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return fb, srv
}

func (fb *fakeBackend) serveLink(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer s3cret" {
		http.Error(w, "unauthorised", http.StatusUnauthorized)
		return
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	c.SetReadLimit(1 << 20)
	fb.links.Add(1)
	fb.mu.Lock()
	fb.conns = append(fb.conns, c)
	fb.mu.Unlock()
	ctx := context.Background()
	var seq atomic.Int64
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		var envs []link.Envelope
		if err := link.Decode(data, func(env link.Envelope) { envs = append(envs, env) }); err != nil {
			fb.t.Errorf("edge sent a bad link message %q: %v", data, err)
			return
		}
		for _, env := range envs {
			func() {
				switch env.Kind {
				case link.Open:
					fb.mu.Lock()
					fb.opened[env.Session] = *env.Meta
					fb.mu.Unlock()
				case link.Close:
					fb.mu.Lock()
					fb.closed[env.Session] = true
					fb.mu.Unlock()
				case link.Data:
					var f widget.Frame
					if err := json.Unmarshal(env.Frame, &f); err != nil {
						fb.t.Errorf("frame %q not relayed verbatim: %v", env.Frame, err)
						return
					}
					if f.Text == "close-me" {
						ef, _ := json.Marshal(widget.Frame{Type: widget.FrameError, Code: widget.ErrForbidden, Message: "not yours"})
						fb.send(c, link.Envelope{Session: env.Session, Kind: link.Data, Frame: ef})
						fb.send(c, link.Envelope{Session: env.Session, Kind: link.Close, Code: widget.CloseForbidden, Reason: "forbidden"})
						return
					}
					mf, _ := json.Marshal(widget.Frame{Type: widget.FrameMessage, Seq: seq.Add(1), ID: f.ID, From: widget.FromVisitor, Text: f.Text})
					fb.send(c, link.Envelope{Session: env.Session, Kind: link.Data, Frame: mf})
				}
			}()
		}
	}
}

func (fb *fakeBackend) send(c *websocket.Conn, env link.Envelope) {
	b, _ := json.Marshal(env)
	c.Write(context.Background(), websocket.MessageText, b)
}

// dropLinks closes every link from the backend's side, as a backend crash would.
func (fb *fakeBackend) dropLinks() {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	for _, c := range fb.conns {
		c.CloseNow()
	}
	fb.conns = nil
}

func (fb *fakeBackend) sawClose(id uint64) bool {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	return fb.closed[id]
}

// startEdge runs a whole edge against backendURL and waits for its links.
func startEdge(t *testing.T, backendURL string, s Settings, wantLinks int) (*Server, *httptest.Server) {
	t.Helper()
	s.BackendURL = backendURL
	s.LinkSecret = "s3cret"
	s.PublicDir = t.TempDir()
	s.BuildDir = t.TempDir()
	s.LinkBackoffMin = 20 * time.Millisecond
	s.LinkBackoffMax = 100 * time.Millisecond
	srv, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	waitFor(t, "links up", func() bool { return srv.Pool.Live() == wantLinks })
	return srv, hs
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// visitor is a test client of /ws.
type visitor struct {
	t *testing.T
	c *websocket.Conn
}

func dialVisitor(t *testing.T, edgeURL string) *visitor {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(edgeURL, "http")+"/ws", &websocket.DialOptions{
		HTTPHeader: http.Header{"Origin": {"https://shop.example.com"}, "User-Agent": {"test-visitor"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return &visitor{t: t, c: c}
}

func (v *visitor) send(f widget.Frame) {
	v.t.Helper()
	b, _ := json.Marshal(f)
	if err := v.c.Write(context.Background(), websocket.MessageText, b); err != nil {
		v.t.Fatalf("send: %v", err)
	}
}

// next reads one frame, or returns the close status the socket ended with.
func (v *visitor) next() (widget.Frame, websocket.StatusCode) {
	v.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, data, err := v.c.Read(ctx)
	if err != nil {
		code := websocket.CloseStatus(err)
		if code == -1 {
			v.t.Fatalf("read: %v", err)
		}
		return widget.Frame{}, code
	}
	var f widget.Frame
	if err := json.Unmarshal(data, &f); err != nil {
		v.t.Fatalf("frame %q: %v", data, err)
	}
	return f, 0
}

func (v *visitor) expect(typ string) widget.Frame {
	v.t.Helper()
	f, code := v.next()
	if code != 0 || f.Type != typ {
		v.t.Fatalf("got %+v / close %d, want a %s frame", f, code, typ)
	}
	return f
}

func (v *visitor) expectClose(want websocket.StatusCode) {
	v.t.Helper()
	for {
		f, code := v.next()
		if code == want {
			return
		}
		if code != 0 {
			v.t.Fatalf("closed with %d, want %d", code, want)
		}
		_ = f // frames queued before the close are fine
	}
}

// echo sends a message and expects the backend's echo of it.
func (v *visitor) echo(text string) {
	v.t.Helper()
	v.send(widget.Frame{Type: widget.FrameSend, ID: text, Text: text})
	if f := v.expect(widget.FrameMessage); f.Text != text {
		v.t.Fatalf("echo of %q: %+v", text, f)
	}
}

func TestVisitorRelayThroughLink(t *testing.T) {
	fb, backend := newFakeBackend(t)
	_, edge := startEdge(t, backend.URL, Settings{}, 2)

	v := dialVisitor(t, edge.URL)
	v.send(widget.Frame{Type: widget.FrameHello, V: 1, Site: "demo", Chatflow: "cf1"})
	if f := v.expect(widget.FrameMessage); f.Type != widget.FrameMessage {
		t.Fatal(f)
	}
	v.echo("hello <b>&</b> ünïcode")

	// The backend learnt who is behind the session.
	fb.mu.Lock()
	var meta link.Meta
	for _, m := range fb.opened {
		meta = m
	}
	fb.mu.Unlock()
	if meta.Origin != "https://shop.example.com" || meta.UserAgent != "test-visitor" || meta.RemoteIP != "127.0.0.1" {
		t.Fatalf("open meta = %+v", meta)
	}

	// Keep-alives are answered by the edge; bad frames get a clear error
	// and the socket stays usable.
	v.send(widget.Frame{Type: widget.FramePing})
	v.expect(widget.FramePong)
	v.c.Write(context.Background(), websocket.MessageText, []byte("not json"))
	if f := v.expect(widget.FrameError); f.Code != widget.ErrBadFrame {
		t.Fatalf("bad frame: %+v", f)
	}
	v.c.Write(context.Background(), websocket.MessageBinary, []byte(`{"type":"send"}`))
	if f := v.expect(widget.FrameError); f.Code != widget.ErrBadFrame {
		t.Fatalf("binary frame: %+v", f)
	}
	v.echo("still here")

	// A backend close delivers its error frame, then closes with its code.
	v.send(widget.Frame{Type: widget.FrameSend, ID: "x", Text: "close-me"})
	if f := v.expect(widget.FrameError); f.Code != widget.ErrForbidden {
		t.Fatalf("before close: %+v", f)
	}
	v.expectClose(widget.CloseForbidden)

	// A visitor leaving sends a close envelope for its session.
	w := dialVisitor(t, edge.URL)
	w.echo("bye")
	fb.mu.Lock()
	var last uint64
	for id := range fb.opened {
		last = max(last, id)
	}
	fb.mu.Unlock()
	w.c.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "close envelope", func() bool { return fb.sawClose(last) })
}

func TestOversizeFrameClosesOnlyThatSocket(t *testing.T) {
	_, backend := newFakeBackend(t)
	_, edge := startEdge(t, backend.URL, Settings{}, 2)
	a, b := dialVisitor(t, edge.URL), dialVisitor(t, edge.URL)
	a.echo("a1")
	b.echo("b1")

	big := strings.Repeat("x", widget.MaxFrameBytes+1)
	a.c.Write(context.Background(), websocket.MessageText, []byte(`{"type":"send","id":"big","text":"`+big+`"}`))
	a.expectClose(widget.CloseTooBig)
	b.echo("b2")
}

func TestManyVisitorsShareFewLinks(t *testing.T) {
	fb, backend := newFakeBackend(t)
	_, edge := startEdge(t, backend.URL, Settings{LinkCount: 2}, 2)
	var vs []*visitor
	for i := 0; i < 30; i++ {
		vs = append(vs, dialVisitor(t, edge.URL))
	}
	for i, v := range vs {
		v.echo("hi " + string(rune('a'+i)))
	}
	if n := fb.links.Load(); n != 2 {
		t.Fatalf("30 visitors used %d backend connections, want 2", n)
	}
	fb.mu.Lock()
	sessions := len(fb.opened)
	fb.mu.Unlock()
	if sessions != 30 {
		t.Fatalf("backend saw %d sessions, want 30", sessions)
	}
}

func TestLinkDropClosesVisitorsWithTryAgain(t *testing.T) {
	fb, backend := newFakeBackend(t)
	srv, edge := startEdge(t, backend.URL, Settings{LinkCount: 1}, 1)
	a, b := dialVisitor(t, edge.URL), dialVisitor(t, edge.URL)
	a.echo("a")
	b.echo("b")

	fb.dropLinks()
	a.expectClose(widget.CloseTryAgain)
	b.expectClose(widget.CloseTryAgain)

	// The pool redials; a reconnecting widget carries on.
	waitFor(t, "redial", func() bool { return srv.Pool.Dials() == 2 && srv.Pool.Live() == 1 })
	c := dialVisitor(t, edge.URL)
	c.echo("back again")
}

func TestNoLinkClosesWithTryAgain(t *testing.T) {
	// Nothing listens at this backend.
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	_, edge := startEdge(t, url, Settings{}, 0)
	v := dialVisitor(t, edge.URL)
	v.expectClose(widget.CloseTryAgain)

	// The rest of the edge still answers.
	resp, body := get(t, edge.URL+"/healthz", "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"links":0`) {
		t.Fatalf("healthz: %s %s", resp.Status, body)
	}
}

func TestRateLimitClosesWith4429(t *testing.T) {
	_, backend := newFakeBackend(t)
	_, edge := startEdge(t, backend.URL, Settings{RateBurst: 5, RatePerSecond: 0.01}, 2)
	v := dialVisitor(t, edge.URL)
	for i := 0; i < 8; i++ {
		v.send(widget.Frame{Type: widget.FrameSend, ID: "m", Text: "spam"})
	}
	sawError := false
	for {
		f, code := v.next()
		if code != 0 {
			if code != widget.CloseRateLimited {
				t.Fatalf("closed with %d, want %d", code, widget.CloseRateLimited)
			}
			break
		}
		if f.Type == widget.FrameError && f.Code == widget.ErrRateLimited {
			sawError = true
		}
	}
	if !sawError {
		t.Fatal("no rate_limited error frame before the close")
	}
	// Only this visitor was limited.
	dialVisitor(t, edge.URL).echo("calm")
}

func TestProxyToBackend(t *testing.T) {
	_, backend := newFakeBackend(t)
	_, edge := startEdge(t, backend.URL, Settings{}, 2)

	for _, p := range []string{"/api/v1/chatflows", "/inbox", "/inbox/conversations/1", "/static/inbox.css"} {
		req, _ := http.NewRequest("GET", edge.URL+p, nil)
		req.Header.Set("X-Forwarded-For", "6.6.6.6") // a client cannot forge it
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]string
		json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if got["path"] != p || got["xff"] != "127.0.0.1" || got["proto"] != "http" || got["host"] != strings.TrimPrefix(edge.URL, "http://") {
			t.Errorf("%s reached the backend as %v", p, got)
		}
	}
	// The backend's internal endpoints are not public.
	if resp, _ := get(t, edge.URL+"/internal/sites/demo/config", ""); resp.StatusCode != 404 {
		t.Errorf("/internal/ through the edge: %s", resp.Status)
	}
	// The inbox's WebSocket goes through, origin checks intact.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(edge.URL, "http")+"/inbox/ws", &websocket.DialOptions{
		HTTPHeader: http.Header{"Origin": {edge.URL}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.Write(ctx, websocket.MessageText, []byte("ping"))
	_, msg, err := c.Read(ctx)
	if err != nil || string(msg) != "inbox got ping" {
		t.Fatalf("inbox websocket: %q %v", msg, err)
	}

	// The config route is wired to the backend.
	resp, body := get(t, edge.URL+"/v1/sites/demo/config", "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"site":"demo"`) {
		t.Fatalf("config through the edge: %s %s", resp.Status, body)
	}
}

func TestShutdownClosesVisitorsWithTryAgain(t *testing.T) {
	_, backend := newFakeBackend(t)
	srv, edge := startEdge(t, backend.URL, Settings{}, 2)
	v := dialVisitor(t, edge.URL)
	v.echo("before shutdown")
	done := make(chan struct{})
	go func() { srv.Close(); close(done) }()
	v.expectClose(widget.CloseTryAgain)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return after the visitor said goodbye")
	}
}

// The small buffers handed to the library carry frames of every size, in
// order, with control frames interleaved from other goroutines.
func TestSmallBuffersCarryEveryFrameSize(t *testing.T) {
	sizes := []int{0, 1, 2, 13, 14, 15, 16, 17, 31, 100, 125, 126, 127, 200, 255, 256, 257, 1000, 4096, 65535, 65536, 65537, 70000, 300000}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var wc *wsConn
		c, err := websocket.Accept(smallHijacker{w, &wc}, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(-1)
		ctx := context.Background()
		// Server-sent frames race the echoes below; the library orders
		// whole frames, and each must arrive whole. They go corked in
		// threes, as a flusher writes an ack with its echo.
		go func() {
			for i, n := range sizes {
				if i%3 == 0 {
					wc.corkStart()
				}
				if c.Write(ctx, websocket.MessageBinary, bytes.Repeat([]byte{'s'}, n)) != nil {
					return
				}
				if i%3 == 2 || i == len(sizes)-1 {
					if !wc.uncork(5 * time.Second) {
						return
					}
				}
			}
		}()
		for {
			typ, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			if c.Write(ctx, typ, b) != nil {
				return
			}
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(-1)

	var echoes [][]byte
	var served []int
	read := func() {
		typ, b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if typ == websocket.MessageBinary {
			served = append(served, len(b))
		} else {
			echoes = append(echoes, b)
		}
	}
	go func() {
		for range 20 {
			if c.Ping(ctx) != nil { // the server's reader answers with pongs
				return
			}
		}
	}()
	var sent [][]byte
	for i, n := range sizes {
		msg := make([]byte, n)
		for j := range msg {
			msg[j] = byte('a' + (i+j)%26)
		}
		sent = append(sent, msg)
		if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
			t.Fatal(err)
		}
		for len(echoes) < len(sent) {
			read()
		}
	}
	for len(served) < len(sizes) {
		read()
	}
	for i := range sent {
		if !bytes.Equal(echoes[i], sent[i]) {
			t.Fatalf("echo %d: %d bytes, want %d", i, len(echoes[i]), len(sent[i]))
		}
		if served[i] != sizes[i] {
			t.Fatalf("server frame %d: %d bytes, want %d", i, served[i], sizes[i])
		}
	}
}

// A client may send its first frame in the same packet as its handshake:
// the bytes the HTTP server read ahead must not be lost.
func TestFrameBehindHandshakeIsKept(t *testing.T) {
	_, backend := newFakeBackend(t)
	_, edge := startEdge(t, backend.URL, Settings{}, 2)
	addr := strings.TrimPrefix(edge.URL, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))

	payload := []byte(`{"type":"send","id":"early","text":"sent with the handshake"}`)
	key := [4]byte{1, 2, 3, 4}
	frame := []byte{0x81, 0x80 | byte(len(payload))}
	frame = append(frame, key[:]...)
	for i, b := range payload {
		frame = append(frame, b^key[i%4])
	}
	req := "GET /ws HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: https://shop.example\r\n\r\n"
	if _, err := conn.Write(append([]byte(req), frame...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", res, err)
	}
	// The echo: one unmasked text frame from the edge.
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		t.Fatal(err)
	}
	n := int(hdr[1] & 0x7f)
	if n == 126 {
		var ext [2]byte
		io.ReadFull(br, ext[:])
		n = int(binary.BigEndian.Uint16(ext[:]))
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		t.Fatal(err)
	}
	var f widget.Frame
	if hdr[0] != 0x81 || json.Unmarshal(body, &f) != nil || f.Type != widget.FrameMessage || f.Text != "sent with the handshake" {
		t.Fatalf("got frame %x %q", hdr, body)
	}
}

// An idle visitor socket costs the edge one goroutine: its reader.
func TestIdleVisitorSocketIsOneGoroutine(t *testing.T) {
	_, backend := newFakeBackend(t)
	_, edge := startEdge(t, backend.URL, Settings{}, 2)
	settle := func() int {
		time.Sleep(100 * time.Millisecond)
		return runtime.NumGoroutine()
	}
	before := settle()
	const n = 40
	for i := range n {
		dialVisitor(t, edge.URL).echo("hi " + string(rune('a'+i%26)))
	}
	// The test's own client sockets hold no goroutines while nobody reads.
	if grew := settle() - before; grew > n+n/4 {
		t.Fatalf("%d idle visitor sockets added %d goroutines", n, grew)
	}
}

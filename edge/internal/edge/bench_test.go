package edge_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/edge/internal/edge"
	"github.com/parleychat/parley/internal/link"
	"github.com/parleychat/parley/widget"
)

// benchBackend answers the config endpoint and counts the requests, so a
// benchmark can show how many reached the backend (and its database).
type benchBackend struct{ hits atomic.Int64 }

func (b *benchBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.hits.Add(1)
	json.NewEncoder(w).Encode(widget.Config{Site: "demo", Chatflows: []widget.ChatflowConfig{
		{ID: "cf1", Channel: "website", Welcome: "Hi! Ask us anything — we usually answer within minutes."}}})
}

// serveParallel runs GET path against h from every benchmark goroutine, as
// a browser asking for it compressed, and fails on anything but 200.
func serveParallel(b *testing.B, h http.Handler, path string) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Accept-Encoding", "gzip, deflate, br")
		for pb.Next() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Errorf("GET %s: %d", path, w.Code)
				return
			}
			io.Copy(io.Discard, w.Body)
		}
	})
}

// BenchmarkConfigCached serves a site's published config from the edge's
// cache; backend_fetches/op shows the backend is not asked per request.
func BenchmarkConfigCached(b *testing.B) {
	be := &benchBackend{}
	backend := httptest.NewServer(be)
	defer backend.Close()
	cache := edge.NewConfigCache(backend.URL, "secret", edge.Settings{ConfigTTL: time.Minute})
	mux := http.NewServeMux()
	mux.Handle("/v1/sites/{site}/config", cache)
	b.ResetTimer()
	serveParallel(b, mux, "/v1/sites/demo/config")
	b.ReportMetric(float64(be.hits.Load())/float64(b.N), "backend_fetches/op")
}

// BenchmarkStaticAsset serves loader.js, the baseline the config is held to.
func BenchmarkStaticAsset(b *testing.B) {
	build := b.TempDir()
	for _, name := range []string{"widget.wasm", "wasm_exec.js"} { // stand-ins: only loader.js is served
		if err := os.WriteFile(filepath.Join(build, name), []byte("stand-in"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	assets, err := edge.LoadAssets("../../../public", build, edge.Settings{BrotliQuality: 5})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	serveParallel(b, assets, "/loader.js")
}

// linkBackend accepts the edge's links and reads (and drops) every
// envelope: the edge's side of an idle visitor socket is all there is to see.
func linkBackend(b *testing.B) *httptest.Server {
	return countingLinkBackend(b, nil)
}

// linkCounts is how many sessions a link backend saw open and close.
type linkCounts struct{ opened, closed atomic.Int64 }

// countingLinkBackend is linkBackend counting the sessions' open and close
// envelopes in n (when not nil).
func countingLinkBackend(b *testing.B, n *linkCounts) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(1 << 20)
		for {
			_, data, err := c.Read(context.Background())
			if err != nil {
				return
			}
			if n == nil {
				continue
			}
			err = link.Decode(data, func(env link.Envelope) {
				switch env.Kind {
				case link.Open:
					n.opened.Add(1)
				case link.Close:
					n.closed.Add(1)
				}
			})
			if err != nil {
				b.Errorf("bad link message %q: %v", data, err)
				return
			}
		}
	}))
}

// waitCount waits (up to 30 s) until count() reaches want.
func waitCount(b *testing.B, what string, want int64, count func() int64) {
	b.Helper()
	for deadline := time.Now().Add(30 * time.Second); count() < want; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%s: %d, want %d", what, count(), want)
		}
	}
}

// BenchmarkIdleVisitorSocket opens idleSockets visitor sockets on an edge
// per op, reports the edge's memory per socket (heap and goroutine stacks in
// use, after a GC) and closes them. The clients are bare TCP connections
// that did the WebSocket handshake by hand, so almost none of the figure is
// theirs. (Each socket is two descriptors in this process, so the count
// stays well under this machine's limit of 20,000.)
func BenchmarkIdleVisitorSocket(b *testing.B) {
	const idleSockets = 4000
	var counts linkCounts
	backend := countingLinkBackend(b, &counts)
	defer backend.Close()
	build := b.TempDir()
	for _, name := range []string{"widget.wasm", "wasm_exec.js"} {
		os.WriteFile(filepath.Join(build, name), []byte("stand-in"), 0o644)
	}
	srv, err := edge.New(edge.Settings{BackendURL: backend.URL, LinkSecret: "s", PublicDir: "../../../public", BuildDir: build, BrotliQuality: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	front := httptest.NewServer(srv)
	defer front.Close()
	for srv.Pool.Live() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	addr := strings.TrimPrefix(front.URL, "http://")
	measure := func() (heap, stack uint64) {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse, m.StackInuse
	}
	var heapPer, stackPer float64
	for i := range int64(b.N) {
		round := i + 1 // sessions opened and closed so far: round*idleSockets
		b.StopTimer()
		h0, s0 := measure()
		b.StartTimer()
		conns := make([]net.Conn, 0, idleSockets)
		for i := range idleSockets {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			conns = append(conns, c)
			fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: https://shop.example\r\n\r\n", addr)
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
				b.Fatalf("handshake %d: %v %v", i, err, res)
			}
		}
		b.StopTimer()
		waitCount(b, "sessions opened at the backend", round*idleSockets, counts.opened.Load)
		h1, s1 := measure()
		heapPer = (float64(h1) - float64(h0)) / idleSockets
		stackPer = (float64(s1) - float64(s0)) / idleSockets
		for _, c := range conns {
			c.Close()
		}
		waitCount(b, "sessions closed at the backend", round*idleSockets, counts.closed.Load) // the edge noticed every close
		b.StartTimer()
	}
	b.ReportMetric(heapPer, "heap_B/socket")
	b.ReportMetric(stackPer, "stack_B/socket")
	b.ReportMetric(heapPer+stackPer, "B/socket")
}

// echoLinkBackend accepts the edge's links and sends every visitor frame
// straight back to its session, as one backend frame per visitor frame.
func echoLinkBackend(b *testing.B) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(1 << 20)
		ctx := context.Background()
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			var out [][]byte
			err = link.Decode(data, func(env link.Envelope) {
				if env.Kind == link.Data {
					m, _ := json.Marshal(link.Envelope{Session: env.Session, Kind: link.Data, Frame: env.Frame})
					out = append(out, m)
				}
			})
			if err != nil {
				b.Errorf("bad link message %q: %v", data, err)
				return
			}
			for _, m := range out {
				if c.Write(ctx, websocket.MessageText, m) != nil {
					return
				}
			}
		}
	}))
}

// BenchmarkVisitorRelay relays one visitor frame to the backend and the
// backend's frame back, per op, over many visitor sockets at once. It all
// runs in this process (client, edge and backend), so ns/op and allocs/op
// compare versions of the edge rather than measure it alone.
func BenchmarkVisitorRelay(b *testing.B) {
	backend := echoLinkBackend(b)
	defer backend.Close()
	build := b.TempDir()
	for _, name := range []string{"widget.wasm", "wasm_exec.js"} {
		os.WriteFile(filepath.Join(build, name), []byte("stand-in"), 0o644)
	}
	srv, err := edge.New(edge.Settings{BackendURL: backend.URL, LinkSecret: "s", PublicDir: "../../../public", BuildDir: build,
		BrotliQuality: 1, RateBurst: 1 << 30, RatePerSecond: 1e9})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	front := httptest.NewServer(srv)
	defer front.Close()
	for srv.Pool.Live() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	url := "ws" + strings.TrimPrefix(front.URL, "http") + "/ws"
	frame := []byte(widget.EncodeFrame(widget.Frame{Type: widget.FrameSend, ID: "m-0123456789",
		Text: strings.Repeat("A visitor's question about their order. ", 4)}))
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.CloseNow()
		for pb.Next() {
			if err := c.Write(ctx, websocket.MessageText, frame); err != nil {
				b.Error(err)
				return
			}
			if _, got, err := c.Read(ctx); err != nil || len(got) != len(frame) {
				b.Errorf("echo: %d bytes, %v", len(got), err)
				return
			}
		}
	})
}

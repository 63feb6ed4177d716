package edge

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/edge/link"
	"github.com/parleychat/parley/widget"
)

// visitorHandler terminates visitor WebSockets at /ws and relays their
// frames, verbatim, over the pool's links.
type visitorHandler struct {
	pool    *Pool
	s       Settings
	running sync.WaitGroup // open visitor sockets, so shutdown can wait for their close frames
}

func (h *visitorHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.running.Add(1)
	defer h.running.Done()
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		// Host pages live on customers' domains: any origin may connect.
		// The origin goes on to the backend, which knows the site.
		OriginPatterns: []string{"*"},
	})
	if err != nil {
		return // Accept has answered the client
	}
	c.SetReadLimit(h.s.MaxFrameBytes)

	meta := link.Meta{RemoteIP: remoteIP(r), Origin: r.Header.Get("Origin"), UserAgent: r.UserAgent()}
	sess, err := h.pool.Open(r.Context(), meta)
	if err != nil {
		c.Close(widget.CloseTryAgain, "backend unavailable")
		return
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); h.write(ctx, c, sess) }()
	h.read(ctx, c, sess)
	sess.Close()
	cancel()
	wg.Wait()
	c.CloseNow()
}

// read relays the visitor's frames until the socket ends.
func (h *visitorHandler) read(ctx context.Context, c *websocket.Conn, sess *Session) {
	bucket := newTokenBucket(h.s.RateBurst, h.s.RatePerSecond)
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			// An oversize frame lands here too: the library has already
			// closed this socket with 1009.
			return
		}
		if !bucket.take(time.Now()) {
			h.writeError(ctx, c, widget.ErrRateLimited, "too many messages; slow down")
			c.Close(widget.CloseRateLimited, "rate limited")
			return
		}
		if typ != websocket.MessageText {
			h.writeError(ctx, c, widget.ErrBadFrame, "only text frames are accepted")
			continue
		}
		// The envelope embeds the frame as JSON, so it must be JSON.
		if !json.Valid(data) {
			h.writeError(ctx, c, widget.ErrBadFrame, "a frame must be one JSON object")
			continue
		}
		if frameType(data) == widget.FramePing {
			// Keep-alives end here: they need no backend round trip.
			h.writeFrame(ctx, c, widget.Frame{Type: widget.FramePong})
			continue
		}
		if err := sess.Send(ctx, data); err != nil {
			// The link died; its cleanup ends the session with 1013. The
			// widget resends unacknowledged messages after reconnecting.
			select {
			case <-sess.Done():
				code, reason := sess.CloseStatus()
				c.Close(websocket.StatusCode(code), reason)
			case <-time.After(h.s.WriteTimeout):
				c.Close(widget.CloseTryAgain, "backend unavailable")
			}
			return
		}
	}
}

// write delivers the backend's frames to the visitor, closes the socket
// when the backend or the link ends the session, and pings it.
func (h *visitorHandler) write(ctx context.Context, c *websocket.Conn, sess *Session) {
	ping := time.NewTicker(h.s.VisitorPingInterval)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sess.Ready():
			for _, f := range sess.Take() {
				if !h.writeRaw(ctx, c, f) {
					c.CloseNow()
					return
				}
			}
		case <-sess.Done():
			// Deliver what the backend sent before its close (an error
			// frame explaining it, say), then close as asked.
			for _, f := range sess.Take() {
				if !h.writeRaw(ctx, c, f) {
					break
				}
			}
			code, reason := sess.CloseStatus()
			c.Close(websocket.StatusCode(code), reason)
			return
		case <-ping.C:
			go func() {
				pctx, cancel := context.WithTimeout(ctx, h.s.VisitorPingTimeout)
				defer cancel()
				if err := c.Ping(pctx); err != nil && ctx.Err() == nil {
					c.CloseNow() // gone without a goodbye
				}
			}()
		}
	}
}

func (h *visitorHandler) writeRaw(ctx context.Context, c *websocket.Conn, f []byte) bool {
	wctx, cancel := context.WithTimeout(ctx, h.s.WriteTimeout)
	defer cancel()
	return c.Write(wctx, websocket.MessageText, f) == nil
}

func (h *visitorHandler) writeFrame(ctx context.Context, c *websocket.Conn, f widget.Frame) {
	b, _ := json.Marshal(f)
	h.writeRaw(ctx, c, b)
}

func (h *visitorHandler) writeError(ctx context.Context, c *websocket.Conn, code, msg string) {
	h.writeFrame(ctx, c, widget.Frame{Type: widget.FrameError, Code: code, Message: msg})
}

// frameType peeks at a frame's "type" without decoding the rest.
func frameType(data []byte) string {
	var f struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(data, &f) != nil {
		return ""
	}
	return f.Type
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// tokenBucket allows burst events at once and rate events a second after.
type tokenBucket struct {
	tokens, burst, rate float64
	last                time.Time
}

func newTokenBucket(burst int, rate float64) *tokenBucket {
	return &tokenBucket{tokens: float64(burst), burst: float64(burst), rate: rate, last: time.Now()}
}

func (b *tokenBucket) take(now time.Time) bool {
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

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
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/internal/link"
	"github.com/parleychat/parley/internal/metrics"
	"github.com/parleychat/parley/widget"
)

// visitorHandler terminates visitor WebSockets at /ws and relays their
// frames, verbatim, over the pool's links.
type visitorHandler struct {
	pool    *Pool
	s       Settings
	running sync.WaitGroup // open visitor sockets, so shutdown can wait for their close frames

	// open lists the sockets a drain closes; draining refuses new ones.
	openMu   sync.Mutex
	open     map[*visitorSocket]struct{}
	draining bool

	m *edgeMetrics
}

// count returns how many visitor sockets are open.
func (h *visitorHandler) count() int {
	h.openMu.Lock()
	defer h.openMu.Unlock()
	return len(h.open)
}

// drainReason is the close reason sent with widget.CloseServiceRestart.
const drainReason = "service restart"

// add registers an accepted socket; false when the edge is draining.
func (h *visitorHandler) add(v *visitorSocket) bool {
	h.openMu.Lock()
	defer h.openMu.Unlock()
	if h.draining {
		return false
	}
	if h.open == nil {
		h.open = map[*visitorSocket]struct{}{}
	}
	h.open[v] = struct{}{}
	return true
}

func (h *visitorHandler) remove(v *visitorSocket) {
	h.openMu.Lock()
	delete(h.open, v)
	h.openMu.Unlock()
}

// drain refuses new sockets and closes every open one with
// widget.CloseServiceRestart, so its widget reconnects at once (to another
// edge behind the same address). It returns when all have ended or ctx has.
func (h *visitorHandler) drain(ctx context.Context) {
	h.openMu.Lock()
	h.draining = true
	socks := make([]*visitorSocket, 0, len(h.open))
	for v := range h.open {
		socks = append(socks, v)
	}
	h.openMu.Unlock()
	for _, v := range socks {
		// Close waits for the widget's close frame: in parallel, so one
		// slow client does not hold up the others.
		go v.c.Close(widget.CloseServiceRestart, drainReason)
	}
	done := make(chan struct{})
	go func() { h.running.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// visitorSocket is one open visitor socket. An idle one has a single
// goroutine, its reader; writes to it run on a goroutine started when
// frames wait, and pings on a timer.
type visitorSocket struct {
	h      *visitorHandler
	c      *websocket.Conn
	wc     *wsConn // under c, for corking
	sess   *Session
	bucket tokenBucket

	mu       sync.Mutex
	ping     *time.Timer
	dirty    bool // frames or the session's end wait for a flusher
	flushing bool // a flusher runs (or the socket is closing: no more are started)
	gone     bool // the reader has finished
	flushers sync.WaitGroup
}

var pongFrame, _ = json.Marshal(widget.Frame{Type: widget.FramePong})

func (h *visitorHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.running.Add(1)
	v := &visitorSocket{h: h}
	h.openMu.Lock()
	draining := h.draining
	h.openMu.Unlock()
	if draining {
		h.running.Done()
		http.Error(w, "This server is restarting; connect again.", http.StatusServiceUnavailable)
		return
	}
	c, err := websocket.Accept(smallHijacker{w, &v.wc}, r, &websocket.AcceptOptions{
		// Host pages live on customers' domains: any origin may connect.
		// The origin goes on to the backend, which knows the site and its
		// allowed domains (hello is refused there).
		OriginPatterns: []string{"*"},
	})
	if err != nil {
		h.running.Done()
		return // Accept has answered the client
	}
	c.SetReadLimit(h.s.MaxFrameBytes)

	v.c = c
	if !h.add(v) { // a drain began during the handshake
		c.Close(widget.CloseServiceRestart, drainReason)
		h.running.Done()
		return
	}
	v.bucket.init(h.s.RateBurst, h.s.RatePerSecond)
	meta := link.Meta{RemoteIP: h.s.clientIP(r), Origin: h.s.pageOrigin(r), UserAgent: r.UserAgent()}
	sess, err := h.pool.Open(r.Context(), meta, v.kick)
	if err != nil {
		c.Close(widget.CloseTryAgain, "backend unavailable")
		h.remove(v)
		h.running.Done()
		return
	}
	v.sess = sess
	v.mu.Lock()
	v.ping = time.AfterFunc(h.s.VisitorPingInterval, v.pingOnce)
	v.mu.Unlock()
	// A fresh goroutine starts with a small stack, and returning lets the
	// HTTP server drop this request and its connection state.
	go v.run()
}

// run reads the visitor's frames until the socket ends, then cleans up.
func (v *visitorSocket) run() {
	defer v.h.running.Done()
	defer v.h.remove(v)
	v.read()
	v.mu.Lock()
	v.gone = true
	v.ping.Stop()
	v.mu.Unlock()
	v.sess.Close()
	v.c.CloseNow() // also ends a flusher's write to a visitor that left
	v.flushers.Wait()
}

// read relays the visitor's frames until the socket ends.
func (v *visitorSocket) read() {
	for {
		m, err := readMessage(v.c)
		if err != nil {
			// An oversize frame lands here too: the library has already
			// closed this socket with 1009.
			return
		}
		more := v.handle(m)
		if !more {
			return
		}
	}
}

// handle acts on one frame from the visitor; false ends the socket. The
// frame's buffer goes to the link with the frame, or back to bufs.
func (v *visitorSocket) handle(m message) bool {
	relayed := false
	defer func() {
		if !relayed {
			putBuf(m.buf)
		}
	}()
	h, c, typ, data := v.h, v.c, m.typ, m.b
	if metrics.Enabled {
		h.m.framesIn.Inc()
	}
	if !v.bucket.take(time.Now()) {
		h.m.rateLimited.Inc()
		h.writeError(c, widget.ErrRateLimited, "too many messages; slow down")
		c.Close(widget.CloseRateLimited, "rate limited")
		return false
	}
	if typ != websocket.MessageText {
		h.writeError(c, widget.ErrBadFrame, "only text frames are accepted")
		return true
	}
	// The envelope embeds the frame as JSON, so it must be JSON.
	if !json.Valid(data) {
		h.writeError(c, widget.ErrBadFrame, "a frame must be one JSON object")
		return true
	}
	if isPing(data) {
		// Keep-alives end here: they need no backend round trip.
		h.writeRaw(c, pongFrame)
		return true
	}
	// Background: nothing cancels a send but the link's death.
	relayed = true
	if err := v.sess.Send(context.Background(), m.buf); err != nil {
		// The link died; its cleanup ends the session with 1013. The
		// widget resends unacknowledged messages after reconnecting.
		select {
		case <-v.sess.Done():
			code, reason := v.sess.CloseStatus()
			c.Close(websocket.StatusCode(code), reason)
		case <-time.After(h.s.WriteTimeout):
			c.Close(widget.CloseTryAgain, "backend unavailable")
		}
		return false
	}
	return true
}

// kick is the session's notify: frames wait or it ended. At most one
// flusher runs per socket, which keeps the frames in order.
func (v *visitorSocket) kick(s *Session) {
	v.mu.Lock()
	v.dirty = true
	if v.flushing || v.gone {
		v.mu.Unlock()
		return
	}
	v.flushing = true
	v.flushers.Add(1)
	v.mu.Unlock()
	if v.flushNow(s) {
		return
	}
	go v.flush(s)
}

// flushNow is kick's try to deliver what waits on its own goroutine (the
// link's reader, mostly), which it may only do when that cannot block:
// no other write to the socket under way and room in the socket's buffer.
// It then spares a goroutine and its scheduling per frame. It reports
// false, having taken nothing, when the flusher must do it all; true when
// it wrote everything or left the rest to a goroutine of its own.
func (v *visitorSocket) flushNow(s *Session) bool {
	wc := v.wc
	if wc == nil || wc.rc == nil {
		return false
	}
	select {
	case <-s.Done():
		return false // closing is the flusher's
	default:
	}
	if !wc.corkMu.TryLock() {
		return false
	}
	if wc.plain || wc.left != 0 || wc.nheld != 0 || wc.closeSent || wc.cork != nil {
		wc.corkMu.Unlock()
		return false
	}
	// Holding corkMu, nothing else writes to the connection.
	v.mu.Lock()
	if v.gone {
		v.mu.Unlock()
		wc.corkMu.Unlock()
		return false
	}
	v.dirty = false
	v.mu.Unlock()
	frames := s.Take()
	if metrics.Enabled {
		v.h.m.framesOut.Add(float64(len(frames)))
	}
	buf := bufs.Get().(*[]byte)
	b := (*buf)[:0]
	for _, f := range frames {
		b = appendTextHeader(b, len(f))
		b = append(b, f...)
	}
	*buf = b
	n, err := 0, error(nil)
	if len(b) > 0 {
		n, err = tryWrite(wc.rc, b)
	}
	if err != nil {
		putBuf(buf)
		wc.corkMu.Unlock()
		v.c.CloseNow()
		v.flushers.Done() // flushing stays set: the socket is done
		return true
	}
	if n < len(b) {
		// The socket's buffer is full: a goroutine finishes the write,
		// still holding corkMu so nothing comes between, and flushes on.
		go func() {
			err := wc.writeWithin(b[n:], v.h.s.WriteTimeout)
			putBuf(buf)
			wc.corkMu.Unlock()
			if err != nil {
				v.c.CloseNow()
				v.flushers.Done()
				return
			}
			v.flush(s)
		}()
		return true
	}
	putBuf(buf)
	wc.corkMu.Unlock()
	v.mu.Lock()
	if !v.dirty || v.gone {
		v.flushing = false
		v.mu.Unlock()
		v.flushers.Done()
		return true
	}
	v.mu.Unlock()
	go v.flush(s) // more came meanwhile, or the end
	return true
}

// flush delivers the backend's frames to the visitor until none wait, and
// closes the socket when the backend or the link ended the session.
func (v *visitorSocket) flush(s *Session) {
	defer v.flushers.Done()
	for {
		v.mu.Lock()
		if !v.dirty || v.gone {
			v.flushing = false
			v.mu.Unlock()
			return
		}
		v.dirty = false
		v.mu.Unlock()

		// Ended before Take: every frame pushed before the end is taken.
		var ended bool
		select {
		case <-s.Done():
			ended = true
		default:
		}
		if !v.writeAll(s.Take()) && !ended {
			v.c.CloseNow()
			return // flushing stays set: the socket is done
		}
		if ended {
			// Deliver what the backend sent before its close (an error
			// frame explaining it, say), then close as asked.
			code, reason := s.CloseStatus()
			v.c.Close(websocket.StatusCode(code), reason)
			return
		}
	}
}

// writeAll writes frames in order, in one write to the socket: an ack and
// the echo of the message it acknowledges, say. The library frames them
// into the cork without a context (one would cost a timer and a
// registration per frame); uncork's write carries the timeout.
func (v *visitorSocket) writeAll(frames [][]byte) bool {
	if metrics.Enabled {
		v.h.m.framesOut.Add(float64(len(frames)))
	}
	if v.wc == nil {
		for _, f := range frames {
			if !v.h.writeRaw(v.c, f) {
				return false
			}
		}
		return true
	}
	if ok, done := v.wc.writeTexts(frames, v.h.s.WriteTimeout); done {
		return ok
	}
	v.wc.corkStart()
	ok := true
	for _, f := range frames {
		// The write lock may wait for a ping or a close frame under way:
		// those carry timeouts of their own.
		if v.c.Write(context.Background(), websocket.MessageText, f) != nil {
			ok = false
			break
		}
	}
	if !v.wc.uncork(v.h.s.WriteTimeout) {
		ok = false
	}
	return ok
}

// pingOnce pings the visitor and arms the next ping.
func (v *visitorSocket) pingOnce() {
	v.mu.Lock()
	if v.gone {
		v.mu.Unlock()
		return
	}
	v.ping.Reset(v.h.s.VisitorPingInterval)
	v.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), v.h.s.VisitorPingTimeout)
	defer cancel()
	if err := v.c.Ping(ctx); err != nil {
		v.c.CloseNow() // gone without a goodbye
	}
}

func (h *visitorHandler) writeRaw(c *websocket.Conn, f []byte) bool {
	ctx, cancel := context.WithTimeout(context.Background(), h.s.WriteTimeout)
	defer cancel()
	return c.Write(ctx, websocket.MessageText, f) == nil
}

func (h *visitorHandler) writeError(c *websocket.Conn, code, msg string) {
	b, _ := json.Marshal(widget.Frame{Type: widget.FrameError, Code: code, Message: msg})
	h.writeRaw(c, b)
}

// message is one frame read from a visitor, in a pooled buffer.
type message struct {
	typ websocket.MessageType
	b   []byte
	buf *[]byte
}

// bufs holds the buffers a frame passes through, so that no socket keeps
// one while idle.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func putBuf(b *[]byte) {
	if cap(*b) <= 64<<10 { // do not keep the rare big one
		bufs.Put(b)
	}
}

// readMessage reads one message into a pooled buffer, which the caller
// returns with putBuf.
func readMessage(c *websocket.Conn) (message, error) {
	// Background: a context that can be cancelled costs an AfterFunc per read.
	typ, r, err := c.Reader(context.Background())
	if err != nil {
		return message{}, err
	}
	buf := bufs.Get().(*[]byte)
	b := (*buf)[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		*buf = b
		if err == io.EOF {
			return message{typ: typ, b: b, buf: buf}, nil
		}
		if err != nil {
			putBuf(buf)
			return message{}, err
		}
	}
}

// isPing says whether a valid JSON frame's "type" is ping. Most frames are
// told apart without decoding: a ping frame must spell "ping", unless it
// uses escapes.
func isPing(data []byte) bool {
	if !bytes.Contains(data, []byte("ping")) && bytes.IndexByte(data, '\\') < 0 {
		return false
	}
	return frameType(data) == widget.FramePing
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

// tokenBucket allows burst events at once and rate events a second after.
type tokenBucket struct {
	tokens, burst, rate float64
	last                time.Time
}

func (b *tokenBucket) init(burst int, rate float64) {
	*b = tokenBucket{tokens: float64(burst), burst: float64(burst), rate: rate, last: time.Now()}
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

// smallHijacker hands websocket.Accept the hijacked connection with small
// bufio buffers: the library keeps the pair for the socket's life, and
// net/http's are 4 KB each.
type smallHijacker struct {
	http.ResponseWriter
	conn **wsConn // where the hijacked connection is left for its socket
}

const (
	// readBufSize holds most visitor frames but a long message, which then
	// takes a second read.
	readBufSize = 256
	// writeBufSize is bufio's minimum and holds any frame header (at most
	// 14 bytes); frameWriter keeps a frame to one write all the same.
	writeBufSize = 16
)

func (w smallHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil { // empty after the 101, but be sure
		conn.Close()
		return nil, nil, err
	}
	wc := &wsConn{Conn: conn, rc: rawConnOf(conn)}
	*w.conn = wc
	// Bytes the client sent right behind its handshake sit in the server's
	// reader: keep them, ahead of the socket.
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		wc.early = bytes.Clone(b)
	}
	return wc, bufio.NewReadWriter(bufio.NewReaderSize(wc, readBufSize), bufio.NewWriterSize((*frameWriter)(wc), writeBufSize)), nil
}

// wsConn is a hijacked visitor connection.
type wsConn struct {
	net.Conn
	early []byte          // read before the hijack, served first
	rc    syscall.RawConn // for writes tried without blocking; nil under TLS

	// frameWriter's state: the start of a frame held back until the rest
	// of it comes, so a frame goes out in one write (one TCP segment when
	// small) although bufio's buffer is tiny.
	held  [writeBufSize]byte
	nheld int
	left  int64 // bytes of the current frame not seen yet; 0 between frames
	plain bool  // a write did not start with a whole header: no holding back from then on

	// closeSent: the library has written a close frame; no data frame
	// may follow.
	closeSent bool

	// While corked, whole frames collect in cork and go out in one write
	// at uncork. corkMu also orders that write before any later frame,
	// and guards frameWriter's state.
	corkMu sync.Mutex
	cork   *[]byte
}

// writeTexts writes frames as text frames, framed here rather than by the
// library (whose write lock, context and state cost more than the write),
// in one write within timeout. It does only between two of the library's
// frames and before its close frame; done is false when it did not write,
// and the library must.
func (c *wsConn) writeTexts(frames [][]byte, timeout time.Duration) (ok, done bool) {
	c.corkMu.Lock()
	defer c.corkMu.Unlock()
	if c.plain || c.left != 0 || c.nheld != 0 || c.closeSent || c.cork != nil {
		return false, false
	}
	buf := bufs.Get().(*[]byte)
	b := (*buf)[:0]
	for _, f := range frames {
		b = appendTextHeader(b, len(f))
		b = append(b, f...)
	}
	*buf = b
	err := c.writeWithin(b, timeout)
	putBuf(buf)
	return err == nil, true
}

// appendTextHeader appends the header of an unmasked, final text frame
// with n bytes of payload, as a server sends it.
func appendTextHeader(b []byte, n int) []byte {
	b = append(b, 0x81) // FIN, text
	switch {
	case n < 126:
		return append(b, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
	}
}

// corkTimeout bounds a write corking could not hold back; the library's
// own timeout does not reach it.
const corkTimeout = 10 * time.Second

// corkMax is how much corking collects before it writes anyway.
const corkMax = 64 << 10

// corkStart makes the frames written from now on wait for uncork.
func (c *wsConn) corkStart() {
	c.corkMu.Lock()
	if c.cork == nil {
		c.cork = bufs.Get().(*[]byte)
		*c.cork = (*c.cork)[:0]
	}
	c.corkMu.Unlock()
}

// uncork writes what corking collected, within timeout, and reports whether
// that worked.
func (c *wsConn) uncork(timeout time.Duration) bool {
	c.corkMu.Lock()
	defer c.corkMu.Unlock()
	buf := c.cork
	if buf == nil {
		return true
	}
	c.cork = nil
	defer putBuf(buf)
	return c.writeWithin(*buf, timeout) == nil
}

// writeWithin writes b to the connection with a deadline.
func (c *wsConn) writeWithin(b []byte, timeout time.Duration) error {
	if len(b) == 0 {
		return nil
	}
	c.Conn.SetWriteDeadline(time.Now().Add(timeout))
	_, err := c.Conn.Write(b)
	c.Conn.SetWriteDeadline(time.Time{})
	return err
}

func (c *wsConn) Read(p []byte) (int, error) {
	if len(c.early) > 0 {
		n := copy(p, c.early)
		c.early = c.early[n:]
		if len(c.early) == 0 {
			c.early = nil
		}
		return n, nil
	}
	return c.Conn.Read(p)
}

// frameWriter is the io.Writer under the library's bufio.Writer. The
// library writes whole frames under its write lock, and bufio hands each
// frame's start (its whole header) over in the first Write.
type frameWriter wsConn

func (w *frameWriter) Write(p []byte) (int, error) {
	w.corkMu.Lock()
	defer w.corkMu.Unlock()
	n := len(p)
	for len(p) > 0 {
		if w.left == 0 && !w.plain {
			size, ok := frameSize(p)
			w.left, w.plain = size, !ok
			if ok && p[0]&0x0f == 0x8 {
				w.closeSent = true
			}
		}
		if w.plain {
			// Not how the library writes; never hold bytes back then.
			if err := w.send(p); err != nil {
				return 0, err
			}
			return n, nil
		}
		k := int(min(int64(len(p)), w.left))
		chunk := p[:k]
		p = p[k:]
		w.left -= int64(k)
		if w.left > 0 && w.nheld+k <= len(w.held) {
			w.nheld += copy(w.held[w.nheld:], chunk)
			continue
		}
		if err := w.send(chunk); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// send writes what is held and b, together, or adds them to the cork.
// corkMu is held.
func (w *frameWriter) send(b []byte) error {
	if w.cork != nil {
		*w.cork = append(append(*w.cork, w.held[:w.nheld]...), b...)
		w.nheld = 0
		if len(*w.cork) < corkMax {
			return nil
		}
		err := (*wsConn)(w).writeWithin(*w.cork, corkTimeout)
		*w.cork = (*w.cork)[:0]
		return err
	}
	if w.nheld == 0 {
		_, err := w.Conn.Write(b)
		return err
	}
	held := w.held[:w.nheld]
	w.nheld = 0
	if len(b) > 64<<10 {
		if _, err := w.Conn.Write(held); err != nil {
			return err
		}
		_, err := w.Conn.Write(b)
		return err
	}
	// A copy rather than writev: no allocation, and no iovec cache that the
	// runtime would keep per socket.
	buf := bufs.Get().(*[]byte)
	*buf = append(append((*buf)[:0], held...), b...)
	_, err := w.Conn.Write(*buf)
	putBuf(buf)
	return err
}

// frameSize returns the size of the WebSocket frame starting at p, header
// included, if p holds its whole header.
func frameSize(p []byte) (int64, bool) {
	if len(p) < 2 {
		return 0, false
	}
	hdr, size := int64(2), int64(p[1]&0x7f)
	switch size {
	case 126:
		if len(p) < 4 {
			return 0, false
		}
		hdr, size = 4, int64(binary.BigEndian.Uint16(p[2:]))
	case 127:
		if len(p) < 10 {
			return 0, false
		}
		u := binary.BigEndian.Uint64(p[2:])
		if u > 1<<62 {
			return 0, false
		}
		hdr, size = 10, int64(u)
	}
	if p[1]&0x80 != 0 { // masked: never from a server, but cheap to allow
		hdr += 4
	}
	if int64(len(p)) < hdr {
		return 0, false
	}
	return hdr + size, true
}

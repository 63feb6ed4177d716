package edge

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/internal/link"
	"github.com/parleychat/parley/widget"
)

// ErrNoLink means no link to the backend is up: the visitor should try again.
var ErrNoLink = errors.New("edge: no live link to the backend")

// Pool keeps a few long-lived WebSockets ("links") to the backend and
// carries every visitor socket over them as a session. A link that drops
// ends its sessions with 1013 and is redialed with backoff.
type Pool struct {
	url    string // ws(s)://backend/internal/link
	header http.Header
	client *http.Client // dials the backend (over BACKEND_SOCKET when set)
	s      Settings

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	nextID atomic.Uint64
	dials  atomic.Int64

	mu    sync.Mutex
	links []*linkConn // live links
}

// NewPool starts dialing s.LinkCount links to backendURL (http or https)
// with the link secret. Close stops it.
func NewPool(backendURL, secret string, s Settings) *Pool {
	s = s.withDefaults()
	u := strings.TrimRight(backendURL, "/") + link.Path
	switch {
	case strings.HasPrefix(u, "https://"):
		u = "wss://" + strings.TrimPrefix(u, "https://")
	case strings.HasPrefix(u, "http://"):
		u = "ws://" + strings.TrimPrefix(u, "http://")
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pool{
		url:    u,
		header: http.Header{"Authorization": {"Bearer " + secret}},
		client: &http.Client{Transport: s.transport()},
		s:      s,
		ctx:    ctx,
		cancel: cancel,
	}
	for i := 0; i < s.LinkCount; i++ {
		p.wg.Add(1)
		go p.keep(i)
	}
	return p
}

// Close drops every link (ending their sessions with 1013) and stops redialing.
func (p *Pool) Close() {
	p.cancel()
	p.wg.Wait()
}

// Live returns how many links are up.
func (p *Pool) Live() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.links)
}

// Dials returns how many links have been established since start.
func (p *Pool) Dials() int64 { return p.dials.Load() }

// keep holds one link slot up for the pool's life.
func (p *Pool) keep(slot int) {
	defer p.wg.Done()
	backoff := p.s.LinkBackoffMin
	failures := 0
	for p.ctx.Err() == nil {
		l, err := p.dial()
		if err == nil {
			p.dials.Add(1)
			if failures > 0 {
				slog.Info("edge: backend link up", "slot", slot, "after_failures", failures)
			}
			failures = 0
			started := time.Now()
			p.mu.Lock()
			p.links = append(p.links, l)
			p.mu.Unlock()
			err = l.run(p.ctx)
			p.mu.Lock()
			for i, x := range p.links {
				if x == l {
					p.links = append(p.links[:i], p.links[i+1:]...)
					break
				}
			}
			p.mu.Unlock()
			if time.Since(started) > p.s.LinkBackoffMax {
				backoff = p.s.LinkBackoffMin // it was healthy; redial at once
			}
		}
		if p.ctx.Err() != nil {
			return
		}
		failures++
		if failures&(failures-1) == 0 { // 1st, 2nd, 4th, 8th… failure: say it without flooding the log
			slog.Warn("edge: backend link down; redialing", "slot", slot, "url", p.url, "failures", failures, "err", err)
		}
		// Jitter keeps many edges from redialing a restarted backend in step.
		t := time.NewTimer(backoff/2 + rand.N(backoff/2+1))
		select {
		case <-p.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, p.s.LinkBackoffMax)
	}
}

func (p *Pool) dial() (*linkConn, error) {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, p.url, &websocket.DialOptions{HTTPHeader: p.header, HTTPClient: p.client})
	if err != nil {
		if resp != nil {
			return nil, errors.New(err.Error() + " (HTTP " + strconv.Itoa(resp.StatusCode) + ")")
		}
		return nil, err
	}
	c.SetReadLimit(p.s.LinkReadLimit)
	l := &linkConn{
		conn:     c,
		s:        p.s,
		done:     make(chan struct{}),
		sessions: map[uint64]*Session{},
	}
	l.out = &link.Sender[outEnv]{
		Out:    make(chan outEnv, p.s.LinkQueue),
		Encode: func(dst []byte, e outEnv) ([]byte, int) { return e.encode(dst) },
		Write:  l.writeMessage,
	}
	return l, nil
}

// Open starts a session for a new visitor socket on the least-loaded live
// link and tells the backend about it. notify is called whenever frames
// wait (Take) or the session ends (Done); it runs on the link's goroutines,
// so it must not block.
func (p *Pool) Open(ctx context.Context, meta link.Meta, notify func(*Session)) (*Session, error) {
	p.mu.Lock()
	var l *linkConn
	for _, x := range p.links {
		if l == nil || x.load() < l.load() {
			l = x
		}
	}
	p.mu.Unlock()
	if l == nil {
		return nil, ErrNoLink
	}
	s := &Session{
		ID:     p.nextID.Add(1),
		link:   l,
		notify: notify,
		limit:  p.s.VisitorQueue,
		done:   make(chan struct{}),
	}
	if !l.attach(s) {
		return nil, ErrNoLink
	}
	env, _ := json.Marshal(link.Envelope{Session: s.ID, Kind: link.Open, Meta: &meta})
	if err := l.send(ctx, outEnv{env: env}); err != nil {
		l.detach(s.ID)
		return nil, ErrNoLink
	}
	return s, nil
}

// linkConn is one live link: a reader (run), a writer with a bounded queue
// and a pinger.
type linkConn struct {
	conn *websocket.Conn
	s    Settings
	out  *link.Sender[outEnv]
	done chan struct{} // closed when the link is dead

	// writeSince is when the write under way began (UnixNano), 0 between
	// writes: the pinger drops a link stuck in one for WriteTimeout, which
	// costs a write no context and timer of its own.
	writeSince atomic.Int64

	// Owned by the reader: the sessions a link message gave frames to,
	// told once the whole message is read, so that frames arriving
	// together (an ack and its message) reach the visitor in one write.
	kicks []*Session

	mu       sync.Mutex
	sessions map[uint64]*Session
	dead     bool
}

func (l *linkConn) load() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sessions)
}

func (l *linkConn) attach(s *Session) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dead {
		return false
	}
	l.sessions[s.ID] = s
	return true
}

func (l *linkConn) detach(id uint64) *Session {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.sessions[id]
	delete(l.sessions, id)
	return s
}

// outEnv is one envelope queued for a link's writer: a visitor frame in a
// pooled buffer, wrapped (and the buffer returned) by the writer, or an
// envelope encoded already.
type outEnv struct {
	session uint64
	frame   *[]byte // a data envelope's frame; the writer puts it back in bufs
	env     []byte  // else, the encoded envelope
}

// encode appends e's envelope to dst. A data envelope is built by hand:
// the frame is JSON already and goes verbatim.
func (e outEnv) encode(dst []byte) ([]byte, int) {
	if e.frame == nil {
		return append(dst, e.env...), 1 // into dst: the Sender may keep what Encode returns as its scratch
	}
	dst = append(dst, `{"s":`...)
	dst = strconv.AppendUint(dst, e.session, 10)
	dst = append(dst, `,"k":"data","f":`...)
	dst = append(dst, *e.frame...)
	dst = append(dst, '}')
	putBuf(e.frame)
	return dst, 1
}

// send writes an envelope at once when the link is idle, else queues it
// for the writer; a full queue holds the caller back (backpressure) until
// there is room or the link dies.
func (l *linkConn) send(ctx context.Context, env outEnv) error {
	select {
	case <-l.done:
		return ErrNoLink
	default:
	}
	if ok, err := l.out.TrySend(env); ok {
		if err != nil {
			l.conn.CloseNow() // the reader fails and cleans up
			return ErrNoLink
		}
		return nil
	}
	if l.out.Queue(ctx, l.done, env) {
		return nil
	}
	select {
	case <-l.done:
		return ErrNoLink
	default:
		return ctx.Err()
	}
}

// run reads envelopes until the link fails or ctx ends, then ends every
// session on it with 1013.
func (l *linkConn) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	// Reads and writes go without a context (the library would register
	// one per call); ending ctx ends them by closing the connection.
	stop := context.AfterFunc(ctx, func() { l.conn.CloseNow() })
	defer stop()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); l.write(ctx) }()
	go func() { defer wg.Done(); l.ping(ctx) }()
	err := l.read(ctx)

	l.mu.Lock()
	l.dead = true
	sessions := l.sessions
	l.sessions = map[uint64]*Session{}
	l.mu.Unlock()
	close(l.done)
	cancel()
	l.conn.CloseNow()
	wg.Wait()
	for _, s := range sessions {
		s.end(widget.CloseTryAgain, "backend link lost")
	}
	return err
}

func (l *linkConn) read(ctx context.Context) error {
	receive := func(env link.Envelope) { l.receive(ctx, env) }
	for {
		_, data, err := l.conn.Read(context.Background())
		if err != nil {
			return err
		}
		if err := link.Decode(data, receive); err != nil {
			slog.Warn("edge: bad envelope from backend", "err", err)
		}
		for i, s := range l.kicks {
			s.notify(s)
			l.kicks[i] = nil
		}
		l.kicks = l.kicks[:0]
	}
}

// receive acts on one envelope from the backend.
func (l *linkConn) receive(ctx context.Context, env link.Envelope) {
	switch env.Kind {
	case link.Data:
		l.mu.Lock()
		s := l.sessions[env.Session]
		l.mu.Unlock()
		if s == nil || len(env.Frame) == 0 {
			return // the visitor already left; its close envelope is on its way
		}
		if !s.push(env.Frame) {
			// The visitor reads slower than the backend writes. Closing
			// loses nothing: the widget reconnects and replays from its
			// last seq.
			if l.detach(s.ID) != nil {
				l.sendClose(ctx, s.ID)
				s.end(widget.CloseTryAgain, "too slow")
			}
			return
		}
		if n := len(l.kicks); n == 0 || l.kicks[n-1] != s {
			l.kicks = append(l.kicks, s)
		}
	case link.Close:
		if s := l.detach(env.Session); s != nil {
			code := env.Code
			if code == 0 {
				code = int(websocket.StatusNormalClosure)
			}
			s.end(code, env.Reason)
		}
	default:
		slog.Warn("edge: unknown envelope kind from backend", "kind", env.Kind)
	}
}

func (l *linkConn) sendClose(ctx context.Context, id uint64) {
	env, _ := json.Marshal(link.Envelope{Session: id, Kind: link.Close})
	// Never block the reader on a full queue: the backend forgets sessions
	// of a dropped link anyway, and a stray one ends at its next write.
	if !l.out.TryQueue(outEnv{env: env}) {
		go l.send(ctx, outEnv{env: env})
	}
}

// writeMessage writes one link message, for the writer or a sender that
// found the link idle.
func (l *linkConn) writeMessage(msg []byte) error {
	l.writeSince.Store(time.Now().UnixNano())
	err := l.conn.Write(context.Background(), websocket.MessageText, msg)
	l.writeSince.Store(0)
	return err
}

func (l *linkConn) write(ctx context.Context) {
	err := l.out.Pump(ctx)
	if err != nil && ctx.Err() == nil {
		l.conn.CloseNow() // the reader fails and cleans up
	}
}

// ping pings the link every LinkPingInterval and drops it when a ping or a
// write takes too long (a write within 1¼ WriteTimeout).
func (l *linkConn) ping(ctx context.Context) {
	t := time.NewTicker(l.s.LinkPingInterval)
	defer t.Stop()
	w := time.NewTicker(max(l.s.WriteTimeout/4, time.Millisecond))
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.C:
			if since := l.writeSince.Load(); since != 0 && time.Since(time.Unix(0, since)) > l.s.WriteTimeout {
				l.conn.CloseNow() // the reader fails and cleans up
				return
			}
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, l.s.LinkPingTimeout)
			err := l.conn.Ping(pctx)
			cancel()
			if err != nil {
				l.conn.CloseNow()
				return
			}
		}
	}
}

// Session is one visitor socket carried over a link.
type Session struct {
	// ID names the session on its link; unique within this edge process.
	ID   uint64
	link *linkConn
	done chan struct{}

	// The backend's frames waiting for the visitor: a slice that grows only
	// when frames wait, not a channel buffer allocated up front for every
	// idle socket, so a quiet visitor costs a few hundred bytes here.
	mu      sync.Mutex
	pending [][]byte
	limit   int
	// notify replaces a goroutine per socket waiting on channels.
	notify func(*Session)
	once   sync.Once
	code   int
	reason string
}

// Take returns the backend's frames for the visitor waiting so far, in order.
func (s *Session) Take() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.pending
	s.pending = nil
	return out
}

// push queues a frame for the visitor; false when limit frames already
// wait. The link's reader calls notify once its message is read.
func (s *Session) push(f []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) >= s.limit {
		return false
	}
	s.pending = append(s.pending, f)
	return true
}

// Done is closed when the backend or the link ended the session; CloseStatus
// then says how to close the visitor socket. Take may still hold frames
// to deliver first.
func (s *Session) Done() <-chan struct{} { return s.done }

// CloseStatus returns the WebSocket close code and reason once Done is closed.
func (s *Session) CloseStatus() (int, string) {
	select {
	case <-s.done:
		return s.code, s.reason
	default:
		return 0, ""
	}
}

// Send relays one visitor frame, which must be valid JSON, to the backend.
// The frame is in a buffer of bufs, which Send takes over: the link's
// writer copies it into its message and puts it back.
func (s *Session) Send(ctx context.Context, frame *[]byte) error {
	return s.link.send(ctx, outEnv{session: s.ID, frame: frame})
}

// Close ends the session from the visitor's side and tells the backend.
// It does nothing when the session has already ended.
func (s *Session) Close() {
	if s.link.detach(s.ID) == nil {
		return
	}
	s.end(int(websocket.StatusNormalClosure), "")
	env, _ := json.Marshal(link.Envelope{Session: s.ID, Kind: link.Close})
	ctx, cancel := context.WithTimeout(context.Background(), s.link.s.WriteTimeout)
	defer cancel()
	s.link.send(ctx, outEnv{env: env})
}

func (s *Session) end(code int, reason string) {
	ended := false
	s.once.Do(func() {
		s.code, s.reason = code, reason
		close(s.done)
		ended = true
	})
	if ended {
		s.notify(s)
	}
}

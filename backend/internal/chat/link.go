package chat

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/internal/link"
)

// LinkHandler is the backend end of the edge link, to mount at link.Path.
// It checks the link secret, accepts the WebSocket and runs every visitor
// session the edge carries over it until the link drops.
func (e *Engine) LinkHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !e.authorised(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="parley-link"`)
			http.Error(w, "link secret required", http.StatusUnauthorized)
			return
		}
		if !e.linkStarted() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		defer e.links.Done()
		LinksOpen.Inc()
		defer LinksOpen.Dec()
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return // Accept has answered the request
		}
		// A visitor frame is embedded verbatim; allow for the envelope and
		// escaping around it, after a batch of others (link.MaxBatchBytes).
		conn.SetReadLimit(int64(e.cfg.MaxFrameBytes)*2 + 4096 + link.MaxBatchBytes)
		l := &linkConn{e: e, conn: conn, sessions: map[uint64]*session{}}
		l.out = &link.Sender[outgoing]{
			Out:    make(chan outgoing, e.cfg.LinkQueue),
			Encode: func(_ []byte, o outgoing) ([]byte, int) { return o.b, o.n },
			Write:  l.writeMessage,
		}
		l.ctx, l.cancel = context.WithCancel(r.Context())
		defer context.AfterFunc(e.ctx, l.cancel)()
		// Reads and writes go without a context (the library would
		// register one per call, and a timer per write): ending the link's
		// ends them by closing the connection.
		defer context.AfterFunc(l.ctx, func() { conn.CloseNow() })()
		l.run()
	})
}

// authorised compares the bearer token with the link secret in constant time.
func (e *Engine) authorised(r *http.Request) bool {
	if e.cfg.LinkSecret == "" {
		return false
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(token), []byte(e.cfg.LinkSecret)) == 1
}

// linkConn is one edge link: a reader (the handler's goroutine), a writer
// goroutine draining a bounded queue, and one goroutine per session.
type linkConn struct {
	e      *Engine
	conn   *websocket.Conn
	ctx    context.Context
	cancel context.CancelFunc
	out    *link.Sender[outgoing]

	// writeSince is when the write under way began (UnixNano), 0 between
	// writes: watch drops a link stuck in one.
	writeSince atomic.Int64

	mu       sync.Mutex
	sessions map[uint64]*session
	wg       sync.WaitGroup
}

func (l *linkConn) run() {
	defer l.conn.CloseNow()
	go l.writer()
	go l.watch()
	err := l.read()
	closing := l.ctx.Err() != nil // ended from this side: the read failed on the closed connection
	l.cancel()
	l.wg.Wait() // sessions end with the link; they unfollow on the way out
	if err != nil && !errors.Is(err, context.Canceled) && !closing && websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		l.e.log.Info("chat: link ended", "err", err)
	}
	l.conn.Close(websocket.StatusNormalClosure, "")
}

func (l *linkConn) read() error {
	for {
		_, b, err := l.conn.Read(context.Background())
		if err != nil {
			return err
		}
		if err := link.Decode(b, l.receive); err != nil {
			l.e.log.Warn("chat: bad envelope", "err", err)
		}
	}
}

// receive acts on one envelope from the edge.
func (l *linkConn) receive(env link.Envelope) {
	switch env.Kind {
	case link.Open:
		l.open(env)
	case link.Data:
		l.mu.Lock()
		s := l.sessions[env.Session]
		l.mu.Unlock()
		if s == nil {
			return // the session already ended; the edge learns from our close
		}
		select {
		case s.in <- env.Frame:
		default:
			// One flooding visitor must not stall the link: refuse the frame.
			// It was not processed; a send carries its id so the widget retries it.
			s.refuse(env.Frame)
		}
	case link.Close:
		l.drop(env.Session)
	}
}

func (l *linkConn) open(env link.Envelope) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if old := l.sessions[env.Session]; old != nil {
		old.cancel() // the edge reused an id: the old session is gone
	}
	s := newSession(l, env.Session, env.Meta)
	l.sessions[env.Session] = s
	l.wg.Add(1)
	VisitorSessions.Inc()
	go func() {
		defer l.wg.Done()
		defer VisitorSessions.Dec()
		s.run()
	}()
}

// drop ends a session the edge closed.
func (l *linkConn) drop(id uint64) {
	l.mu.Lock()
	s := l.sessions[id]
	delete(l.sessions, id)
	l.mu.Unlock()
	if s != nil {
		s.cancel()
	}
}

// forget removes s from the link if it is still the session under its id.
func (l *linkConn) forget(s *session) {
	l.mu.Lock()
	if l.sessions[s.id] == s {
		delete(l.sessions, s.id)
	}
	l.mu.Unlock()
}

// outgoing is what one send queues for the writer: n encoded envelopes,
// comma-separated, that travel in the same link message.
type outgoing struct {
	b []byte
	n int
}

// send queues env for the writer, waiting while the queue is full (backpressure
// on the sessions); it reports false once the link is gone.
func (l *linkConn) send(env link.Envelope) bool {
	return l.sendEncoded(outgoing{l.encode(nil, env), 1})
}

// sendEncoded sends encoded envelopes like send: at once when the link is
// idle (on the session's goroutine, sparing the writer's wake-up), else
// through the writer's queue.
func (l *linkConn) sendEncoded(o outgoing) bool {
	if l.ctx.Err() != nil {
		return false
	}
	if ok, err := l.out.TrySend(o); ok {
		if err != nil {
			l.cancel() // a link that cannot take writes is dead; the edge reconnects
			return false
		}
		return true
	}
	return l.out.Queue(l.ctx, nil, o)
}

// writeMessage writes one link message, for the writer or a session that
// found the link idle.
func (l *linkConn) writeMessage(msg []byte) error {
	l.writeSince.Store(time.Now().UnixNano())
	err := l.conn.Write(context.Background(), websocket.MessageText, msg)
	l.writeSince.Store(0)
	return err
}

func (l *linkConn) writer() {
	err := l.out.Pump(l.ctx)
	if err != nil {
		l.cancel() // a link that cannot take writes is dead; the edge reconnects
	}
}

// watch ends the link when a write has taken longer than WriteTimeout
// (noticed within a quarter of it), as a timeout per write would, without
// a context and timer per write.
func (l *linkConn) watch() {
	t := time.NewTicker(max(l.e.cfg.WriteTimeout/4, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-t.C:
			if since := l.writeSince.Load(); since != 0 && time.Since(time.Unix(0, since)) > l.e.cfg.WriteTimeout {
				l.cancel() // closes the connection: the write fails, the reader ends
				return
			}
		}
	}
}

// encode appends an envelope to dst; it cannot fail for the types it holds.
// A data envelope (nearly all of them) is built by hand: its frame was
// marshalled by the session a moment ago, so json.Marshal's check and
// compaction of it would be a second pass over every frame for nothing.
func (l *linkConn) encode(dst []byte, env link.Envelope) []byte {
	if env.Kind == link.Data && env.Meta == nil && env.Code == 0 && env.Reason == "" && len(env.Frame) > 0 {
		if dst == nil {
			dst = make([]byte, 0, len(env.Frame)+40)
		}
		dst = append(dst, `{"s":`...)
		dst = strconv.AppendUint(dst, env.Session, 10)
		dst = append(dst, `,"k":"data","f":`...)
		dst = append(dst, env.Frame...)
		return append(dst, '}')
	}
	b, err := json.Marshal(env)
	if err != nil {
		l.e.log.Error("chat: encode envelope", "err", err)
		b, _ = json.Marshal(link.Envelope{Session: env.Session, Kind: link.Close, Code: 1011, Reason: "internal error"})
	}
	return append(dst, b...)
}

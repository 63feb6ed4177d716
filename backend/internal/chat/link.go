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
		l := &linkConn{e: e, conn: conn, out: make(chan link.Envelope, e.cfg.LinkQueue), sessions: map[uint64]*session{}}
		l.ctx, l.cancel = context.WithCancel(r.Context())
		defer context.AfterFunc(e.ctx, l.cancel)()
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
	out    chan link.Envelope

	mu       sync.Mutex
	sessions map[uint64]*session
	wg       sync.WaitGroup
}

func (l *linkConn) run() {
	defer l.conn.CloseNow()
	go l.writer()
	err := l.read()
	l.cancel()
	l.wg.Wait() // sessions end with the link; they unfollow on the way out
	if err != nil && !errors.Is(err, context.Canceled) && websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		l.e.log.Info("chat: link ended", "err", err)
	}
	l.conn.Close(websocket.StatusNormalClosure, "")
}

func (l *linkConn) read() error {
	for {
		_, b, err := l.conn.Read(l.ctx)
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

// send queues env for the writer, waiting while the queue is full (backpressure
// on the sessions); it reports false once the link is gone.
func (l *linkConn) send(env link.Envelope) bool {
	select {
	case l.out <- env:
		return true
	case <-l.ctx.Done():
		return false
	}
}

func (l *linkConn) writer() {
	err := link.Pump(l.ctx, l.out, l.encode, func(msg []byte) error {
		ctx, cancel := context.WithTimeout(l.ctx, l.e.cfg.WriteTimeout)
		defer cancel()
		return l.conn.Write(ctx, websocket.MessageText, msg)
	})
	if err != nil {
		l.cancel() // a link that cannot take writes is dead; the edge reconnects
	}
}

// encode marshals an envelope; it cannot fail for the types it holds.
// A data envelope (nearly all of them) is built by hand: its frame was
// marshalled by the session a moment ago, so json.Marshal's check and
// compaction of it would be a second pass over every frame for nothing.
func (l *linkConn) encode(env link.Envelope) []byte {
	if env.Kind == link.Data && env.Meta == nil && env.Code == 0 && env.Reason == "" && len(env.Frame) > 0 {
		b := make([]byte, 0, len(env.Frame)+40)
		b = append(b, `{"s":`...)
		b = strconv.AppendUint(b, env.Session, 10)
		b = append(b, `,"k":"data","f":`...)
		b = append(b, env.Frame...)
		return append(b, '}')
	}
	b, err := json.Marshal(env)
	if err != nil {
		l.e.log.Error("chat: encode envelope", "err", err)
		b, _ = json.Marshal(link.Envelope{Session: env.Session, Kind: link.Close, Code: 1011, Reason: "internal error"})
	}
	return b
}

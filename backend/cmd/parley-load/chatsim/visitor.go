// Package chatsim drives Parley the way its users do, over the real
// protocols, for the load generator and the end-to-end tests.
//
// A Visitor speaks the visitor WebSocket protocol through an edge with the
// widget's own session rules (widget.Session): unacknowledged messages are
// kept and resent with the same ids after every reconnect, hello carries
// token, conversation and last seq, and reconnects back off like the
// widget's. An Agent signs in to the inbox pages (CSRF double submit),
// replies through the reply form and follows conversations on the inbox's
// live socket.
package chatsim

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/widget"
)

// VisitorConfig says where and as whom a Visitor chats.
type VisitorConfig struct {
	// Edge is the edge's base URL, http://host:port.
	Edge     string
	Site     string // the account's public id
	Chatflow string // the chatflow's public id
	// IDPrefix makes the visitor's message ids unique; it must differ
	// between visitors of a test.
	IDPrefix string
	// LocalIP, when set, is the source address of the visitor's sockets
	// (127.0.0.x spreads many sockets over more ephemeral ports).
	LocalIP net.IP
	// OnFrame, when set, sees every frame the server sends, after the
	// session has applied it. It runs on the reading goroutine: keep it short.
	OnFrame func(widget.Frame)
	// OnClose, when set, learns how each socket ended: its close code (1006
	// without a close frame) and the delay before the next dial.
	OnClose func(code int, delay time.Duration)
	// TLS, when set, is the client TLS configuration for an https:// edge
	// (a private CA's roots, say).
	TLS *tls.Config
}

// Visitor is one simulated widget. Run keeps its socket up; Send queues a
// message the way the widget's send button does. Safe for concurrent use.
type Visitor struct {
	cfg    VisitorConfig
	url    string
	client *http.Client

	// mu guards sess and conn, and is held across writes so that frames
	// go out in the order the session produced them.
	mu   sync.Mutex
	sess *widget.Session
	conn *websocket.Conn

	dials    atomic.Int64
	welcomes atomic.Int64
}

// NewVisitor returns a visitor that has not connected yet.
func NewVisitor(cfg VisitorConfig) *Visitor {
	v := &Visitor{
		cfg:  cfg,
		url:  "ws" + strings.TrimPrefix(strings.TrimRight(cfg.Edge, "/"), "http") + "/ws",
		sess: widget.NewSession(cfg.Site, cfg.Chatflow, cfg.IDPrefix),
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	if cfg.LocalIP != nil {
		d.LocalAddr = &net.TCPAddr{IP: cfg.LocalIP}
	}
	// One transport per visitor: a WebSocket takes its TCP connection
	// over, so there is nothing to pool, and the source address is the
	// visitor's own.
	v.client = &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true, TLSClientConfig: cfg.TLS}}
	return v
}

// Run connects and reconnects, with the widget's backoff, until ctx ends or
// the server says reconnecting cannot help (unknown site or chatflow).
func (v *Visitor) Run(ctx context.Context) error {
	for {
		code := v.connect(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		v.mu.Lock()
		delay, retry := v.sess.Closed(code)
		v.mu.Unlock()
		if v.cfg.OnClose != nil {
			v.cfg.OnClose(code, delay)
		}
		if !retry {
			return errors.New("chatsim: the edge refused the visitor for good (close " + websocket.StatusCode(code).String() + ")")
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// connect runs one socket to its end and returns its close code (1006
// when it ended without a close frame).
func (v *Visitor) connect(ctx context.Context) int {
	v.mu.Lock()
	v.sess.Dial()
	v.mu.Unlock()
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c, _, err := websocket.Dial(dctx, v.url, &websocket.DialOptions{HTTPClient: v.client})
	cancel()
	if err != nil {
		return int(websocket.StatusAbnormalClosure)
	}
	v.dials.Add(1)
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)

	v.mu.Lock()
	v.conn = c
	err = v.writeLocked(ctx, v.sess.Hello())
	v.mu.Unlock()
	defer func() {
		v.mu.Lock()
		v.conn = nil
		v.mu.Unlock()
	}()
	if err != nil {
		return closeCode(err)
	}
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return closeCode(err)
		}
		var f widget.Frame
		if json.Unmarshal(data, &f) != nil {
			continue // not ours to judge here; the tests check frames they care about
		}
		if f.Type == widget.FrameWelcome {
			v.welcomes.Add(1)
		}
		v.mu.Lock()
		u := v.sess.Receive(f)
		for _, out := range u.Send {
			if err = v.writeLocked(ctx, out); err != nil {
				break
			}
		}
		v.mu.Unlock()
		if v.cfg.OnFrame != nil {
			v.cfg.OnFrame(f)
		}
		if err != nil {
			return closeCode(err)
		}
	}
}

func closeCode(err error) int {
	if code := websocket.CloseStatus(err); code != -1 {
		return int(code)
	}
	return int(websocket.StatusAbnormalClosure)
}

// writeLocked sends f on the current socket; with none, the frame waits in
// the session (its outbox goes out after the next welcome).
func (v *Visitor) writeLocked(ctx context.Context, f widget.Frame) error {
	if v.conn == nil {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := v.conn.Write(wctx, websocket.MessageText, []byte(widget.EncodeFrame(f)))
	if err != nil {
		v.conn.CloseNow() // the reader ends and the socket is redialed
	}
	return err
}

// Send queues text as the widget does when the visitor presses Send and
// returns the message's id. The message goes out now when connected, else
// after the next welcome, and again after every reconnect until acknowledged.
func (v *Visitor) Send(ctx context.Context, text string) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	u, err := v.sess.Send(text)
	if err != nil {
		return "", err
	}
	es := v.sess.Entries()
	id := es[len(es)-1].ID // Send appends the new message last
	for _, f := range u.Send {
		if v.writeLocked(ctx, f) != nil {
			break // the message stays in the outbox
		}
	}
	return id, nil
}

// Unsent returns how many messages wait for an acknowledgement.
func (v *Visitor) Unsent() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.sess.Unsent()
}

// Connected reports whether the visitor has been welcomed on a live socket.
func (v *Visitor) Connected() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.sess.State() == widget.ConnConnected
}

// Conversation returns the public id of the visitor's conversation, empty
// before the first message is stored.
func (v *Visitor) Conversation() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.sess.Conversation
}

// Token returns the visitor token the server gave.
func (v *Visitor) Token() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.sess.Token
}

// Entries returns a copy of what the widget would show, in order.
func (v *Visitor) Entries() []widget.Entry {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]widget.Entry(nil), v.sess.Entries()...)
}

// Dials returns how many sockets the visitor has opened.
func (v *Visitor) Dials() int64 { return v.dials.Load() }

// Welcomes returns how many welcome frames the visitor has received.
func (v *Visitor) Welcomes() int64 { return v.welcomes.Load() }

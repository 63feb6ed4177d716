package chatsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Agent is an agent signed in to the inbox pages, as a browser would be:
// a cookie jar with the session cookie and the session's CSRF token.
type Agent struct {
	base   string
	client *http.Client
	csrf   string
}

var (
	fieldCSRF = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	metaCSRF  = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)
)

// SignIn fills in the sign-in form at base (an edge or a backend,
// http://host:port) the way a browser does: the form's double-submit token
// comes with the page and its cookie.
func SignIn(ctx context.Context, base, email, password string) (*Agent, error) {
	jar, _ := cookiejar.New(nil)
	a := &Agent{base: strings.TrimRight(base, "/"), client: &http.Client{
		Jar:           jar,
		Timeout:       15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	status, page, err := a.do(ctx, http.MethodGet, "/inbox/login", nil, nil)
	if err != nil {
		return nil, err
	}
	m := fieldCSRF.FindStringSubmatch(page)
	if status != http.StatusOK || m == nil {
		return nil, fmt.Errorf("chatsim: sign-in page answered %d without a form token", status)
	}
	form := url.Values{"csrf_token": {m[1]}, "email": {email}, "password": {password}}
	if status, page, err = a.do(ctx, http.MethodPost, "/inbox/login", form, nil); err != nil {
		return nil, err
	}
	if status != http.StatusSeeOther {
		return nil, fmt.Errorf("chatsim: sign-in answered %d: %.200s", status, page)
	}
	if status, page, err = a.do(ctx, http.MethodGet, "/inbox", nil, nil); err != nil {
		return nil, err
	}
	if m = metaCSRF.FindStringSubmatch(page); status != http.StatusOK || m == nil {
		return nil, fmt.Errorf("chatsim: inbox page answered %d without a CSRF token", status)
	}
	a.csrf = m[1]
	return a, nil
}

func (a *Agent) do(ctx context.Context, method, path string, form url.Values, header map[string]string) (int, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return 0, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, string(raw), err
}

// Reply sends text to conversation (its numeric inbox id) through the
// reply form, as the thread page's script does, and returns the stored
// message's seq. clientID makes a retry idempotent.
func (a *Agent) Reply(ctx context.Context, conversation int64, clientID, text string) (int64, error) {
	status, body, err := a.do(ctx, http.MethodPost, "/inbox/conversations/"+strconv.FormatInt(conversation, 10)+"/messages",
		url.Values{"text": {text}, "client_id": {clientID}},
		map[string]string{"X-CSRF-Token": a.csrf, "Accept": "application/json"})
	if err != nil {
		return 0, err
	}
	var out struct {
		Seq   int64  `json:"seq"`
		Error string `json:"error"`
	}
	json.Unmarshal([]byte(body), &out)
	if status != http.StatusOK || out.Seq == 0 {
		return 0, fmt.Errorf("chatsim: reply answered %d: %s", status, out.Error)
	}
	return out.Seq, nil
}

// DialLive opens the inbox's live socket with the agent's session cookie,
// one frame per message (ReadLive).
func (a *Agent) DialLive(ctx context.Context) (*websocket.Conn, error) {
	return a.dialLive(ctx, "")
}

// DialLiveBatches opens the live socket as the inbox pages do, reading
// several frames in one message (ReadLiveBatch).
func (a *Agent) DialLiveBatches(ctx context.Context) (*websocket.Conn, error) {
	return a.dialLive(ctx, "?batch=1")
}

func (a *Agent) dialLive(ctx context.Context, query string) (*websocket.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(a.base, "http")+"/inbox/ws"+query, &websocket.DialOptions{HTTPClient: a.client})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(4 << 20)
	return c, nil
}

// LiveFrame is one frame of the inbox live socket (see backend/internal/inbox/live.go).
type LiveFrame struct {
	Type         string     `json:"type"`
	Conversation int64      `json:"conversation,omitempty"`
	Seq          int64      `json:"seq,omitempty"`
	ID           string     `json:"id,omitempty"`
	From         string     `json:"from,omitempty"`
	Name         string     `json:"name,omitempty"`
	Text         string     `json:"text,omitempty"`
	Internal     bool       `json:"internal,omitempty"`
	At           string     `json:"at,omitempty"`
	Items        []ListItem `json:"items,omitempty"`       // list, alerts, rows
	Removed      []string   `json:"removed,omitempty"`     // rows: public ids
	AlertItems   []ListItem `json:"alert_items,omitempty"` // rows: off the list
	Message      string     `json:"message,omitempty"`
}

// ListItem is one conversation of the live list.
type ListItem struct {
	ID       int64  `json:"id"`
	PublicID string `json:"public_id"`
	Preview  string `json:"preview"`
}

// ReadLive reads the next frame of a live socket.
func ReadLive(ctx context.Context, c *websocket.Conn) (LiveFrame, error) {
	var f LiveFrame
	_, data, err := c.Read(ctx)
	if err != nil {
		return f, err
	}
	return f, json.Unmarshal(data, &f)
}

// ReadLiveBatch reads the next message of a socket from DialLiveBatches:
// its frames, in order (one, or a JSON array of several).
func ReadLiveBatch(ctx context.Context, c *websocket.Conn) ([]LiveFrame, error) {
	_, data, err := c.Read(ctx)
	if err != nil {
		return nil, err
	}
	if len(data) > 0 && data[0] == '[' {
		var fs []LiveFrame
		return fs, json.Unmarshal(data, &fs)
	}
	var f LiveFrame
	err = json.Unmarshal(data, &f)
	return []LiveFrame{f}, err
}

// WriteLive sends a request on a live socket: {"type":"list"} or
// {"type":"subscribe","conversation":id,"last_seq":n}.
func WriteLive(ctx context.Context, c *websocket.Conn, typ string, conversation, lastSeq int64) error {
	b, _ := json.Marshal(map[string]any{"type": typ, "conversation": conversation, "last_seq": lastSeq})
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return c.Write(wctx, websocket.MessageText, b)
}

// Watcher follows every conversation of an agent's inboxes; see Agent.Watch.
type Watcher struct {
	a  *Agent
	fn func(LiveFrame)
	wg sync.WaitGroup

	mu        sync.Mutex
	following map[int64]string // conversation id → public id
	redials   int
}

// Watch follows, until ctx ends, every open conversation of the agent's
// inboxes the way the inbox pages do: the list socket names conversations
// as they appear, and each is followed on a live socket of its own from
// its first message. A dropped socket is redialed with backoff and
// resubscribes after the last seq it delivered. fn gets every message
// frame; calls for one conversation come one at a time, in the order its
// socket delivered them (different conversations run concurrently).
func (a *Agent) Watch(ctx context.Context, fn func(LiveFrame)) *Watcher {
	w := &Watcher{a: a, fn: fn, following: map[int64]string{}}
	w.wg.Add(1)
	go func() { defer w.wg.Done(); w.list(ctx) }()
	return w
}

// Following returns how many conversations are being followed.
func (w *Watcher) Following() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.following)
}

// Conversations returns the followed conversations: numeric id → public id.
func (w *Watcher) Conversations() map[int64]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := make(map[int64]string, len(w.following))
	for k, v := range w.following {
		m[k] = v
	}
	return m
}

// Redials returns how many times a live socket was dialed again after dropping.
func (w *Watcher) Redials() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.redials
}

// Wait returns once every socket has ended (after ctx ends).
func (w *Watcher) Wait() { w.wg.Wait() }

func (w *Watcher) follow(ctx context.Context, it ListItem) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.following[it.ID]; ok || it.ID == 0 {
		return
	}
	w.following[it.ID] = it.PublicID
	w.wg.Add(1)
	go func() { defer w.wg.Done(); w.thread(ctx, it.ID) }()
}

// list keeps the list socket up and follows every conversation it names.
func (w *Watcher) list(ctx context.Context) {
	w.redial(ctx, func(c *websocket.Conn) error {
		if err := WriteLive(ctx, c, "list", 0, 0); err != nil {
			return err
		}
		for {
			fs, err := ReadLiveBatch(ctx, c)
			if err != nil {
				return err
			}
			for _, f := range fs {
				switch f.Type {
				case "list", "rows":
					for _, it := range f.Items {
						w.follow(ctx, it)
					}
				}
			}
		}
	})
}

// thread follows one conversation, resubscribing after the last seq seen.
func (w *Watcher) thread(ctx context.Context, id int64) {
	var last int64
	w.redial(ctx, func(c *websocket.Conn) error {
		if err := WriteLive(ctx, c, "subscribe", id, last); err != nil {
			return err
		}
		for {
			fs, err := ReadLiveBatch(ctx, c)
			if err != nil {
				return err
			}
			for _, f := range fs {
				if f.Type == "message" && f.Conversation == id {
					last = max(last, f.Seq)
					w.fn(f)
				}
			}
		}
	})
}

// redial runs session on live sockets until ctx ends, backing off between
// attempts: 50 ms doubling to 2 s, jittered.
func (w *Watcher) redial(ctx context.Context, session func(*websocket.Conn) error) {
	backoff := 50 * time.Millisecond
	for first := true; ctx.Err() == nil; first = false {
		if !first {
			w.mu.Lock()
			w.redials++
			w.mu.Unlock()
		}
		c, err := w.a.DialLiveBatches(ctx)
		if err == nil {
			start := time.Now()
			err = session(c)
			c.CloseNow()
			if time.Since(start) > 2*time.Second {
				backoff = 50 * time.Millisecond
			}
		}
		if ctx.Err() != nil || errors.Is(err, context.Canceled) {
			return
		}
		t := time.NewTimer(backoff/2 + rand.N(backoff/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

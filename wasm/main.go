//go:build js && wasm

// Command wasm is the visitor widget's browser shell, built as widget.wasm.
//
// loader.js sets window.__parleyBoot = {base, site} and runs it. The shell
// fetches the site's published chatflows from the edge, picks the one to
// show (package widget decides), renders the launcher and chat window in a
// Shadow DOM root, and speaks the visitor protocol over a WebSocket to the
// edge once the visitor opens the chat or sends a message. All state lives
// in one goroutine (run); JavaScript callbacks only queue events for it.
package main

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/parleychat/parley/widget"
)

// Statuses window.Parley.status() reports.
const (
	statusLoading = "loading"
	statusReady   = "ready"
	statusHidden  = "hidden" // no chatflow applies to this page, or the launcher is hidden
	statusFailed  = "failed"
)

// pingEvery keeps idle sockets alive through proxies; a socket silent for
// deadAfter is taken for dead (browsers notice a vanished peer late).
const (
	pingEvery = 25 * time.Second
	deadAfter = 2*pingEvery + 10*time.Second
)

type eventKind int

const (
	evOpen eventKind = iota
	evClose
	evToggle
	evSend
	evSocketOpen
	evSocketMessage
	evSocketClose
	evRetry
	evTick
	evTyping     // the visitor typed in the message box
	evVisibility // the page became visible or hidden
	evEmail      // the visitor submitted the email form
	evRelive     // a live indicator may have expired: render again
)

type event struct {
	kind   eventKind
	socket safejs.Value // the socket events
	data   string
	code   int
	gen    int
}

// The queue between JavaScript callbacks and run. Callbacks must never
// block (they hold up the page's event loop), so it is unbounded.
var (
	mu     sync.Mutex
	queue  []event
	wake   = make(chan struct{}, 1)
	status = statusLoading
)

func post(e event) {
	mu.Lock()
	queue = append(queue, e)
	mu.Unlock()
	select {
	case wake <- struct{}{}:
	default:
	}
}

func setStatus(s string) {
	mu.Lock()
	status = s
	mu.Unlock()
}

func main() {
	exposeAPI()
	sh, err := start()
	if err != nil {
		setStatus(statusFailed)
		warn("Parley: " + err.Error())
		select {} // keep the API answering "failed"
	}
	if sh == nil {
		setStatus(statusHidden)
		select {}
	}
	setStatus(statusReady)
	sh.run()
}

// exposeAPI replaces the loader's window.Parley stub with the live one.
func exposeAPI() {
	api := get(global, "Parley")
	if api.Type() != safejs.TypeObject {
		api = newObject()
		set(global, "Parley", api)
	}
	set(api, "status", funcOf(func(safejs.Value, []safejs.Value) any {
		mu.Lock()
		defer mu.Unlock()
		return status
	}))
	set(api, "open", funcOf(func(safejs.Value, []safejs.Value) any {
		post(event{kind: evOpen})
		return nil
	}))
	set(api, "close", funcOf(func(safejs.Value, []safejs.Value) any {
		post(event{kind: evClose})
		return nil
	}))
}

func warn(msg string) {
	if c := get(global, "console"); !c.IsUndefined() {
		try(c, "warn", msg)
	}
}

// start reads the boot settings, fetches the config and renders the widget.
// It returns nil, nil when no chatflow is to be shown.
func start() (*shell, error) {
	boot := get(global, "__parleyBoot")
	base := strings.TrimRight(str(boot, "base"), "/")
	site := str(boot, "site")
	if base == "" || site == "" {
		return nil, errors.New("missing boot settings (base, site)")
	}
	cfg, err := fetchConfig(base, site)
	if err != nil {
		return nil, err
	}
	loc := get(global, "location")
	visit := widget.Visit{URL: str(loc, "href"), Referrer: str(get(global, "document"), "referrer")}
	flow, ok := widget.PickChatflow(cfg, visit)
	if !ok || flow.Presence.Hide {
		return nil, nil
	}
	sess := widget.NewSession(site, flow.ID, randomID())
	sess.Page, sess.Referrer = visit.URL, visit.Referrer
	sess.Lang, sess.EmailCapture, sess.Presence = flow.Language, flow.EmailCapture, flow.Presence
	sh := &shell{base: base, flow: flow, sess: sess, msgEls: map[string]safejs.Value{}}
	sh.render()
	if firstErr != nil {
		return nil, firstErr
	}
	if truthy(boot, "open") {
		sh.setOpen(true)
	}
	return sh, nil
}

// fetchConfig fetches the site's published chatflows, retrying network and
// server errors a couple of times.
func fetchConfig(base, site string) (*widget.Config, error) {
	esc, err := safejs.Global().Call("encodeURIComponent", site)
	if err != nil {
		return nil, err
	}
	siteEsc, _ := esc.String()
	url := base + "/v1/sites/" + siteEsc + "/config"
	var last error
	for attempt, wait := 0, time.Second; attempt < 3; attempt, wait = attempt+1, wait*3 {
		if attempt > 0 {
			time.Sleep(wait)
		}
		cfg, retry, err := fetchConfigOnce(url)
		if err == nil {
			return cfg, nil
		}
		last = err
		if !retry {
			break
		}
	}
	return nil, last
}

func fetchConfigOnce(url string) (cfg *widget.Config, retry bool, err error) {
	opts := newObject()
	set(opts, "credentials", "omit")
	p, err := global.Call("fetch", url, opts)
	if err != nil {
		return nil, false, err
	}
	resp, err := await(p)
	if err != nil {
		return nil, true, errors.New("config: " + err.Error())
	}
	if code := int(num(resp, "status")); code != 200 {
		return nil, code >= 500, errors.New("config: HTTP " + strconv.Itoa(code))
	}
	p, err = resp.Call("text")
	if err != nil {
		return nil, true, err
	}
	body, err := await(p)
	if err != nil {
		return nil, true, err
	}
	v, err := get(global, "JSON").Call("parse", body)
	if err != nil {
		return nil, false, errors.New("config: bad JSON")
	}
	return decodeConfig(v), false, nil
}

// decodeConfig reads the fields the shell uses from a parsed widget.Config.
func decodeConfig(v safejs.Value) *widget.Config {
	cfg := &widget.Config{Site: str(v, "site")}
	flows := get(v, "chatflows")
	n, _ := flows.Length()
	for i := 0; i < n; i++ {
		f, err := flows.Index(i)
		if err != nil {
			continue
		}
		look, presence, ec := get(f, "look"), get(f, "presence"), get(f, "email_capture")
		lang := str(f, "language")
		prompt := map[string]string{}
		if t := str(get(ec, "prompt"), lang); t != "" {
			prompt[lang] = t // only the chatflow's language is ever shown
		}
		cfg.Chatflows = append(cfg.Chatflows, widget.ChatflowConfig{
			ID:           str(f, "id"),
			Channel:      str(f, "channel"),
			Type:         str(f, "type"),
			Language:     str(f, "language"),
			Priority:     int(num(f, "priority")),
			Look:         widget.Look{AccentColor: str(look, "accent_color")},
			HeadingName:  str(f, "heading_name"),
			HeadingImage: str(f, "heading_image"),
			Welcome:      str(f, "welcome"),
			EmailCapture: widget.EmailCapture{When: str(ec, "when"), Prompt: prompt},
			Presence: widget.Presence{
				State:  str(presence, "state"),
				Text:   str(presence, "text"),
				BackAt: str(presence, "back_at"),
				Hide:   truthy(presence, "hide"),
			},
		})
	}
	return cfg
}

// randomID returns 96 random bits in hex: the prefix of this page view's
// message ids.
func randomID() string {
	buf := make([]byte, 12)
	arr, err := get(global, "Uint8Array").New(len(buf))
	if err == nil {
		if _, err = get(global, "crypto").Call("getRandomValues", arr); err == nil {
			_, err = safejs.CopyBytesToGo(buf, arr)
		}
	}
	if err != nil {
		// No Web Crypto (very old browser): ids need only be unique, not secret.
		now := time.Now().UnixNano()
		for i := range buf {
			buf[i] = byte(now >> (8 * (i % 8)))
		}
	}
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 2*len(buf))
	for _, b := range buf {
		out = append(out, hex[b>>4], hex[b&15])
	}
	return string(out)
}

// run is the shell's one goroutine: it owns the session and the DOM.
func (sh *shell) run() {
	go func() {
		for range time.Tick(pingEvery) {
			post(event{kind: evTick})
		}
	}()
	for range wake {
		mu.Lock()
		q := queue
		queue = nil
		mu.Unlock()
		for _, e := range q {
			sh.handle(e)
		}
	}
}

func (sh *shell) handle(e event) {
	switch e.kind {
	case evOpen:
		sh.setOpen(true)
	case evClose:
		sh.setOpen(false)
	case evToggle:
		sh.setOpen(!sh.open)
	case evSend:
		sh.send()
	case evSocketOpen:
		if e.socket.Equal(sh.ws) {
			sh.lastRecv = time.Now()
			sh.write(sh.sess.Hello())
		}
	case evSocketMessage:
		if e.socket.Equal(sh.ws) {
			sh.lastRecv = time.Now()
			sh.receive(e.data)
		}
	case evSocketClose:
		if !e.socket.Equal(sh.ws) {
			return
		}
		sh.ws = safejs.Null()
		delay, retry := sh.sess.Closed(e.code)
		if retry {
			gen := sh.gen
			time.AfterFunc(delay, func() { post(event{kind: evRetry, gen: gen}) })
		}
		sh.renderStatus()
	case evRetry:
		if e.gen == sh.gen && sh.ws.IsNull() {
			sh.connect()
		}
	case evTick:
		if sh.ws.IsNull() || sh.sess.State() == widget.ConnIdle {
			return
		}
		if time.Since(sh.lastRecv) > deadAfter {
			// No pong for too long: drop the socket; its close event
			// starts the reconnect.
			try(sh.ws, "close", 4000, "timeout")
			return
		}
		sh.write(widget.Frame{Type: widget.FramePing})
	case evTyping:
		if f, ok := sh.sess.Typing(); ok {
			sh.write(f)
		}
	case evVisibility:
		sh.markRead()
	case evEmail:
		sh.submitEmail()
	case evRelive:
		sh.renderLive()
	}
}

// markRead tells the server how far the visitor has read, when the chat
// is open on a visible page (a hidden tab has read nothing).
func (sh *shell) markRead() {
	if !sh.open || str(get(global, "document"), "visibilityState") != "visible" {
		return
	}
	if f, ok := sh.sess.Read(); ok {
		sh.write(f)
	}
}

// submitEmail takes the email form's address; a refused one stays in the
// field with the reason in the status line.
func (sh *shell) submitEmail() {
	u, err := sh.sess.SubmitEmail(str(sh.emailInput, "value"))
	if err == nil {
		sh.apply(u)
		if sh.sess.State() == widget.ConnIdle {
			sh.connect()
		}
	}
	sh.renderStatus()
	sh.renderLive()
}

// setOpen shows or hides the chat window; opening connects.
func (sh *shell) setOpen(open bool) {
	sh.open = open
	set(sh.win, "hidden", !open)
	attr(sh.launcher, "aria-expanded", strconv.FormatBool(open))
	if open {
		attr(sh.launcher, "aria-label", "Close chat")
		if sh.sess.State() == widget.ConnIdle {
			sh.connect()
		}
		sh.scrollDown()
		try(sh.input, "focus")
		sh.markRead()
	} else {
		attr(sh.launcher, "aria-label", "Open chat")
	}
}

// send takes the input's text into the session; a refused text stays in
// the input so the visitor can fix it.
func (sh *shell) send() {
	value := str(sh.input, "value")
	u, err := sh.sess.Send(value)
	if err == nil {
		set(sh.input, "value", "")
		sh.apply(u)
		if sh.sess.State() == widget.ConnIdle {
			sh.connect()
		}
	}
	sh.renderStatus()
	sh.renderLive()
}

// connect opens a socket to the edge's /ws.
func (sh *shell) connect() {
	sh.sess.Dial()
	sh.gen++
	ws, err := get(global, "WebSocket").New(wsURL(sh.base))
	if err != nil {
		// An unusable URL will not get better; still, report and retry.
		warn("Parley: " + err.Error())
		delay, _ := sh.sess.Closed(1006)
		gen := sh.gen
		time.AfterFunc(delay, func() { post(event{kind: evRetry, gen: gen}) })
		sh.renderStatus()
		return
	}
	sh.ws = ws
	set(ws, "onopen", socketOpen)
	set(ws, "onmessage", socketMessage)
	set(ws, "onclose", socketClose)
	sh.renderStatus()
}

// The socket callbacks are shared by every socket; the socket is `this`.
var (
	socketOpen = funcOf(func(this safejs.Value, _ []safejs.Value) any {
		post(event{kind: evSocketOpen, socket: this})
		return nil
	})
	socketMessage = funcOf(func(this safejs.Value, args []safejs.Value) any {
		post(event{kind: evSocketMessage, socket: this, data: str(arg(args, 0), "data")})
		return nil
	})
	socketClose = funcOf(func(this safejs.Value, args []safejs.Value) any {
		post(event{kind: evSocketClose, socket: this, code: int(num(arg(args, 0), "code"))})
		return nil
	})
)

// wsURL turns the edge's base URL into its WebSocket URL.
func wsURL(base string) string {
	switch {
	case strings.HasPrefix(base, "https://"):
		return "wss://" + base[len("https://"):] + "/ws"
	case strings.HasPrefix(base, "http://"):
		return "ws://" + base[len("http://"):] + "/ws"
	}
	return base + "/ws"
}

// write sends f if the socket is open; anything unsent stays in the
// session's outbox and goes after the next welcome.
func (sh *shell) write(f widget.Frame) {
	if sh.ws.IsNull() || num(sh.ws, "readyState") != 1 {
		return
	}
	if err := try(sh.ws, "send", widget.EncodeFrame(f)); err != nil {
		warn("Parley: " + err.Error())
	}
}

func (sh *shell) receive(data string) {
	v, err := get(global, "JSON").Call("parse", data)
	if err != nil || v.Type() != safejs.TypeObject {
		return // not ours to act on; the server never sends this
	}
	f := widget.Frame{
		Type:         str(v, "type"),
		Token:        str(v, "token"),
		Conversation: str(v, "conversation"),
		LastSeq:      int64(num(v, "last_seq")),
		ID:           str(v, "id"),
		Seq:          int64(num(v, "seq")),
		Text:         str(v, "text"),
		From:         str(v, "from"),
		Name:         str(v, "name"),
		Avatar:       str(v, "avatar"),
		At:           str(v, "at"),
		Code:         str(v, "code"),
		Message:      str(v, "message"),
		State:        str(v, "state"),
		BackAt:       str(v, "back_at"),
		Hide:         truthy(v, "hide"),
		Email:        str(v, "email"),
	}
	sh.apply(sh.sess.Receive(f))
	sh.renderStatus()
	sh.renderLive()
	switch f.Type {
	case widget.FrameTyping:
		// Render again once the indicator may have expired.
		time.AfterFunc(widget.TypingShowFor+50*time.Millisecond, func() { post(event{kind: evRelive}) })
	case widget.FrameMessage, widget.FrameWelcome:
		sh.markRead()
	}
}

// apply carries out an Update: frames to send, entries to (re)render.
func (sh *shell) apply(u widget.Update) {
	for _, f := range u.Send {
		sh.write(f)
	}
	if len(u.Changed) > 0 {
		sh.renderEntries(u.Changed)
	}
}

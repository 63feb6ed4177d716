//go:build js && wasm

// Command wasm is the visitor widget's browser shell, built as widget.wasm.
//
// loader.js sets window.__parleyBoot (base, site, the page's settings, the
// widget's look as a promise, the language files' URLs, emit and attach) and
// runs it. The shell fetches the site's published chatflows from the edge,
// picks the one to show (package widget decides), fetches that chatflow's
// language, renders the launcher and chat window in a Shadow DOM root, feeds
// the page's scroll, pointer and timer events to widget.Director, and speaks
// the visitor protocol over a WebSocket to the edge once the visitor opens
// the chat or sends a message. All state lives in one goroutine (run);
// JavaScript callbacks only queue events for it.
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

// Statuses window.Parley.status() reports (the loader adds "not_loaded"
// and "loading").
const (
	statusReady   = "ready"
	statusHidden  = "hidden" // no chatflow applies to this page, or the launcher is hidden
	statusFailed  = "failed"
	statusRemoved = "removed" // Parley.remove(); Parley.load() brings it back
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
	evTranscript // "email me this conversation"
	evRelive     // a live indicator may have expired: render again
	evResend     // refused messages are due again (Update.ResendIn)
	evStart      // Parley.refresh() or the first start: pick the chatflow for this page
	evRemove     // Parley.remove()
	evScroll     // the page scrolled
	evLeave      // the pointer left the document at clientY (code)
	evTrigger    // the time-on-page trigger is due
	evDismiss    // the visitor dismissed the welcome prompt
	evKey        // a key in the widget: see on
	evCookie     // the cookie banner: code 1 accept, 0 decline
	evDataAgree  // "I agree" to data processing
	evComm       // the communication checkbox changed
	evScore      // a survey score button: code is the score
	evSurvey     // the survey form was submitted
	evAttach     // the attach button: pick a file
	evFile       // a file was picked
	evUploaded   // an upload ended: data is its error code, "" when stored
	evDownload   // a file link: data is its URL, text its name
	evTab        // the tabs: code 0 chat, 1 help
	evHelpInput  // the visitor typed in the help search
	evHelpSearch // the debounced search is due: code is its generation
	evHelpData   // a help fetch ended: data is what, val the JSON, code the generation
	evArticle    // open a help article: data is its path on the edge
	evHelpBack   // back from an article to the list
	evHelpMore   // "and N more" of a help category: data is its id, code the titles shown
	evHelpChat   // "Chat with us" from an article
	evQuick      // a quick reply: data is its text
	evEmoji      // the emoji button: show or hide the picker
	evEmojiPick  // an emoji picked: data is it
	evConfig     // the config fetched again: cfg
)

type event struct {
	kind   eventKind
	socket safejs.Value // the socket events
	data   string
	code   int
	gen    int
	owner  *shell // timer events: the shell that set them
	api    bool   // evClose: the page's script closed it, not the visitor
	text   string
	val    safejs.Value
	cfg    *widget.Config
}

// The queue between JavaScript callbacks and run. Callbacks must never
// block (they hold up the page's event loop), so it is unbounded.
var (
	mu    sync.Mutex
	queue []event
	wake  = make(chan struct{}, 1)
)

//go:noinline
func post(e event) {
	mu.Lock()
	queue = append(queue, e)
	mu.Unlock()
	select {
	case wake <- struct{}{}:
	default:
	}
}

// app is what outlives one rendered widget: boot settings, the fetched
// config, look and language, and the shell on screen (nil when none).
type app struct {
	boot      safejs.Value
	base      string
	site      string
	cfg       *widget.Config
	css, html string
	sheet     safejs.Value // the CSS as a constructed stylesheet, once made
	lang      string       // the language loaded into widget.UseTexts
	sh        *shell
	status    string
	listening bool // the page listeners are set
	// Identification's outcome (idUnknown until a welcome says) and the
	// contact's properties: they feed targeting.
	ident int
	props widget.Properties
	// resume is an email's reopen-link token taken from the address, for
	// the next session's hello.
	resume string
	// The visit (countPage): pages viewed in it, its first referrer, and
	// the address last counted.
	pages                int
	visitRef, countedURL string
}

// Identification outcomes of app.ident.
const (
	idUnknown = iota
	idYes
	idNo
)

var a app

func setStatus(s string) {
	if a.status != s {
		a.status = s
		set(a.boot, "state", s)
	}
}

// emit fires one of the page's events (Parley.on) with a data object of
// key, value pairs.
//
//go:noinline
func emit(name string, kv ...any) {
	data := newObject()
	for i := 0; i+1 < len(kv); i += 2 {
		set(data, kv[i].(string), kv[i+1])
	}
	try(a.boot, "emit", name, data)
}

func main() {
	a.boot = get(global, "__parleyBoot")
	a.base = str(a.boot, "base")
	for strings.HasSuffix(a.base, "/") {
		a.base = a.base[:len(a.base)-1]
	}
	a.site = str(a.boot, "site")
	widget.Lower = jsLower
	post(event{kind: evStart}) // first: calls the page queued apply to what start shows
	exposeAPI()
	var tick func()
	tick = func() { post(event{kind: evTick}); time.AfterFunc(pingEvery, tick) }
	time.AfterFunc(pingEvery, tick) // a Ticker would link time's formatting code (size)
	run()
}

// jsLower is the browser's String.prototype.toLowerCase: Unicode-aware
// without Go's case tables in widget.wasm (see widget.Lower).
func jsLower(s string) string {
	v, err := safejs.ValueOf(s)
	if err == nil {
		if v, err = v.Call("toLowerCase"); err == nil {
			if l, err := v.String(); err == nil {
				return l
			}
		}
	}
	return s
}

// exposeAPI hands the loader the calls of window.Parley; calls queued
// before now run at once, in order.
func exposeAPI() {
	impl := newObject()
	for i, name := range [...]string{"open", "close", "refresh", "remove"} {
		e := [...]event{{kind: evOpen}, {kind: evClose, api: true}, {kind: evStart}, {kind: evRemove}}[i]
		set(impl, name, funcOf(func(safejs.Value, []safejs.Value) any {
			post(e)
			return nil
		}))
	}
	try(a.boot, "attach", impl)
}

func warn(msg string) {
	if c := get(global, "console"); !c.IsUndefined() {
		try(c, "warn", msg)
	}
}

// fail reports an error that stops the widget; the page carries on.
func fail(err error) {
	warn("Parley: " + err.Error())
	teardown()
	setStatus(statusFailed)
}

// start picks the chatflow for the page as it is now (also after an SPA
// navigation, Parley.refresh) and shows it: the same chatflow keeps its
// conversation; another one starts afresh; none hides the widget.
func start() {
	if a.base == "" || a.site == "" {
		fail(errors.New("missing boot settings (base, site)"))
		return
	}
	if a.cfg == nil {
		cfg, err := fetchConfig(a.base, a.site)
		if err != nil {
			fail(err)
			return
		}
		a.cfg = cfg
	}
	if a.html == "" {
		look, err := await(get(a.boot, "look"))
		if err != nil {
			fail(errors.New("widget look: " + err.Error()))
			return
		}
		a.css, a.html = str(look, "0"), str(look, "1")
	}
	visit := currentVisit()
	// An email's reopen link: its token goes to the server in hello, and
	// out of the address bar (bookmarks, shares, later Referer headers).
	if tok, rest := widget.TakeResume(visit.URL); tok != "" {
		a.resume, visit.URL = tok, rest
		try(get(global, "history"), "replaceState", safejs.Null(), "", rest)
	}
	flow, ok := widget.PickChatflow(a.cfg, visit)
	if ok && a.sh != nil && a.sh.flow.ID == flow.ID {
		a.sh.sess.Page = visit.URL
		a.sh.renderLive()
		return
	}
	teardown()
	if !ok {
		setStatus(statusHidden)
		return
	}
	widget.SpeakVisitorLanguage(flow, browserLanguages())
	if err := loadLanguage(widget.Language(flow.Language)); err != nil {
		fail(err)
		return
	}
	sess := widget.NewSession(a.site, flow.ID, randomID())
	sess.Page, sess.Referrer = visit.URL, visit.Referrer
	sess.Resume, a.resume = a.resume, ""
	sess.Lang, sess.EmailCapture, sess.Presence = flow.Language, flow.EmailCapture, flow.Presence
	sh := &shell{flow: flow, sess: sess, device: visit.Device, msgEls: map[string]safejs.Value{}}
	sh.privacySetup()
	sh.inline = inlineTarget()
	if sh.inline.IsUndefined() {
		minimised := widget.Minimised(str(get(global, "document"), "cookie"))
		sh.dir = widget.NewDirector(flow, visit.Device, minimised, time.Now())
	}
	firstErr = nil
	sh.render()
	if firstErr != nil {
		sh.host = safejs.Undefined()
		fail(firstErr)
		return
	}
	a.sh = sh
	listen()
	setStatus(statusReady)
	sh.renderLive()
	if sh.dir != nil {
		sh.show(sh.dir.Now())
		sh.armTimer()
	} else {
		sh.setOpen(true, false)
	}
	// Identified visitors connect at once (their contact's properties
	// feed targeting), and so does a visitor with a stored conversation
	// (agent answers show as unread on every page), and one whose launcher
	// the presence hides (it comes back live when the team can answer; a
	// hidden launcher only stops new chats, never one in progress).
	if sh.sess.Resume != "" {
		sh.setOpen(true, false) // the visitor came to continue the chat
	}
	if sh.sess.State() == widget.ConnIdle && (sh.sess.Identifying() || sh.sess.Conversation != "" || sh.sess.Resume != "" ||
		sh.sess.LauncherHidden()) {
		sh.connect()
	}
	emit("widgetLoaded", "loaded", true)
}

// currentVisit is what targeting sees of this page view. Visitor facts
// the server knows (known contact, contact properties) come with
// identification; until the server hands them over, a page that passes an
// identification email and token counts as a known visitor.
func currentVisit() widget.Visit {
	loc := get(global, "location")
	nav := get(global, "navigator")
	url := str(loc, "href")
	email, token := identification()
	countPage(url)
	return widget.Visit{
		URL:       url,
		Query:     widget.ParseQuery(url),
		Referrer:  a.visitRef,
		PageViews: a.pages,
		Device:    widget.DeviceOf(num(global, "innerWidth"), num(nav, "maxTouchPoints") > 0),
		Known:     email != "" && token != "" && a.ident != idNo,
		Contact:   a.props,
	}
}

// countPage counts a page view of this tab's visit, once per address, for
// the referrer and page-view rules: sessionStorage keeps the visit's count
// and first referrer (no identifier; gone with the tab) where
// widget.MayKeepVisit allows.
func countPage(url string) {
	if url == a.countedURL {
		return
	}
	a.countedURL = url
	doc := get(global, "document")
	a.pages, a.visitRef = 1, str(doc, "referrer")
	email, token := identification()
	if !widget.MayKeepVisit(a.cfg, widget.CookieChoice(str(doc, "cookie")), email != "" && token != "" && a.ident != idNo) {
		return
	}
	ss := get(global, "sessionStorage")
	if ss.IsUndefined() || ss.IsNull() {
		return
	}
	if v, err := ss.Call("getItem", "parley-visit"); err == nil && v.Type() == safejs.TypeString {
		s, _ := v.String()
		c, ref := s, ""
		if i := strings.IndexByte(s, ' '); i >= 0 {
			c, ref = s[:i], s[i+1:]
		}
		if n, ok := widget.ParseInt(c); ok {
			a.pages, a.visitRef = int(n)+1, ref
		}
	}
	try(ss, "setItem", "parley-visit", strconv.Itoa(a.pages)+" "+a.visitRef)
}

// browserLanguages are the visitor's languages, most preferred first.
func browserLanguages() []string {
	nav := get(global, "navigator")
	ls := get(nav, "languages")
	n, _ := ls.Length()
	out := []string{str(nav, "language")}
	for i := 0; i < n; i++ {
		if v, err := ls.Index(i); err == nil {
			s, _ := v.String()
			out = append(out, s)
		}
	}
	if n > 0 {
		out = out[1:] // languages holds language first
	}
	return out
}

// identification returns the email and token the page passed in
// ParleySettings (identificationEmail, identificationToken).
func identification() (email, token string) {
	s := get(a.boot, "settings")
	return str(s, "identificationEmail"), str(s, "identificationToken")
}

// inlineTarget is the page's element named by settings.inlineEmbedSelector,
// or undefined to float in the corner.
func inlineTarget() safejs.Value {
	sel := str(get(a.boot, "settings"), "inlineEmbedSelector")
	if sel == "" {
		return safejs.Undefined()
	}
	el, err := get(global, "document").Call("querySelector", sel)
	if err != nil || el.IsNull() {
		warn("Parley: no element matches inlineEmbedSelector " + sel + "; floating instead")
		return safejs.Undefined()
	}
	return el
}

// loadLanguage fetches the chatflow's language file (English if that
// fails) and makes it the widget's texts.
func loadLanguage(lang string) error {
	if a.lang == lang {
		return nil
	}
	urls := get(a.boot, "i18n")
	v, err := fetchJSON(str(urls, lang))
	if err != nil && lang != "en" {
		warn("Parley: language " + lang + ": " + err.Error() + "; using English")
		lang = "en"
		v, err = fetchJSON(str(urls, lang))
	}
	if err != nil {
		return errors.New("texts: " + err.Error())
	}
	widget.UseTexts(widget.StringMap(jsValue{v}))
	a.lang = lang
	return nil
}

// teardown removes the widget from the page and closes its socket.
func teardown() {
	sh := a.sh
	if sh == nil {
		return
	}
	a.sh = nil
	if !sh.ws.IsNull() && !sh.ws.IsUndefined() {
		try(sh.ws, "close", 1000, "removed")
	}
	sh.ws = safejs.Null()
	if !sh.host.IsUndefined() {
		try(sh.host, "remove")
	}
}

// listen sets the page listeners the triggers and read receipts need, once.
func listen() {
	if a.listening {
		return
	}
	a.listening = true
	doc := get(global, "document")
	opts := newObject()
	set(opts, "passive", true)
	call(global, "addEventListener", "scroll", funcOf(func(safejs.Value, []safejs.Value) any {
		post(event{kind: evScroll})
		return nil
	}), opts)
	call(doc, "addEventListener", "mouseout", funcOf(func(_ safejs.Value, args []safejs.Value) any {
		ev := arg(args, 0)
		if r := get(ev, "relatedTarget"); r.IsNull() || r.IsUndefined() { // left the window
			post(event{kind: evLeave, code: int(num(ev, "clientY"))})
		}
		return nil
	}))
	call(doc, "addEventListener", "visibilitychange", funcOf(func(safejs.Value, []safejs.Value) any {
		post(event{kind: evVisibility})
		return nil
	}))
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
	if p := str(a.boot, "config"); p != "" {
		url = base + p // the inbox's preview of one chatflow (a path, see loader.js)
	}
	var last error
	for attempt, wait := 0, time.Second; attempt < 3; attempt, wait = attempt+1, wait*3 {
		if attempt > 0 {
			time.Sleep(wait)
		}
		v, err := fetchJSON(url)
		if err == nil {
			return widget.DecodeConfig(jsValue{v}), nil
		}
		if r, ok := err.(refused); ok {
			return nil, r
		}
		last = errors.New("config: " + err.Error())
		if _, retry := err.(retryable); !retry {
			break
		}
	}
	return nil, last
}

// refused is the edge's sentence for a page the site does not allow.
type refused string

func (e refused) Error() string { return string(e) }

// retryable is a network or server error: trying again may help.
type retryable string

func (e retryable) Error() string { return string(e) }

// fetchJSON fetches url and parses its JSON body with the browser's JSON.
// Network and server errors are retryable.
func fetchJSON(url string) (safejs.Value, error) {
	opts := newObject()
	// Cookies only to the page's own origin: the preview's config is behind
	// the inbox's session; the edge's public files need none.
	set(opts, "credentials", "same-origin")
	p, err := global.Call("fetch", url, opts)
	if err != nil {
		return safejs.Undefined(), err
	}
	resp, err := await(p)
	if err != nil {
		return safejs.Undefined(), retryable(err.Error())
	}
	if code := int(num(resp, "status")); code != 200 {
		msg := "HTTP " + strconv.Itoa(code)
		if code >= 500 {
			return safejs.Undefined(), retryable(msg)
		}
		// The edge explains a refused page in a sentence for the owner.
		if code == 403 {
			if p, err := resp.Call("json"); err == nil {
				if v, err := await(p); err == nil && str(v, "error") == widget.ErrOriginNotAllowed {
					return safejs.Undefined(), refused(str(v, "message"))
				}
			}
		}
		return safejs.Undefined(), errors.New(msg)
	}
	p, err = resp.Call("json")
	if err != nil {
		return safejs.Undefined(), err
	}
	v, err := await(p)
	if err != nil {
		return safejs.Undefined(), errors.New("bad JSON")
	}
	return v, nil
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

// run is the shell's one goroutine: it owns the sessions and the DOM.
func run() {
	for range wake {
		mu.Lock()
		q := queue
		queue = nil
		mu.Unlock()
		for _, e := range q {
			handle(e)
		}
	}
}

func handle(e event) {
	switch e.kind {
	case evStart:
		start()
		return
	case evRemove:
		teardown()
		if a.status != statusFailed {
			setStatus(statusRemoved)
		}
		return
	}
	sh := a.sh
	if sh == nil || e.owner != nil && e.owner != sh {
		return // nothing on screen, or a timer of a widget since replaced
	}
	switch e.kind {
	case evOpen:
		sh.setOpen(true, false)
	case evClose:
		sh.setOpen(false, !e.api)
	case evToggle:
		sh.interacted()
		sh.setOpen(!sh.open, true)
	case evDismiss:
		sh.interacted()
		sh.minimise()
		sh.show(sh.dir.Now())
	case evScroll:
		if sh.dir != nil && sh.dir.HasTriggers() {
			el := get(get(global, "document"), "documentElement")
			sh.show(sh.dir.Scrolled(widget.ScrollPercent(num(global, "scrollY"), num(global, "innerHeight"), num(el, "scrollHeight"))))
		}
	case evLeave:
		if e.code <= 0 && !sh.leaving {
			sh.leaving = true // exit intent: the cookie banner's moment in that mode
			sh.exitBanner()
		}
		if sh.dir != nil {
			sh.show(sh.dir.PointerLeft(float64(e.code)))
		}
	case evTrigger:
		if sh.dir != nil {
			sh.show(sh.dir.Tick(time.Now()))
			sh.armTimer()
		}
	case evSend:
		sh.interacted()
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
			time.AfterFunc(delay, func() { post(event{kind: evRetry, gen: gen, owner: sh}) })
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
		sh.interacted()
		if f, ok := sh.sess.Typing(); ok {
			sh.write(f)
		}
	case evVisibility:
		sh.markRead()
	case evEmail:
		sh.submitEmail()
	case evTranscript:
		if f, ok := sh.sess.EmailTranscript(); ok {
			sh.write(f)
		}
	case evRelive:
		sh.renderLive()
	case evResend:
		sh.apply(sh.sess.Resend())
	default:
		sh.handleMore(e)
	}
}

// armTimer sets one timer for the time-on-page trigger, if it is pending.
func (sh *shell) armTimer() {
	if d, ok := sh.dir.NextTick(time.Now()); ok {
		time.AfterFunc(d, func() { post(event{kind: evTrigger, owner: sh}) })
	}
}

// interacted fires userInteractedWithWidget, once per widget shown.
func (sh *shell) interacted() {
	if !sh.touched {
		sh.touched = true
		emit("userInteractedWithWidget")
	}
}

// minimise remembers, on every page and chatflow for 24 hours, that the
// visitor put the chat away: no prompt, no automatic opening.
func (sh *shell) minimise() {
	if sh.dir != nil {
		sh.dir.Minimise()
		set(get(global, "document"), "cookie", widget.HideWelcomeSetCookie)
	}
}

// markRead tells the server how far the visitor has read, when the chat
// is open on a visible page (a hidden tab has read nothing).
func (sh *shell) markRead() {
	if !sh.open || str(get(global, "document"), "visibilityState") != "visible" {
		return
	}
	sh.setUnread(0)
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

// setOpen shows or hides the chat window; opening connects. byVisitor
// marks a close as the visitor's: it minimises the chat for 24 hours.
func (sh *shell) setOpen(open, byVisitor bool) {
	was := sh.open
	sh.open = open
	set(sh.win, "hidden", !open)
	if open {
		attr(sh.root, "data-open", "")
	} else {
		call(sh.root, "removeAttribute", "data-open")
	}
	attr(sh.launcher, "aria-expanded", strconv.FormatBool(open))
	sh.renderBadge()
	if open {
		if sh.dir != nil {
			sh.dir.Opened()
		}
		if sh.sess.State() == widget.ConnIdle {
			sh.connect()
		}
		sh.scrollDown()
		if !was {
			try(sh.input, "focus")
		}
		sh.markRead()
	} else if was {
		if byVisitor {
			sh.minimise()
			try(sh.launcher, "focus") // keyboard users land where they were
		}
		emit("widgetClosed")
	}
	if sh.dir != nil {
		sh.show(sh.dir.Now())
	}
	sh.renderPrivacy()
}

// send takes the input's text into the session; a refused text stays in
// the input so the visitor can fix it.
func (sh *shell) send() {
	if sh.sendText(str(sh.input, "value")) {
		set(sh.input, "value", "")
	}
}

// sendText sends a message (typed, or a quick reply) and reports whether
// the session took it.
func (sh *shell) sendText(value string) bool {
	if sh.sess.SendBlocked() {
		return false // the send control is disabled until "I agree"
	}
	u, err := sh.sess.Send(value)
	if err == nil {
		sh.apply(u)
		if sh.sess.State() == widget.ConnIdle {
			sh.connect()
		}
	}
	sh.renderStatus()
	sh.renderLive()
	return err == nil
}

// connect opens a socket to the edge's /ws.
func (sh *shell) connect() {
	sh.sess.Dial()
	sh.gen++
	ws, err := get(global, "WebSocket").New(wsURL(a.base))
	if err != nil {
		// An unusable URL will not get better; still, report and retry.
		warn("Parley: " + err.Error())
		delay, _ := sh.sess.Closed(1006)
		gen := sh.gen
		time.AfterFunc(delay, func() { post(event{kind: evRetry, gen: gen, owner: sh}) })
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
	f := widget.DecodeFrame(jsValue{v})
	conv, email, last := sh.sess.Conversation, sh.sess.Email, sh.sess.LastSeq
	token := sh.sess.Token
	sh.apply(sh.sess.Receive(f))
	if sh.sess.Token != token || sh.sess.Conversation != conv || sh.sess.LastSeq != last {
		sh.saveChat()
	}
	sh.renderStatus()
	sh.renderLive()
	if c := sh.sess.Conversation; c != conv && c != "" {
		emit("conversationStarted", "conversation", c)
	}
	if sh.sess.Email != email {
		emit("contactAssociated", "email", sh.sess.Email)
	}
	switch f.Type {
	case widget.FrameTyping:
		// Render again once the indicator may have expired.
		time.AfterFunc(widget.TypingShowFor+50*time.Millisecond, func() { post(event{kind: evRelive, owner: sh}) })
	case widget.FrameMessage:
		if f.From != widget.FromVisitor && f.Seq > last {
			sh.setUnread(sh.unread + 1) // markRead clears it if the visitor sees it
		}
		sh.markRead()
	case widget.FrameWelcome:
		sh.markRead()
		sh.welcomed()
	case widget.FrameClosed, widget.FrameSurvey:
		sh.closedConv(conv)
	case widget.FrameError:
		if f.Code == widget.ErrConvClosed {
			sh.closedConv(conv)
		}
		if f.Code == widget.ErrOriginNotAllowed {
			warn("Parley: " + f.Message + " The site's owner can add this page's host to the account's allowed domains.")
		}
		if sh.sess.StaleConsent() {
			sh.refetchConfig()
		}
	}
	sh.renderPrivacy()
	sh.renderSurvey()
	sh.renderQuick()
}

// closedConv fires conversationClosed once per conversation.
func (sh *shell) closedConv(id string) {
	if id != "" && id != sh.closed {
		sh.closed = id
		emit("conversationClosed", "conversation", id)
	}
}

// setUnread shows n unread messages on the launcher and tells the page
// when the number of conversations with unread messages (0 or 1) changes.
func (sh *shell) setUnread(n int) {
	if (n > 0) != (sh.unread > 0) {
		c := 0
		if n > 0 {
			c = 1
		}
		sh.unread = n
		emit("unreadConversationCountChanged", "unreadCount", c)
	}
	sh.unread = n
	sh.renderBadge()
}

// apply carries out an Update: frames to send, entries to (re)render.
func (sh *shell) apply(u widget.Update) {
	for _, f := range u.Send {
		sh.write(f)
	}
	if len(u.Changed) > 0 {
		sh.renderEntries(u.Changed)
	}
	if u.ResendIn > 0 {
		time.AfterFunc(u.ResendIn, func() { post(event{kind: evResend, owner: sh}) })
	}
}

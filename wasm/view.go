//go:build js && wasm

package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/parleychat/parley/widget"
)

// shell is the rendered widget and its connection.
type shell struct {
	flow   *widget.ChatflowConfig
	sess   *widget.Session
	dir    *widget.Director // display behaviour and triggers; nil when inline
	device string
	inline safejs.Value // the page's element the chat is embedded in, or undefined

	host, root, launcher, win, body, msgs, input, status, prompt, badge safejs.Value
	msgEls                                                              map[string]safejs.Value // entry key → element
	open                                                                bool

	// Live parts: presence line, typing line, note, email form, "Seen".
	presence, typing, note, emailForm, emailPrompt, emailInput, transcriptBtn safejs.Value
	seenEl                                                                    safejs.Value // the "Seen" mark, once made
	seenKey                                                                   string       // the entry it is under

	els map[string]safejs.Value // the markup's elements by data-parley name

	leaving bool // the pointer left through the top: exit intent happened

	tabs       bool                    // the Help tab is offered
	helpOn     bool                    // the Help tab is showing
	helpLoaded bool                    // its categories were fetched
	helpGen    int                     // the newest list fetch or pending search
	artGen     int                     // the newest article fetch
	more       map[string]safejs.Value // the help list's "and N more" buttons by category id

	score    int          // the survey score picked
	quickEl  safejs.Value // the quick replies shown, once made
	quickKey string       // the entry they are under

	unread  int    // agent messages the visitor has not seen
	touched bool   // userInteractedWithWidget was fired
	closed  string // the conversation conversationClosed was fired for

	ws       safejs.Value // the current socket, or null
	gen      int          // counts sockets: a retry timer for an older one is stale
	lastRecv time.Time
}

// The host element's inline styles, !important so the page's CSS cannot
// move, hide or restyle it (inline important declarations beat the page's
// stylesheets; inside, the Shadow DOM keeps the page's selectors out). The
// floating host covers only the launcher's square and lets clicks through;
// the window and prompt overflow it and take their own clicks.
const (
	hostStyle = "all:initial!important;display:block!important;position:fixed!important;right:20px!important;" +
		"bottom:20px!important;width:56px!important;height:56px!important;z-index:2147483000!important;pointer-events:none!important"
	inlineStyle = "all:initial!important;display:block!important;position:relative!important;width:100%!important;" +
		"height:100%!important;min-height:420px!important"
)

// render builds the widget in a Shadow DOM root, on a host element
// appended to the page's body (or inside the inline element). The markup
// and CSS are the cached widget.html and widget.css: constant, holding no
// data; every text from settings, visitors or agents is set with
// textContent afterwards.
func (sh *shell) render() {
	sh.ws = safejs.Null()
	doc := get(global, "document")
	host := call(doc, "createElement", "div")
	attr(host, "id", "parley-widget")
	style := hostStyle
	if !sh.inline.IsUndefined() {
		style = inlineStyle
	}
	// Through the CSSOM, not a style attribute or a <style> element: a
	// host page's Content-Security-Policy without 'unsafe-inline' in
	// style-src blocks those, never these.
	set(get(host, "style"), "cssText", style)
	opts := newObject()
	set(opts, "mode", "open")
	shadow := call(host, "attachShadow", opts)
	set(shadow, "innerHTML", a.html)
	adoptStyle(shadow)
	// Every element the shell touches has a data-parley name; fixed texts
	// in the chatflow's language: data-t sets the text, data-t-label the
	// aria-label, data-t-ph the placeholder.
	els := map[string]safejs.Value{}
	list := call(shadow, "querySelectorAll", "[data-parley],[data-t],[data-t-label],[data-t-ph]")
	n, _ := list.Length()
	for i := 0; i < n; i++ {
		el, _ := list.Index(i)
		els[attrOf(el, "data-parley")] = el
		if k := attrOf(el, "data-t"); k != "" {
			text(el, widget.T(k))
		}
		if k := attrOf(el, "data-t-label"); k != "" {
			attr(el, "aria-label", widget.T(k))
		}
		if k := attrOf(el, "data-t-ph"); k != "" {
			attr(el, "placeholder", widget.T(k))
		}
	}
	q := func(name string) safejs.Value { return els[name] }

	sh.host = host
	sh.root = q("root")
	accent := widget.Accent(sh.flow.Look.AccentColor)
	rs := get(sh.root, "style")
	call(rs, "setProperty", "--pa", accent)
	call(rs, "setProperty", "--po", widget.TextOn(accent))
	attr(sh.root, "data-device", sh.device)
	if !sh.flow.Look.ShowCloseButton {
		attr(sh.root, "data-x", "off") // mobile only: see widget.css
	}
	if !sh.inline.IsUndefined() {
		attr(sh.root, "data-inline", "")
	}

	sh.launcher = q("launcher")
	sh.win = q("window")
	sh.body = get(q("welcome"), "parentNode")
	sh.msgs = q("messages")
	sh.input = q("input")
	sh.status = q("status")
	sh.prompt = q("prompt")
	sh.badge = q("badge")
	sh.presence = q("presence")
	sh.typing = q("typing")
	sh.note = q("note")
	sh.emailForm = q("email-form")
	sh.emailPrompt = q("email-prompt")
	sh.emailInput = q("email-input")
	sh.transcriptBtn = q("transcript")
	sh.seenEl = safejs.Null()
	sh.quickEl = safejs.Null()
	sh.els = els

	name := sh.flow.HeadingName
	if name == "" {
		name = widget.T("chat")
	}
	text(q("heading-name"), name)
	attr(sh.win, "aria-label", name)
	if src := imageURL(sh.flow.HeadingImage); src != "" {
		img := q("heading-image")
		attr(img, "src", src)
		set(img, "hidden", false)
	}
	text(q("welcome"), sh.flow.Welcome)
	text(q("prompt-open"), sh.flow.Welcome)

	for _, l := range [...]struct {
		el, typ string
		kind    eventKind
		code    int
	}{
		{"launcher", "click", evToggle, 0}, {"prompt-open", "click", evToggle, 0}, {"prompt-dismiss", "click", evDismiss, 0},
		{"close", "click", evClose, 0}, {"composer", "submit", evSend, 0}, {"email-form", "submit", evEmail, 0}, {"transcript", "click", evTranscript, 0},
		{"input", "input", evTyping, 0}, {"root", "keydown", evKey, 0},
		{"cookie-accept", "click", evCookie, 1}, {"cookie-decline", "click", evCookie, 0}, {"data-agree", "click", evDataAgree, 0},
		{"comm-box", "change", evComm, 0}, {"survey", "submit", evSurvey, 0}, {"attach", "click", evAttach, 0},
		{"file", "change", evFile, 0}, {"tab-chat", "click", evTab, 0}, {"tab-help", "click", evTab, 1},
		{"help-search", "input", evHelpInput, 0}, {"help-back", "click", evHelpBack, 0}, {"help-chat", "click", evHelpChat, 0},
		{"score-1", "click", evScore, 1}, {"score-2", "click", evScore, 2}, {"score-3", "click", evScore, 3},
		{"score-4", "click", evScore, 4}, {"score-5", "click", evScore, 5}, {"emoji", "click", evEmoji, 0},
	} {
		on(q(l.el), l.typ, event{kind: l.kind, code: l.code, owner: sh})
	}
	sh.onEmojiPick(q("emoji-panel"))
	sh.tabs = sh.flow.Help && sh.flow.Options.KnowledgeBaseID > 0
	set(q("tabs"), "hidden", !sh.tabs)
	set(q("attach"), "hidden", !sh.flow.Options.Attachments || truthy(get(a.boot, "settings"), "disableAttachments"))
	sh.renderNotices()
	sh.renderPrivacy()
	sh.renderSurvey()

	parent := get(doc, "body")
	if !sh.inline.IsUndefined() {
		parent = sh.inline
	}
	call(parent, "appendChild", host)
	sh.renderStatus()
}

// show applies what the display behaviour and triggers say: the launcher,
// the welcome prompt, opening the chat.
func (sh *shell) show(ap widget.Appearance) {
	if ap.Open && !sh.open {
		sh.setOpen(true, false) // calls show again with the window open
		return
	}
	launcher := ap.Launcher && !(sh.sess.LauncherHidden() && !sh.open)
	onOff := "off"
	if launcher {
		onOff = "on"
	}
	attr(sh.root, "data-launcher", onOff)
	set(sh.prompt, "hidden", !ap.Prompt || sh.open || !launcher || sh.flow.Welcome == "")
	st := statusReady
	if !launcher && !sh.open && sh.inline.IsUndefined() {
		st = statusHidden
	}
	setStatus(st)
}

// renderBadge shows the unread count on the launcher and in its label.
func (sh *shell) renderBadge() {
	n := sh.unread
	if sh.open {
		n = 0
	}
	label := widget.T("open")
	if sh.open {
		label = widget.T("close")
	}
	if n > 0 {
		label += ", " + widget.T("unread", "n", strconv.Itoa(n))
		text(sh.badge, strconv.Itoa(n))
	}
	set(sh.badge, "hidden", n == 0)
	attr(sh.launcher, "aria-label", label)
}

// renderLive shows the session's live state: the presence line, who is
// typing, the note about answers, the email form, the launcher and "Seen".
func (sh *shell) renderLive() {
	p := sh.sess.Presence
	text(sh.presence, p.Text)
	set(sh.presence, "hidden", p.Text == "")
	attr(sh.presence, "data-state", p.State)

	t := sh.sess.TypingLine()
	text(sh.typing, t)
	set(sh.typing, "hidden", t == "")
	n := sh.sess.Note()
	text(sh.note, n)
	set(sh.note, "hidden", n == "")

	ask := sh.sess.AskEmail()
	if ask && truthy(sh.emailForm, "hidden") {
		text(sh.emailPrompt, sh.sess.EmailPrompt())
	}
	set(sh.emailForm, "hidden", !ask)
	set(sh.transcriptBtn, "hidden", !sh.sess.CanEmailTranscript())

	// Presence may hide the launcher (never under an open window).
	ap := widget.Appearance{Launcher: true}
	if sh.dir != nil {
		ap = sh.dir.Now()
		ap.Open = false
	}
	sh.show(ap)
	sh.renderSeen()
	if t != "" || ask || n != "" {
		sh.scrollDown()
	}
}

// renderSeen puts "Seen" under the visitor's newest message the team has read.
func (sh *shell) renderSeen() {
	key := sh.sess.SeenKey()
	if key == sh.seenKey {
		return
	}
	if !sh.seenEl.IsNull() {
		call(sh.seenEl, "remove")
	}
	sh.seenKey = ""
	el, ok := sh.msgEls[key]
	if key == "" || !ok {
		return
	}
	if sh.seenEl.IsNull() {
		sh.seenEl = newEl("div", "receipt", widget.T("seen"))
		attr(sh.seenEl, "data-parley", "seen")
	}
	call(el, "appendChild", sh.seenEl)
	sh.seenKey = key
}

// imageURL accepts absolute http(s) and data:image URLs; a root-relative
// path is taken as the edge's. Anything else is not shown.
func imageURL(u string) string {
	switch {
	case strings.HasPrefix(u, "https://"), strings.HasPrefix(u, "http://"), strings.HasPrefix(u, "data:image/"):
		return u
	case strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//"):
		return a.base + u
	}
	return ""
}

func (sh *shell) renderStatus() {
	text(sh.status, sh.sess.StatusLine())
	attr(sh.status, "data-state", sh.sess.State().String())
}

// renderEntries re-renders the entries at the given indexes (ascending):
// first their old elements go, then each is inserted at its index, which
// keeps the list in the session's order whatever moved.
func (sh *shell) renderEntries(changed []int) {
	entries := sh.sess.Entries()
	for _, i := range changed {
		if el, ok := sh.msgEls[entries[i].Key]; ok {
			call(el, "remove")
			delete(sh.msgEls, entries[i].Key)
		}
		if entries[i].Key == sh.seenKey {
			sh.seenKey = "" // its element is made anew: mark it again
		}
		if entries[i].Key == sh.quickKey {
			sh.quickKey = ""
		}
	}
	children := get(sh.msgs, "children")
	for _, i := range changed {
		el := sh.messageEl(&entries[i])
		ref, err := children.Index(i)
		if err != nil || ref.IsUndefined() {
			ref = safejs.Null()
		}
		call(sh.msgs, "insertBefore", el, ref)
		sh.msgEls[entries[i].Key] = el
	}
	sh.renderQuick()
	sh.scrollDown()
}

// on posts e on each event typ at el. A submit goes no further; a key
// event is posted only for Enter (send; Shift+Enter is a new line, IME
// composition is left alone) and Escape (close).
//
//go:noinline
func on(el safejs.Value, typ string, e event) {
	call(el, "addEventListener", typ, funcOf(func(_ safejs.Value, args []safejs.Value) any {
		ev := arg(args, 0)
		if e.kind == evKey {
			switch key := str(ev, "key"); {
			case key == "Enter" && !truthy(ev, "shiftKey") && !truthy(ev, "isComposing") && attrOf(get(ev, "target"), "data-parley") == "input":
				e.kind = evSend
			case key == "Escape":
				e.kind = evClose
			default:
				return nil
			}
		}
		if typ == "submit" || e.kind == evSend || e.kind == evDownload {
			try(ev, "preventDefault")
		}
		post(e)
		return nil
	}))
}

// attrOf returns el's attribute name, or "".
//
//go:noinline
func attrOf(el safejs.Value, name string) string {
	v, err := el.Call("getAttribute", name)
	if err != nil || v.Type() != safejs.TypeString {
		return ""
	}
	s, _ := v.String()
	return s
}

// newEl makes an element of class cls holding text.
//
//go:noinline
func newEl(tag, cls, s string) safejs.Value {
	el := call(get(global, "document"), "createElement", tag)
	attr(el, "class", cls)
	text(el, s)
	return el
}

func (sh *shell) messageEl(e *widget.Entry) safejs.Value {
	if e.End {
		// Where a conversation ended: a separator; what follows is a new one.
		el := newEl("div", "end", e.Text)
		attr(el, "role", "separator")
		attr(el, "data-parley", "chat-ended")
		return el
	}
	el := newEl("div", "msg", "")
	attr(el, "data-parley", "message")
	attr(el, "data-from", e.From)
	state := "sent"
	switch {
	case e.Pending:
		state = "pending"
	case e.Failed != "":
		state = "failed"
		attr(el, "title", widget.T("not_sent", "reason", e.Failed))
	case e.At != "":
		attr(el, "title", e.At)
	}
	attr(el, "data-state", state)
	if e.Seq > 0 {
		attr(el, "data-seq", strconv.FormatInt(e.Seq, 10))
	}
	if e.From != widget.FromVisitor && e.From != widget.FromSystem {
		// With the brand as the agents' alias, every agent is the brand.
		name, img := e.Name, e.Avatar
		if sh.flow.Look.BrandAlias || name == "" {
			name, img = sh.flow.HeadingName, sh.flow.HeadingImage
		}
		bot := e.From == widget.FromBot
		if name != "" || bot {
			n := newEl("div", "name", "")
			if src := imageURL(img); src != "" {
				i := newEl("img", "", "")
				attr(i, "alt", "")
				attr(i, "src", src)
				call(n, "appendChild", i)
			}
			call(n, "appendChild", newEl("span", "", name))
			if bot { // bot turns are marked as such
				call(n, "appendChild", newEl("span", "tag", widget.T("bot")))
			}
			call(el, "appendChild", n)
		}
	}
	at := e.Attachment
	if at == nil || e.Text != at.Name {
		call(el, "appendChild", textEl(e.Text))
	}
	if at != nil && strings.HasPrefix(at.URL, "/") {
		call(el, "appendChild", sh.fileEl(at))
	}
	if e.Link != "" && widget.ArticlePath(e.Link, a.site) {
		b := newEl("button", "link", widget.T("article_link", "title", e.LinkTitle))
		attr(b, "type", "button")
		attr(b, "data-parley", "article-link")
		on(b, "click", event{kind: evArticle, data: e.Link, owner: sh})
		call(el, "appendChild", b)
	}
	return el
}

func (sh *shell) scrollDown() {
	set(sh.body, "scrollTop", num(sh.body, "scrollHeight"))
}

// adoptStyle gives the shadow root the widget's CSS as a constructed
// stylesheet (one parsed sheet shared by every render), or as a <style>
// element in browsers without constructable stylesheets.
func adoptStyle(shadow safejs.Value) {
	if a.sheet.IsUndefined() {
		if ctor := get(global, "CSSStyleSheet"); !ctor.IsUndefined() && !get(shadow, "adoptedStyleSheets").IsUndefined() {
			if sheet, err := ctor.New(); err == nil && try(sheet, "replaceSync", a.css) == nil {
				a.sheet = sheet
			}
		}
	}
	if !a.sheet.IsUndefined() {
		arr := call(get(global, "Array"), "of", a.sheet)
		set(shadow, "adoptedStyleSheets", arr)
		return
	}
	st := call(get(global, "document"), "createElement", "style")
	text(st, a.css)
	call(shadow, "prepend", st)
}

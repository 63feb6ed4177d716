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
	base string
	flow *widget.ChatflowConfig
	sess *widget.Session

	launcher, win, body, msgs, input, status safejs.Value
	msgEls                                   map[string]safejs.Value // entry key → element
	open                                     bool

	// Live parts: presence line, typing line, note, email form, "Seen".
	presence, typing, note, emailForm, emailPrompt, emailInput safejs.Value
	seenEl                                                     safejs.Value // the "Seen" mark, once made
	seenKey                                                    string       // the entry it is under

	ws       safejs.Value // the current socket, or null
	gen      int          // counts sockets: a retry timer for an older one is stale
	lastRecv time.Time
}

// hostStyle pins the host element; it is inline so the page's CSS cannot
// move or hide it by accident. The host covers only the launcher's square
// and lets clicks through; the window overflows it and takes its own clicks.
const hostStyle = "all:initial;display:block;position:fixed;right:20px;bottom:20px;" +
	"width:56px;height:56px;z-index:2147483000;pointer-events:none;"

// skeleton is the widget's fixed markup. It holds no data: every text
// from settings, visitors or agents is set with textContent afterwards.
const skeleton = `<style>` + css + `</style>
<div class="root">
<section class="win" data-parley="window" role="dialog" aria-label="Chat" hidden>
<header data-parley="heading"><img class="avatar" alt="" hidden><div class="who"><div class="title"></div><div class="presence" data-parley="presence" hidden></div></div><button type="button" class="close" aria-label="Close chat">&#215;</button></header>
<div class="status" data-parley="status" role="status" aria-live="polite"></div>
<div class="body"><div class="msg welcome" data-parley="welcome"></div><div class="msgs" data-parley="messages" aria-live="polite"></div>
<div class="typing" data-parley="typing" aria-live="polite" hidden></div>
<div class="note" data-parley="note" role="status" hidden></div>
<form class="email" data-parley="email-form" novalidate hidden><label data-parley="email-prompt" for="parley-email"></label><div class="row"><input id="parley-email" type="email" data-parley="email-input" autocomplete="email" placeholder="name@example.com"><button type="submit" data-parley="email-send">Save</button></div></form>
</div>
<form class="composer"><textarea data-parley="input" rows="1" placeholder="Write a message…" aria-label="Message"></textarea><button type="submit" class="send" data-parley="send">Send</button></form>
</section>
<button type="button" class="launcher" data-parley="launcher" aria-label="Open chat" aria-expanded="false"><svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg></button>
</div>`

const css = `
:host{all:initial}
[hidden]{display:none!important}
.root{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1d1d1f;position:relative;width:56px;height:56px}
.launcher{pointer-events:auto;position:absolute;right:0;bottom:0;width:56px;height:56px;border-radius:50%;border:0;padding:0;margin:0;background:var(--pa);color:var(--po);cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}
.launcher svg{width:28px;height:28px;fill:currentColor}
.launcher:focus-visible,.send:focus-visible,.close:focus-visible{outline:3px solid #111;outline-offset:2px}
.win{pointer-events:auto;position:absolute;right:0;bottom:72px;width:360px;max-width:calc(100vw - 40px);height:520px;max-height:calc(100vh - 112px);background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden;box-sizing:border-box}
header{background:var(--pa);color:var(--po);padding:12px 14px;display:flex;align-items:center;gap:10px}
.avatar{width:34px;height:34px;border-radius:50%;object-fit:cover;background:rgba(255,255,255,.3)}
.who{flex:1;min-width:0}
.title{font-weight:600;font-size:15px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.presence{font-size:12px;opacity:.85}
.close{background:none;border:0;color:inherit;font-size:24px;line-height:1;cursor:pointer;padding:0 4px}
.status{padding:5px 14px;font-size:12px;background:#fff4d6;color:#5c4300}
.status:empty{display:none}
.body{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f5f6f8}
.msgs{display:flex;flex-direction:column;gap:8px}
.msg{max-width:80%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere;align-self:flex-start;background:#fff;border:1px solid #e2e4e8}
.msg[data-from=visitor]{align-self:flex-end;background:var(--pa);color:var(--po);border-color:transparent}
.msg[data-from=system]{align-self:center;background:none;border:0;color:#666;font-size:12px}
.msg[data-state=pending]{opacity:.65}
.msg[data-state=failed]{box-shadow:0 0 0 2px #d93025}
.welcome:empty{display:none}
.receipt{font-size:11px;opacity:.8;text-align:right;margin-top:2px}
.typing{font-size:12px;font-style:italic;color:#5a5f66}
.note{align-self:center;text-align:center;font-size:12px;color:#444;background:#fff;border:1px dashed #c9ccd2;border-radius:8px;padding:6px 10px}
.email{display:flex;flex-direction:column;gap:6px;background:#fff;border:1px solid #e2e4e8;border-radius:12px;padding:10px;margin:0}
.email label{font-size:13px}
.email .row{display:flex;gap:6px}
.email input{flex:1;min-width:0;border:1px solid #c9ccd2;border-radius:8px;padding:6px 8px;font:inherit;color:inherit}
.email button{background:var(--pa);color:var(--po);border:0;border-radius:8px;padding:0 12px;font:inherit;font-weight:600;cursor:pointer}
.name{font-size:11px;font-weight:600;color:#5a5f66;margin-bottom:2px}
.composer{display:flex;gap:8px;padding:8px;border-top:1px solid #e2e4e8;background:#fff;margin:0}
textarea{flex:1;resize:none;border:1px solid #c9ccd2;border-radius:8px;padding:8px;font:inherit;color:inherit;min-height:20px;max-height:96px;box-sizing:content-box}
.send{background:var(--pa);color:var(--po);border:0;border-radius:8px;padding:0 14px;font:inherit;font-weight:600;cursor:pointer}
`

// render builds the widget in a Shadow DOM root on a host element appended
// to the page's body.
func (sh *shell) render() {
	sh.ws = safejs.Null()
	doc := get(global, "document")
	host := call(doc, "createElement", "div")
	attr(host, "id", "parley-widget")
	attr(host, "style", hostStyle)
	opts := newObject()
	set(opts, "mode", "open")
	shadow := call(host, "attachShadow", opts)
	set(shadow, "innerHTML", skeleton) // constant markup only, see skeleton
	q := func(sel string) safejs.Value { return call(shadow, "querySelector", sel) }

	root := q(".root")
	accent := widget.Accent(sh.flow.Look.AccentColor)
	style := get(root, "style")
	call(style, "setProperty", "--pa", accent)
	call(style, "setProperty", "--po", widget.TextOn(accent))

	sh.launcher = q(`[data-parley="launcher"]`)
	sh.win = q(`[data-parley="window"]`)
	sh.body = q(".body")
	sh.msgs = q(`[data-parley="messages"]`)
	sh.input = q(`[data-parley="input"]`)
	sh.status = q(`[data-parley="status"]`)
	sh.presence = q(`[data-parley="presence"]`)
	sh.typing = q(`[data-parley="typing"]`)
	sh.note = q(`[data-parley="note"]`)
	sh.emailForm = q(`[data-parley="email-form"]`)
	sh.emailPrompt = q(`[data-parley="email-prompt"]`)
	sh.emailInput = q(`[data-parley="email-input"]`)
	sh.seenEl = safejs.Null()

	name := sh.flow.HeadingName
	if name == "" {
		name = "Chat"
	}
	text(q(".title"), name)
	attr(sh.win, "aria-label", name)
	if src := imageURL(sh.base, sh.flow.HeadingImage); src != "" {
		img := q(".avatar")
		attr(img, "src", src)
		set(img, "hidden", false)
	}
	text(q(`[data-parley="welcome"]`), sh.flow.Welcome)

	on := func(el safejs.Value, typ string, fn func(ev safejs.Value)) {
		call(el, "addEventListener", typ, funcOf(func(_ safejs.Value, args []safejs.Value) any {
			fn(arg(args, 0))
			return nil
		}))
	}
	on(sh.launcher, "click", func(safejs.Value) { post(event{kind: evToggle}) })
	on(q(".close"), "click", func(safejs.Value) { post(event{kind: evClose}) })
	on(q("form.composer"), "submit", func(ev safejs.Value) {
		try(ev, "preventDefault")
		post(event{kind: evSend})
	})
	on(sh.input, "keydown", func(ev safejs.Value) {
		// Enter sends, Shift+Enter is a new line; IME composition is left alone.
		if str(ev, "key") == "Enter" && !truthy(ev, "shiftKey") && !truthy(ev, "isComposing") {
			try(ev, "preventDefault")
			post(event{kind: evSend})
		}
	})
	on(sh.input, "input", func(safejs.Value) { post(event{kind: evTyping}) })
	on(sh.emailForm, "submit", func(ev safejs.Value) {
		try(ev, "preventDefault")
		post(event{kind: evEmail})
	})
	on(doc, "visibilitychange", func(safejs.Value) { post(event{kind: evVisibility}) })
	on(sh.win, "keydown", func(ev safejs.Value) {
		if str(ev, "key") == "Escape" {
			post(event{kind: evClose})
		}
	})

	call(get(doc, "body"), "appendChild", host)
	sh.renderStatus()
	sh.renderLive()
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

	// Presence may hide the launcher (never under an open window).
	hide := sh.sess.LauncherHidden() && !sh.open
	set(sh.launcher, "hidden", hide)
	if hide {
		setStatus(statusHidden)
	} else {
		setStatus(statusReady)
	}
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
		sh.seenEl = call(get(global, "document"), "createElement", "div")
		attr(sh.seenEl, "class", "receipt")
		attr(sh.seenEl, "data-parley", "seen")
		text(sh.seenEl, "Seen")
	}
	call(el, "appendChild", sh.seenEl)
	sh.seenKey = key
}

// imageURL accepts absolute http(s) and data:image URLs; a root-relative
// path is taken as the edge's. Anything else is not shown.
func imageURL(base, u string) string {
	switch {
	case strings.HasPrefix(u, "https://"), strings.HasPrefix(u, "http://"), strings.HasPrefix(u, "data:image/"):
		return u
	case strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//"):
		return base + u
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
	}
	children := get(sh.msgs, "children")
	for _, i := range changed {
		el := sh.messageEl(entries[i])
		ref, err := children.Index(i)
		if err != nil || ref.IsUndefined() {
			ref = safejs.Null()
		}
		call(sh.msgs, "insertBefore", el, ref)
		sh.msgEls[entries[i].Key] = el
	}
	sh.scrollDown()
}

func (sh *shell) messageEl(e widget.Entry) safejs.Value {
	doc := get(global, "document")
	el := call(doc, "createElement", "div")
	attr(el, "class", "msg")
	attr(el, "data-parley", "message")
	attr(el, "data-from", e.From)
	state := "sent"
	switch {
	case e.Pending:
		state = "pending"
	case e.Failed != "":
		state = "failed"
		attr(el, "title", "Not sent: "+e.Failed)
	case e.At != "":
		attr(el, "title", e.At)
	}
	attr(el, "data-state", state)
	if e.Seq > 0 {
		attr(el, "data-seq", strconv.FormatInt(e.Seq, 10))
	}
	if e.From != widget.FromVisitor && e.From != widget.FromSystem {
		name := e.Name
		if name == "" {
			name = sh.flow.HeadingName
		}
		if name != "" {
			n := call(doc, "createElement", "div")
			attr(n, "class", "name")
			text(n, name)
			call(el, "appendChild", n)
		}
	}
	t := call(doc, "createElement", "div")
	attr(t, "class", "text")
	text(t, e.Text)
	call(el, "appendChild", t)
	return el
}

func (sh *shell) scrollDown() {
	set(sh.body, "scrollTop", num(sh.body, "scrollHeight"))
}

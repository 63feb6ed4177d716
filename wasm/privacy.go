//go:build js && wasm

package main

import (
	"strings"

	"github.com/hack-pad/safejs"
	"github.com/parleychat/parley/widget"
)

// Privacy in the shell: the consent notices, what the page's storage
// holds (only after the cookie banner was accepted, never for an
// identified visitor: widget.Session.MayStore decides) and identification.

// privacySetup gives a new session the chatflow's notices, the page's
// identification, the remembered cookie answer and, where storing is
// allowed, the stored chat.
func (sh *shell) privacySetup() {
	s := sh.sess
	s.Consents = sh.flow.Consents
	if email, token := identification(); email != "" && token != "" && a.ident != idNo {
		s.IDEmail, s.IDToken = email, token
	}
	s.CookieChoice = widget.CookieChoice(str(get(global, "document"), "cookie"))
	if !s.MayStore() {
		return
	}
	if c, ok := widget.ParseStoredChat(storageGet(widget.StoredChatKey(a.site))); ok {
		s.Token = c.Token
		if c.Chatflow == sh.flow.ID {
			s.Conversation = c.Conversation
		}
	}
}

// storage is the page's localStorage, or undefined where it is not
// available (a sandboxed frame, storage turned off).
func storage() safejs.Value {
	return get(global, "localStorage")
}

func storageGet(key string) string {
	ls := storage()
	if ls.IsUndefined() || ls.IsNull() {
		return ""
	}
	v, err := ls.Call("getItem", key)
	if err != nil || v.Type() != safejs.TypeString {
		return ""
	}
	s, _ := v.String()
	return s
}

// saveChat keeps the chat in the page's storage, when allowed, so the
// conversation follows the visitor to the next page.
func (sh *shell) saveChat() {
	s := sh.sess
	ls := storage()
	if !s.MayStore() || s.Token == "" || ls.IsUndefined() || ls.IsNull() {
		return
	}
	c := widget.StoredChat{Chatflow: sh.flow.ID, Token: s.Token, Conversation: s.Conversation, LastSeq: s.LastSeq}
	try(ls, "setItem", widget.StoredChatKey(a.site), c.String())
}

// welcomed acts on identification's outcome: a warning goes to the
// console, and a change in what targeting knows picks the chatflow again.
func (sh *shell) welcomed() {
	s := sh.sess
	if s.IDToken == "" {
		return
	}
	if w := s.Warning; w != "" {
		if !strings.HasPrefix(w, "Parley") {
			w = "Parley: " + w
		}
		warn(w)
	}
	was := a.ident
	a.ident, a.props = idNo, nil
	if s.Identified {
		a.ident, a.props = idYes, s.Properties
	} else {
		s.IDEmail, s.IDToken = "", "" // anonymous from now on: no warning on every reconnect
	}
	if a.ident == was {
		return
	}
	if s.Identified {
		emit("contactIdentified", "email", s.IDEmail)
	}
	if flow, ok := widget.PickChatflow(a.cfg, currentVisit()); !ok || flow.ID != sh.flow.ID {
		post(event{kind: evStart})
	}
}

// exitBanner shows the cookie banner of exit-intent mode when the visitor
// is about to leave, opening the chat window to show it in (unless the
// visitor minimised the chat: that is respected everywhere).
func (sh *shell) exitBanner() {
	if sh.sess.ShowCookieBanner(false, true) && !sh.open && !widget.Minimised(str(get(global, "document"), "cookie")) {
		sh.setOpen(true, false)
	}
	sh.renderPrivacy()
}

// decide sends the visitor's decision on a notice.
func (sh *shell) decide(kind, decision string) {
	if u, ok := sh.sess.Decide(kind, decision); ok {
		sh.apply(u)
		if sh.sess.State() == widget.ConnIdle {
			sh.connect()
		}
	}
	sh.renderPrivacy()
}

// renderNotices writes the notices' texts and button labels.
func (sh *shell) renderNotices() {
	c := sh.sess.Consents
	if n := c.Cookie; n != nil {
		renderParts(sh.el("cookie-text"), n.Parts)
		text(sh.el("cookie-accept"), n.Accept)
		text(sh.el("cookie-decline"), n.Decline)
	}
	if n := c.DataProcessing; n != nil {
		renderParts(sh.el("data-text"), n.Parts)
		text(sh.el("data-agree"), n.Accept)
	}
	if n := c.Communication; n != nil {
		renderParts(sh.el("comm-text"), n.Parts)
	}
}

// renderParts shows a consent text: every part as text; a part with an
// http(s) link as a link (any other scheme stays text).
func renderParts(el safejs.Value, parts []widget.ConsentPart) {
	text(el, "")
	for _, p := range parts {
		var pe safejs.Value
		if p.Href != "" && widget.SafeHref(p.Href) {
			pe = newEl("a", "", p.Text)
			set(pe, "href", p.Href)
			attr(pe, "target", "_blank")
			attr(pe, "rel", "noopener noreferrer")
		} else {
			pe = newEl("span", "", p.Text)
		}
		call(el, "appendChild", pe)
	}
}

// renderPrivacy shows the banner, the data-processing notice with its "I
// agree", the communication checkbox, and disables sending while it waits.
func (sh *shell) renderPrivacy() {
	s := sh.sess
	c := s.Consents
	set(sh.el("cookie"), "hidden", sh.helpOn || !s.ShowCookieBanner(sh.open, sh.leaving))
	blocked := s.SendBlocked()
	set(sh.el("data-agree"), "hidden", !blocked)
	set(sh.el("data-text"), "hidden", c.DataProcessing == nil)
	set(sh.el("comm"), "hidden", c.Communication == nil)
	set(sh.el("data-consent"), "hidden", sh.helpOn || c.DataProcessing == nil && c.Communication == nil)
	set(sh.el("comm-box"), "checked", s.Subscribed)
	set(sh.input, "disabled", blocked)
	set(sh.el("send"), "disabled", blocked)
	set(sh.el("attach"), "disabled", blocked)
}

// refetchConfig fetches the config again after a stale consent; the
// current notices then show (evConfig).
func (sh *shell) refetchConfig() {
	go func() {
		if cfg, err := fetchConfig(a.base, a.site); err == nil {
			post(event{kind: evConfig, cfg: cfg, owner: sh})
		}
	}()
}

// newConfig takes a fetched config: the chatflow on screen gets its
// current notices.
func (sh *shell) newConfig(cfg *widget.Config) {
	a.cfg = cfg
	for i := range cfg.Chatflows {
		if f := &cfg.Chatflows[i]; f.ID == sh.flow.ID {
			sh.flow = f
			sh.sess.SetConsents(f.Consents)
			sh.renderNotices()
		}
	}
	sh.renderPrivacy()
}

package client

import (
	"errors"
	"fmt"
	"strings"

	"github.com/parleychat/parley/widget"
)

// Consent kinds and decisions (PROTOCOL.md "Consent").
const (
	ConsentCookie         = widget.ConsentCookie
	ConsentDataProcessing = widget.ConsentDataProcessing
	ConsentCommunication  = widget.ConsentCommunication
)

// ConsentNotice is one consent the chatflow asks: show its text (parts in
// order: plain text, or links) with the Accept and Decline buttons, and
// pass the visitor's choice to Chat.Agree or Chat.Refuse.
type ConsentNotice struct {
	Kind    string // cookie | data_processing | communication
	Mode    string // cookie: before_chat | exit_intent; data_processing: explicit | legitimate_interest
	Accept  string // the accept button's label (communication: the checkbox's)
	Decline string // the decline button's label; may be empty
	Version string // names the exact text; the SDK sends it with the decision

	parts []widget.ConsentPart
}

func newNotice(n *widget.ConsentNotice) *ConsentNotice {
	if n == nil {
		return nil
	}
	return &ConsentNotice{Kind: n.Kind, Mode: n.Mode, Accept: n.Accept, Decline: n.Decline, Version: n.Version, parts: n.Parts}
}

// Text is the whole notice as plain text (links as their text).
func (n *ConsentNotice) Text() string {
	var b strings.Builder
	for _, p := range n.parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

// PartCount is how many pieces the text has.
func (n *ConsentNotice) PartCount() int { return len(n.parts) }

// PartText is piece i's text: plain text, never markup.
func (n *ConsentNotice) PartText(i int) string {
	if i < 0 || i >= len(n.parts) {
		return ""
	}
	return n.parts[i].Text
}

// PartLink is piece i's link, an http(s) URL, or "" when the piece is
// plain text.
func (n *ConsentNotice) PartLink(i int) string {
	if i < 0 || i >= len(n.parts) || !widget.SafeHref(n.parts[i].Href) {
		return ""
	}
	return n.parts[i].Href
}

// Storage keeps small strings on the device between runs (the app's
// preferences or keychain). The SDK writes the visitor token there only
// once the visitor accepted the cookie notice (or the chatflow asks none),
// never for an identified visitor.
type Storage interface {
	Load(key string) string // "" when absent
	Save(key, value string)
	Remove(key string)
}

// Keys of what the SDK stores, per site.
func keyChat(site string) string   { return "parley:" + site + ":chat" }
func keyCookie(site string) string { return "parley:" + site + ":cookie" }
func keyData(site string) string   { return "parley:" + site + ":data" }

// SetStorage makes the chat keep its token, conversation and last seq in
// st, and continues the chat st holds from an earlier run. It also
// remembers the visitor's answer to the cookie notice (a value that is
// the same for everyone). Nothing that identifies the visitor is written
// before the cookie notice is accepted. Call it before Connect.
func (c *Chat) SetStorage(st Storage) {
	c.mu.Lock()
	c.st = st
	site := c.s.Site
	c.mu.Unlock()
	if st == nil {
		return
	}
	cookie, chat, data := st.Load(keyCookie(site)), st.Load(keyChat(site)), st.Load(keyData(site))
	c.mu.Lock()
	if cookie == widget.DecisionGranted || cookie == widget.DecisionRefused {
		c.s.CookieChoice = cookie
	}
	may := c.s.MayStore()
	if sc, ok := widget.ParseStoredChat(chat); ok && may && sc.Chatflow == c.s.Chatflow && c.s.Token == "" {
		c.s.Token, c.s.Conversation, c.s.LastSeq = sc.Token, sc.Conversation, sc.LastSeq
	}
	if n := c.s.Consents.DataProcessing; may && n != nil && data != "" && data == n.Version {
		c.s.Receive(widget.Frame{Type: widget.FrameConsent, Kind: widget.ConsentDataProcessing, Decision: widget.DecisionGranted, Version: data})
	}
	c.saved = chat
	c.mu.Unlock()
	if !may && chat != "" {
		st.Remove(keyChat(site)) // a refusal forgets what an older run kept
	}
}

// persist writes the chat to the storage when it changed and may be kept.
func (c *Chat) persist() {
	c.mu.Lock()
	st := c.st
	if st == nil || !c.s.MayStore() || c.s.Token == "" {
		c.mu.Unlock()
		return
	}
	v := widget.StoredChat{Chatflow: c.s.Chatflow, Token: c.s.Token, Conversation: c.s.Conversation, LastSeq: c.s.LastSeq}.String()
	if v == c.saved {
		c.mu.Unlock()
		return
	}
	c.saved = v
	site := c.s.Site
	c.mu.Unlock()
	st.Save(keyChat(site), v)
}

// MayStore reports whether the app may keep the visitor token on the
// device (Token, Conversation, LastSeq): the visitor accepted the cookie
// notice or the chatflow asks none, and the visitor is not identified.
func (c *Chat) MayStore() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.s.MayStore() }

// ConsentNeeded reports whether to show the notice of kind now: the
// cookie notice until answered (with mode exit_intent only when leaving
// is true: the visitor is about to close the chat), explicit data
// processing until agreed; a legitimate-interest or communication notice
// is shown whenever the chatflow has it (see Chatflow.Consent).
func (c *Chat) ConsentNeeded(kind string, leaving bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch kind {
	case ConsentCookie:
		return c.s.ShowCookieBanner(true, leaving)
	case ConsentDataProcessing:
		return c.s.SendBlocked()
	case ConsentCommunication:
		return c.s.Consents.Communication != nil
	}
	return false
}

// Subscribed reports the communication checkbox as the visitor last set it.
func (c *Chat) Subscribed() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.s.Subscribed }

// Agree records that the visitor accepts the notice of kind (cookie,
// data_processing, communication: subscribe). The decision goes to the
// server now, or after the next welcome; OnConsent follows once it is
// recorded. Accepting the cookie notice lets the SDK store the chat;
// agreeing to data processing releases the messages waiting for it.
func (c *Chat) Agree(kind string) error { return c.decide(kind, widget.DecisionGranted) }

// Refuse records that the visitor declines the notice of kind. Refusing
// cookies removes what the SDK stored; refusing explicit data processing
// makes Send refuse with a sentence to show.
func (c *Chat) Refuse(kind string) error { return c.decide(kind, widget.DecisionRefused) }

func (c *Chat) decide(kind, decision string) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errors.New("parley: the chat is closed")
	}
	u, ok := c.s.Decide(kind, decision)
	if !ok {
		c.mu.Unlock()
		return fmt.Errorf("parley: this chatflow shows no %q notice", kind)
	}
	if kind == ConsentDataProcessing {
		c.dataRefused = decision == widget.DecisionRefused
		if c.dataRefused {
			// An earlier grant no longer counts: sends wait again.
			c.s.Receive(widget.Frame{Type: widget.FrameError, Code: widget.ErrConsentRequired})
		}
	}
	c.queueLocked(u.Send)
	st, site, may := c.st, c.s.Site, c.s.MayStore()
	version := ""
	if n := c.s.Consents.DataProcessing; n != nil && !c.s.SendBlocked() {
		version = n.Version
	}
	if kind == ConsentCookie && !may {
		c.saved = ""
	}
	c.mu.Unlock()
	if st == nil {
		return nil
	}
	switch kind {
	case ConsentCookie:
		st.Save(keyCookie(site), decision)
		if !may {
			st.Remove(keyChat(site))
			st.Remove(keyData(site))
		}
	case ConsentDataProcessing:
		if may && version != "" {
			st.Save(keyData(site), version)
		} else {
			st.Remove(keyData(site))
		}
	}
	c.persist()
	return nil
}

package widget

import (
	"strconv"
	"strings"
)

// Privacy on the visitor's side (PROTOCOL.md "Consent"
// and "Identification"). Until the visitor accepts the cookie banner the
// widget keeps the visitor token in memory only; afterwards it keeps the
// chat (token, conversation, last seq) in the page's storage so the
// conversation follows the visitor across pages. A refusal is remembered
// in a cookie whose value is a constant, never an identifier. Identified
// visitors see no banner and get nothing stored at all: their
// conversation follows them through the identification instead.

// CookieChoiceCookie remembers the visitor's answer to the cookie banner
// for CookieChoiceMaxAge seconds. Its value is DecisionGranted or
// DecisionRefused: the same for every visitor.
const (
	CookieChoiceCookie = "parley-cookie-consent"
	CookieChoiceMaxAge = 180 * 24 * 60 * 60
)

// CookieChoiceSetCookie is what the widget writes to document.cookie to
// remember decision (DecisionGranted or DecisionRefused) site-wide.
func CookieChoiceSetCookie(decision string) string {
	if decision != DecisionGranted {
		decision = DecisionRefused
	}
	return CookieChoiceCookie + "=" + decision + "; max-age=" + strconv.Itoa(CookieChoiceMaxAge) + "; path=/; SameSite=Lax"
}

// CookieChoice returns the remembered answer to the cookie banner in a
// document.cookie string: DecisionGranted, DecisionRefused or "".
func CookieChoice(cookies string) string {
	for cookies != "" {
		var c string
		c, cookies, _ = cut(cookies, ";")
		name, value, _ := cut(strings.TrimSpace(c), "=")
		if name == CookieChoiceCookie && (value == DecisionGranted || value == DecisionRefused) {
			return value
		}
	}
	return ""
}

// StoredChatKey is the localStorage key of a site's stored chat.
func StoredChatKey(site string) string { return "parley-chat:" + site }

// StoredChat is what the widget keeps in the page's storage once the
// visitor accepted cookies: enough to resume the chat on the next page.
type StoredChat struct {
	Chatflow     string // the chatflow the conversation belongs to
	Token        string // the visitor token (a secret)
	Conversation string
	LastSeq      int64 // highest seq the visitor has been shown
}

// storedChatVersion prefixes the stored form, so a later format can tell.
const storedChatVersion = "p1"

// String is the stored form: fields joined by newlines (none of them can
// hold one: they are the server's ids).
func (c StoredChat) String() string {
	return storedChatVersion + "\n" + c.Chatflow + "\n" + c.Token + "\n" + c.Conversation + "\n" + strconv.FormatInt(c.LastSeq, 10)
}

// ParseStoredChat reads StoredChat.String's form; ok is false for anything
// else (another version, a page's own use of the key, a broken value).
func ParseStoredChat(s string) (c StoredChat, ok bool) {
	var f [5]string
	for i := range 4 {
		var ok bool
		if f[i], s, ok = cut(s, "\n"); !ok {
			return StoredChat{}, false
		}
	}
	f[4] = s
	if strings.IndexByte(s, '\n') >= 0 || f[0] != storedChatVersion || f[2] == "" {
		return StoredChat{}, false
	}
	seq, ok := ParseInt(f[4])
	if !ok || seq < 0 {
		return StoredChat{}, false
	}
	return StoredChat{Chatflow: f[1], Token: f[2], Conversation: f[3], LastSeq: seq}, true
}

// MayStore reports whether the widget may keep an identifier in the
// page's storage: never for an identified visitor; otherwise only once the
// visitor accepted the cookie banner, or when the chatflow asks no cookie
// consent at all.
func (s *Session) MayStore() bool {
	if s.Identifying() {
		return false
	}
	return s.Consents.Cookie == nil || s.CookieChoice == DecisionGranted
}

// Identifying reports whether the visitor chats (or is about to, before
// the welcome says) as an identified contact: the page passed an email
// and token, and the server has not refused them.
func (s *Session) Identifying() bool {
	return s.IDEmail != "" && s.IDToken != "" && !s.idRefused
}

// ShowCookieBanner reports whether the cookie banner is to show now: the
// chatflow asks, the visitor is anonymous and has not answered, and it is
// the banner's moment: the chat window is open (before_chat) or the
// visitor is about to leave (exit_intent, leaving).
func (s *Session) ShowCookieBanner(open, leaving bool) bool {
	n := s.Consents.Cookie
	if n == nil || s.Identifying() || s.CookieChoice != "" {
		return false
	}
	if n.Mode == ConsentExitIntent {
		return leaving
	}
	return open
}

// SendBlocked reports whether sending waits for the visitor's "I agree":
// the chatflow asks explicit data-processing consent and the visitor has
// not given it (for the current text).
func (s *Session) SendBlocked() bool {
	n := s.Consents.DataProcessing
	return n != nil && n.Mode == ConsentExplicit && s.dataGranted != n.Version
}

// Decide records the visitor's decision on the notice of kind and returns
// the consent frame to send (now when connected, else after the next
// welcome). The cookie decision also becomes CookieChoice. ok is false
// when the chatflow shows no such notice.
func (s *Session) Decide(kind, decision string) (Update, bool) {
	var n *ConsentNotice
	switch kind {
	case ConsentCookie:
		n = s.Consents.Cookie
		s.CookieChoice = decision
	case ConsentDataProcessing:
		n = s.Consents.DataProcessing
		if n != nil && decision == DecisionGranted {
			s.dataGranted = n.Version
		}
	case ConsentCommunication:
		n = s.Consents.Communication
		s.Subscribed = decision == DecisionGranted
	}
	if n == nil {
		return Update{}, false
	}
	s.nextID++
	f := Frame{Type: FrameConsent, ID: s.idPrefix + "-" + strconv.Itoa(s.nextID), Kind: kind, Decision: decision, Version: n.Version, Page: s.Page}
	// One decision per kind is waiting at most: the newest one counts.
	for i, p := range s.consentOut {
		if p.Kind == kind {
			s.consentOut = append(s.consentOut[:i], s.consentOut[i+1:]...)
			break
		}
	}
	s.consentOut = append(s.consentOut, f)
	var u Update
	if s.state == ConnConnected {
		u.Send = append(u.Send, f)
	}
	return u, true
}

// receiveConsent applies the server's consent answer: the decision is
// recorded; a granted data-processing consent releases the messages
// refused with consent_required.
func (s *Session) receiveConsent(f Frame, u *Update) {
	for i, p := range s.consentOut {
		if p.ID == f.ID {
			s.consentOut = append(s.consentOut[:i], s.consentOut[i+1:]...)
			break
		}
	}
	if f.Kind == ConsentDataProcessing && f.Decision == DecisionGranted {
		s.dataGranted = f.Version
		if s.notice == T("err_consent_required") {
			s.notice = ""
		}
		u.Send = append(u.Send, s.outbox...)
	}
}

// staleConsent forgets the local decision of a consent the server no
// longer recognises, so its notice shows again once the shell has fetched
// the current config (StaleConsent tells it to).
func (s *Session) staleConsent(id string) {
	for i, p := range s.consentOut {
		if p.ID != id {
			continue
		}
		s.consentOut = append(s.consentOut[:i], s.consentOut[i+1:]...)
		switch p.Kind {
		case ConsentCookie:
			s.CookieChoice = ""
		case ConsentDataProcessing:
			s.dataGranted = ""
		}
		break
	}
	s.stale = true
}

// StaleConsent reports, once, that the server refused a consent as stale:
// the shell fetches the config again and calls SetConsents.
func (s *Session) StaleConsent() bool {
	st := s.stale
	s.stale = false
	return st
}

// SetConsents replaces the notices (after fetching the config again). A
// data-processing grant of an older text no longer counts.
func (s *Session) SetConsents(c Consents) {
	s.Consents = c
}

// MayKeepVisit reports whether the shell may keep this tab's visit (page
// count and first referrer) in sessionStorage: only when some chatflow of
// cfg has a rule that needs it, the page does not identify the visitor, and
// storing is allowed: the visitor accepted the cookie banner, or no
// chatflow asks. Otherwise each page counts as the visit's first.
func MayKeepVisit(cfg *Config, cookieChoice string, identifying bool) bool {
	if cfg == nil || identifying {
		return false
	}
	needed, asks := false, false
	for i := range cfg.Chatflows {
		c := &cfg.Chatflows[i]
		asks = asks || c.Consents.Cookie != nil
		for _, r := range c.Targeting.Exclusions {
			needed = needed || visitRule(r)
		}
		for _, g := range c.Targeting.Groups {
			for _, r := range g.Rules {
				needed = needed || visitRule(r)
			}
		}
	}
	return needed && (!asks || cookieChoice == DecisionGranted)
}

func visitRule(r Rule) bool { return r.Kind == RuleReferrer || r.Kind == RulePageViews }

package widget

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxEmailBytes is the longest email address accepted (RFC 5321's path limit).
const MaxEmailBytes = 254

// ValidEmail reports whether s (already trimmed) is a plausible email
// address: one @, a local part without spaces, quotes or brackets, and a
// domain of at least two dot-separated labels of letters, digits and
// hyphens (or non-ASCII letters, for internationalised domains). The widget
// checks it before sending and the backend again before storing; it is the
// same function on both sides, so they never disagree.
func ValidEmail(s string) bool {
	if len(s) < 3 || len(s) > MaxEmailBytes || !utf8.ValidString(s) {
		return false
	}
	at := strings.IndexByte(s, '@')
	if at < 1 || at > 64 || strings.IndexByte(s[at+1:], '@') >= 0 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if local[0] == '.' || local[len(local)-1] == '.' || index(local, "..") >= 0 {
		return false
	}
	for _, r := range local {
		if r <= ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError || r < utf8.RuneSelf && strings.IndexByte(`"(),:;<>[\]`, byte(r)) >= 0 {
			return false
		}
	}
	if index(domain, ".") < 0 || len(domain) > 253 {
		return false
	}
	var l string
	for rest := domain; rest != ""; {
		l, rest, _ = cut(rest, ".")
		if rest == "" && strings.HasSuffix(domain, ".") {
			return false // an empty last label
		}
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			ok := r == '-' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r >= 0xa0 && r != utf8.RuneError
			if !ok {
				return false
			}
		}
	}
	for i := 0; i < len(l); i++ { // an IP-like tail (l is the last label) is not a domain
		if l[i] < '0' || l[i] > '9' {
			return true
		}
	}
	return false
}

// EmailPrompt is the text asking for an email address: the chatflow's own
// text in lang if it has one, else the default of the language in use.
func EmailPrompt(ec EmailCapture, lang string) string {
	if t := strings.TrimSpace(ec.Prompt[lang]); t != "" {
		return t
	}
	return T("email_prompt")
}

// Offline reports whether presence means nobody can answer now (offline or
// away): messages are still taken and answered later.
func Offline(p Presence) bool { return p.State == StateOffline || p.State == StateAway }

// NoteText is the line under the messages about when an answer comes: while
// nobody can answer, that the team answers later (by email if the visitor
// left an address; sent says whether the visitor has written yet);
// otherwise, once an address is stored, that it will be used. Empty when
// there is nothing to say.
func NoteText(p Presence, sent bool, email string) string {
	switch {
	case Offline(p) && !sent:
		return T("offline_before")
	case Offline(p) && email == "":
		return T("offline_after")
	case Offline(p):
		return T("offline_after_email", "email", email)
	case email != "":
		return T("email_saved", "email", email)
	}
	return ""
}

// ResumeFragment starts the part of a page address that carries an
// email's reopen link token (#parley-resume=<token>).
const ResumeFragment = "#parley-resume="

// TakeResume splits a reopen link's token off a page address: the token
// ("" when there is none) and the address without it.
func TakeResume(url string) (token, rest string) {
	i := index(url, ResumeFragment)
	if i < 0 {
		return "", url
	}
	token = url[i+len(ResumeFragment):]
	if j := indexAnyByte(token, "&#?"); j >= 0 {
		token = token[:j]
	}
	return token, url[:i]
}

// CanEmailTranscript says whether "email me this conversation" can be
// offered: there is a conversation and an address is stored.
func (s *Session) CanEmailTranscript() bool { return s.Email != "" && s.Conversation != "" }

// EmailTranscript returns the frame asking for the conversation by email,
// when connected.
func (s *Session) EmailTranscript() (Frame, bool) {
	if !s.CanEmailTranscript() || s.state != ConnConnected {
		return Frame{}, false
	}
	s.nextID++
	return Frame{Type: FrameTranscript, ID: s.idPrefix + "-" + strconv.Itoa(s.nextID)}, true
}

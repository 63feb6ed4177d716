// Package consent resolves the consent texts a chatflow shows:
// the cookie banner, the data-processing consent (explicit or legitimate
// interest) and the communication-consent checkbox, in the chatflow's
// language, with the chatflow's own texts where set and Defaults where
// empty (so "reset to default" is an empty text).
//
// Texts are plain text: the result is a list of parts, each plain text or a
// link, never HTML. A link appears only for an http or https privacy-policy
// URL. The widget renders each part with textContent (and a link part as an
// <a href> it sets as a property), so markup in a text stays visible text.
//
// Texts takes the language and options rather than a *chatflow.Chatflow so
// chatflow.Publish can call it without an import cycle:
//
//	out.Consent = consent.Texts(c.Language, c.Options, acct)
package consent

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"unicode"

	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// Placeholders a text may hold.
const (
	// PrivacyPlaceholder in a cookie or data-processing text becomes the
	// privacy-policy link (or disappears when there is no safe link). A
	// data-processing text without it gets the link appended.
	PrivacyPlaceholder = "{privacy_policy}"
	// CompanyPlaceholder in the communication label becomes the company name.
	CompanyPlaceholder = "{company}"
)

// Part is one piece of a consent text: plain text, or a link when Href is
// set (always an http or https URL).
type Part struct {
	Text string `json:"text"`
	Href string `json:"href,omitempty"`
}

// Notice is one consent as the widget shows it.
type Notice struct {
	Kind    string `json:"kind"`              // store.ConsentCookie | ConsentDataProcessing | ConsentCommunication
	Mode    string `json:"mode,omitempty"`    // cookie: before_chat | exit_intent; data_processing: explicit | legitimate_interest
	Parts   []Part `json:"parts"`             // the text to show, in order
	Accept  string `json:"accept,omitempty"`  // button: cookie "Accept", explicit consent "I agree"
	Decline string `json:"decline,omitempty"` // button: cookie "Decline"
	// Version identifies the exact text; the widget sends it back with the
	// visitor's decision so the server can tell the text shown is current.
	Version string `json:"version"`
	// Text is the plain text as shown (a link written "label (url)"): what a
	// consent record stores. Not published: the server resolves it again.
	Text string `json:"-"`
}

// Published is the consent block of a published chatflow; a nil notice is
// a consent the chatflow has turned off.
type Published struct {
	Cookie         *Notice `json:"cookie,omitempty"`
	DataProcessing *Notice `json:"data_processing,omitempty"`
	Communication  *Notice `json:"communication,omitempty"`
}

// Notice returns the notice of kind, nil when off or unknown.
func (p Published) Notice(kind string) *Notice {
	switch kind {
	case store.ConsentCookie:
		return p.Cookie
	case store.ConsentDataProcessing:
		return p.DataProcessing
	case store.ConsentCommunication:
		return p.Communication
	}
	return nil
}

// Texts resolves a chatflow's consent texts for the widget: language is the
// chatflow's, opts its options, acct its account (for the company name in
// the communication label). The communication checkbox needs a
// subscription type: without one it is off.
func Texts(language string, opts widget.Options, acct *store.Account) Published {
	d := For(language)
	var p Published
	if o := opts.CookieConsent; o.Enabled {
		text := pick(o.Text, d.Cookie)
		p.Cookie = notice(store.ConsentCookie, o.When, Render(text, opts.DataConsent.PrivacyURL, d.PrivacyLink, false))
		p.Cookie.Accept, p.Cookie.Decline = d.CookieAccept, d.CookieDecline
	}
	if o := opts.DataConsent; o.Enabled {
		def := d.DataLegitimate
		if o.Type == widget.ConsentExplicit {
			def = d.DataExplicit
		}
		p.DataProcessing = notice(store.ConsentDataProcessing, o.Type, Render(pick(o.Text, def), o.PrivacyURL, d.PrivacyLink, true))
		if o.Type == widget.ConsentExplicit {
			p.DataProcessing.Accept = d.DataAgree
		}
	}
	if o := opts.CommunicationConsent; o.Enabled && o.SubscriptionTypeID != 0 {
		label := strings.ReplaceAll(pick(o.Label, d.CommunicationLabel), CompanyPlaceholder, Company(acct, d.CompanyFallback))
		p.Communication = notice(store.ConsentCommunication, "", Render(label, "", "", false))
	}
	return p
}

// Shown returns the current notice of kind and whether version (sent back
// by the widget with the visitor's decision) is its version: record the
// decision with n.Text only when ok. ok is false when the chatflow's text
// changed after the page loaded, or the consent is off: do not record the
// decision against a text the visitor did not see; send the current config.
func Shown(language string, opts widget.Options, acct *store.Account, kind, version string) (*Notice, bool) {
	n := Texts(language, opts, acct).Notice(kind)
	return n, n != nil && version != "" && n.Version == version
}

// Company is the name the communication label gives the company: the
// account's company name, else its name, else its company domain, else
// fallback.
func Company(acct *store.Account, fallback string) string {
	if acct != nil {
		for _, s := range []string{acct.CompanyName, acct.Name, acct.CompanyDomain} {
			if s = strings.TrimSpace(s); s != "" {
				return s
			}
		}
	}
	return fallback
}

func pick(custom, def string) string {
	if strings.TrimSpace(custom) == "" {
		return def
	}
	return custom
}

func notice(kind, mode string, parts []Part) *Notice {
	n := &Notice{Kind: kind, Mode: mode, Parts: parts, Text: Plain(parts)}
	h := sha256.Sum256([]byte(kind + "\x00" + mode + "\x00" + n.Text))
	n.Version = hex.EncodeToString(h[:8])
	return n
}

// Render turns a consent text into parts: the text stays plain text (markup
// is kept as characters, control characters other than newlines are
// dropped), and each PrivacyPlaceholder becomes a link to privacyURL named
// linkText, only if SafeURL accepts the URL; otherwise the placeholder
// disappears. With appendLink, a text without the placeholder gets the link
// at its end.
func Render(text, privacyURL, linkText string, appendLink bool) []Part {
	text = clean(text)
	href := SafeURL(privacyURL)
	var parts []Part
	add := func(p Part) {
		if p.Text == "" {
			return
		}
		if n := len(parts); n > 0 && p.Href == "" && parts[n-1].Href == "" {
			parts[n-1].Text += p.Text
			return
		}
		parts = append(parts, p)
	}
	segs := strings.Split(text, PrivacyPlaceholder)
	for i, seg := range segs {
		if i > 0 && href != "" {
			add(Part{Text: linkText, Href: href})
		}
		if i > 0 && href == "" {
			// The link is gone: do not leave two spaces where it was.
			if n := len(parts); n > 0 && strings.HasSuffix(parts[n-1].Text, " ") {
				seg = strings.TrimLeft(seg, " ")
			}
		}
		add(Part{Text: seg})
	}
	if appendLink && href != "" && len(segs) == 1 {
		if n := len(parts); n > 0 {
			parts[n-1].Text = strings.TrimRight(parts[n-1].Text, " ") + " "
		}
		add(Part{Text: linkText, Href: href})
	}
	if n := len(parts); n > 0 && parts[n-1].Href == "" {
		parts[n-1].Text = strings.TrimRightFunc(parts[n-1].Text, unicode.IsSpace)
		if parts[n-1].Text == "" {
			parts = parts[:n-1]
		}
	}
	if parts == nil {
		parts = []Part{}
	}
	return parts
}

// Plain writes parts as one plain text, a link as "text (url)": the form a
// consent record keeps.
func Plain(parts []Part) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
		if p.Href != "" {
			b.WriteString(" (" + p.Href + ")")
		}
	}
	return b.String()
}

// SafeURL returns u normalised if it is an absolute http or https URL with
// a host and no user name or password, else "". Anything else
// (javascript:, data:, relative paths, URLs with spaces or control
// characters) is never made a link.
func SafeURL(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > 2000 {
		return ""
	}
	for _, r := range raw {
		if r <= ' ' || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == '\\' {
			return ""
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return ""
	}
	u.Scheme = strings.ToLower(u.Scheme)
	return u.String()
}

// clean keeps a text plain and valid: valid UTF-8, no control characters
// except newlines, trimmed.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\t' || r == '\r':
			return ' '
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

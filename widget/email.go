package widget

import (
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
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return false
	}
	for _, r := range local {
		if r <= ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError || strings.ContainsRune(`"(),:;<>[\]`, r) {
			return false
		}
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 || len(domain) > 253 {
		return false
	}
	for _, l := range labels {
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
	tld := labels[len(labels)-1]
	return strings.Trim(tld, "0123456789") != "" // an IP-like tail is not a domain
}

// languageTexts picks lang's text from a table keyed by language, English
// when the language has none.
func languageTexts(table map[string]string, lang string) string {
	if t, ok := table[lang]; ok {
		return t
	}
	return table["en"]
}

var emailPrompts = map[string]string{
	"en": "Leave your email address so we can answer you by email too.",
	"nl": "Laat je e-mailadres achter, dan kunnen we je ook per e-mail antwoorden.",
	"de": "Hinterlassen Sie Ihre E-Mail-Adresse, damit wir Ihnen auch per E-Mail antworten können.",
	"fr": "Laissez votre adresse e-mail pour que nous puissions aussi vous répondre par e-mail.",
	"es": "Déjanos tu correo electrónico para que también podamos responderte por correo.",
}

// EmailPrompt is the text asking for an email address: the chatflow's own
// text in lang if it has one, else the default of lang (English for a
// language without one).
func EmailPrompt(ec EmailCapture, lang string) string {
	if t := strings.TrimSpace(ec.Prompt[lang]); t != "" {
		return t
	}
	return languageTexts(emailPrompts, lang)
}

// Offline notes: what the widget says while nobody can answer.
var (
	offlineBefore = map[string]string{
		"en": "No one is available right now. Leave a message and the team will answer later.",
		"nl": "Er is nu niemand beschikbaar. Laat een bericht achter, dan antwoordt het team later.",
		"de": "Gerade ist niemand erreichbar. Hinterlassen Sie eine Nachricht, das Team antwortet später.",
		"fr": "Personne n'est disponible pour le moment. Laissez un message, l'équipe répondra plus tard.",
		"es": "Ahora no hay nadie disponible. Deja un mensaje y el equipo responderá más tarde.",
	}
	offlineAfter = map[string]string{
		"en": "Thanks! The team is away right now and will answer your message later.",
		"nl": "Bedankt! Het team is nu afwezig en beantwoordt je bericht later.",
		"de": "Danke! Das Team ist gerade nicht da und beantwortet Ihre Nachricht später.",
		"fr": "Merci ! L'équipe est absente pour le moment et répondra plus tard à votre message.",
		"es": "¡Gracias! El equipo no está ahora y responderá tu mensaje más tarde.",
	}
	offlineAfterEmail = map[string]string{
		"en": "Thanks! The team is away right now and will answer your message later, by email at {email}.",
		"nl": "Bedankt! Het team is nu afwezig en beantwoordt je bericht later per e-mail op {email}.",
		"de": "Danke! Das Team ist gerade nicht da und beantwortet Ihre Nachricht später per E-Mail an {email}.",
		"fr": "Merci ! L'équipe est absente pour le moment et répondra plus tard par e-mail à {email}.",
		"es": "¡Gracias! El equipo no está ahora y responderá más tarde por correo a {email}.",
	}
	emailSaved = map[string]string{
		"en": "Thanks! If we miss you here, we will answer by email at {email}.",
		"nl": "Bedankt! Missen we je hier, dan antwoorden we per e-mail op {email}.",
		"de": "Danke! Verpassen wir Sie hier, antworten wir per E-Mail an {email}.",
		"fr": "Merci ! Si nous vous manquons ici, nous répondrons par e-mail à {email}.",
		"es": "¡Gracias! Si no te encontramos aquí, responderemos por correo a {email}.",
	}
)

// Offline reports whether presence means nobody can answer now (offline or
// away): messages are still taken and answered later.
func Offline(p Presence) bool { return p.State == StateOffline || p.State == StateAway }

// NoteText is the line under the messages about when an answer comes: while
// nobody can answer, that the team answers later (by email if the visitor
// left an address; sent says whether the visitor has written yet);
// otherwise, once an address is stored, that it will be used. Empty when
// there is nothing to say.
func NoteText(p Presence, lang string, sent bool, email string) string {
	var t string
	switch {
	case Offline(p) && !sent:
		t = languageTexts(offlineBefore, lang)
	case Offline(p) && email == "":
		t = languageTexts(offlineAfter, lang)
	case Offline(p):
		t = languageTexts(offlineAfterEmail, lang)
	case email != "":
		t = languageTexts(emailSaved, lang)
	}
	return strings.ReplaceAll(t, "{email}", email)
}

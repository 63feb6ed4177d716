package mail

import (
	"strings"

	"github.com/parleychat/parley/widget"
)

// Every string of every email, per language (the widget's five). A text
// may hold {name} placeholders, filled by t. A test checks every language
// has every key.
var texts = map[string]map[string]string{
	"en": {
		"reply_subject":      "New reply from {brand}",
		"reply_intro":        "{brand} answered your chat:",
		"reply_button":       "Continue the conversation",
		"reply_by_email":     "You can also answer by replying to this email.",
		"offline_subject":    "We received your message",
		"offline_intro":      "Thanks for your message. The team is away right now and will answer you by email at {email}.",
		"transcript_subject": "Your conversation with {brand}",
		"transcript_intro":   "Here is your conversation with {brand}.",
		"you":                "You",
		"footer":             "You receive this email because you chatted with {brand}.",
		"attachment":         "file",
	},
	"nl": {
		"reply_subject":      "Nieuw antwoord van {brand}",
		"reply_intro":        "{brand} heeft op je chat geantwoord:",
		"reply_button":       "Ga verder met het gesprek",
		"reply_by_email":     "Je kunt ook antwoorden door op deze e-mail te reageren.",
		"offline_subject":    "We hebben je bericht ontvangen",
		"offline_intro":      "Bedankt voor je bericht. Het team is nu afwezig en antwoordt je per e-mail op {email}.",
		"transcript_subject": "Je gesprek met {brand}",
		"transcript_intro":   "Hier is je gesprek met {brand}.",
		"you":                "Jij",
		"footer":             "Je ontvangt deze e-mail omdat je met {brand} hebt gechat.",
		"attachment":         "bestand",
	},
	"de": {
		"reply_subject":      "Neue Antwort von {brand}",
		"reply_intro":        "{brand} hat auf Ihren Chat geantwortet:",
		"reply_button":       "Gespräch fortsetzen",
		"reply_by_email":     "Sie können auch antworten, indem Sie auf diese E-Mail antworten.",
		"offline_subject":    "Wir haben Ihre Nachricht erhalten",
		"offline_intro":      "Danke für Ihre Nachricht. Das Team ist gerade nicht da und antwortet Ihnen per E-Mail an {email}.",
		"transcript_subject": "Ihr Gespräch mit {brand}",
		"transcript_intro":   "Hier ist Ihr Gespräch mit {brand}.",
		"you":                "Sie",
		"footer":             "Sie erhalten diese E-Mail, weil Sie mit {brand} gechattet haben.",
		"attachment":         "Datei",
	},
	"fr": {
		"reply_subject":      "Nouvelle réponse de {brand}",
		"reply_intro":        "{brand} a répondu à votre discussion :",
		"reply_button":       "Reprendre la conversation",
		"reply_by_email":     "Vous pouvez aussi répondre directement à cet e-mail.",
		"offline_subject":    "Nous avons bien reçu votre message",
		"offline_intro":      "Merci pour votre message. L'équipe est absente pour le moment et vous répondra par e-mail à {email}.",
		"transcript_subject": "Votre conversation avec {brand}",
		"transcript_intro":   "Voici votre conversation avec {brand}.",
		"you":                "Vous",
		"footer":             "Vous recevez cet e-mail parce que vous avez discuté avec {brand}.",
		"attachment":         "fichier",
	},
	"es": {
		"reply_subject":      "Nueva respuesta de {brand}",
		"reply_intro":        "{brand} ha respondido a tu chat:",
		"reply_button":       "Continuar la conversación",
		"reply_by_email":     "También puedes contestar respondiendo a este correo.",
		"offline_subject":    "Hemos recibido tu mensaje",
		"offline_intro":      "Gracias por tu mensaje. El equipo no está disponible ahora y te responderá por correo a {email}.",
		"transcript_subject": "Tu conversación con {brand}",
		"transcript_intro":   "Aquí tienes tu conversación con {brand}.",
		"you":                "Tú",
		"footer":             "Recibes este correo porque has chateado con {brand}.",
		"attachment":         "archivo",
	},
}

// t returns key's text in lang (English when the language or key is
// missing) with each {name} replaced by the value after name in args.
func t(lang, key string, args ...string) string {
	s, ok := texts[widget.Language(lang)][key]
	if !ok {
		s = texts["en"][key]
	}
	for i := 0; i+1 < len(args); i += 2 {
		s = strings.ReplaceAll(s, "{"+args[i]+"}", args[i+1])
	}
	return s
}

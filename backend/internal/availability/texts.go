package availability

// texts are the default sentences per widget language. A chatflow's own
// message (away, offline, wait) replaces the default when set.
var texts = map[string]map[string]string{
	"en": {
		"few_minutes": "We typically reply in a few minutes",
		"hour":        "We typically reply in an hour",
		"day":         "We typically reply in a day",
		"away":        "We're away right now. Leave a message and we'll get back to you.",
		"offline":     "We're offline right now. Leave a message and we'll get back to you.",
		"wait":        "All our agents are busy right now. Please wait; someone will be with you shortly.",
		"back":        "We're back {time}.",
		"today":       "today at {clock}",
		"tomorrow":    "tomorrow at {clock}",
		"weekday":     "on {day} at {clock}",
	},
	"nl": {
		"few_minutes": "We reageren meestal binnen een paar minuten",
		"hour":        "We reageren meestal binnen een uur",
		"day":         "We reageren meestal binnen een dag",
		"away":        "We zijn er nu even niet. Laat een bericht achter, dan nemen we contact met je op.",
		"offline":     "We zijn nu offline. Laat een bericht achter, dan nemen we contact met je op.",
		"wait":        "Al onze medewerkers zijn nu in gesprek. Een moment geduld, we helpen je zo snel mogelijk.",
		"back":        "We zijn er weer {time}.",
		"today":       "vandaag om {clock}",
		"tomorrow":    "morgen om {clock}",
		"weekday":     "op {day} om {clock}",
	},
	"de": {
		"few_minutes": "Wir antworten in der Regel innerhalb weniger Minuten",
		"hour":        "Wir antworten in der Regel innerhalb einer Stunde",
		"day":         "Wir antworten in der Regel innerhalb eines Tages",
		"away":        "Wir sind gerade nicht da. Hinterlassen Sie eine Nachricht, wir melden uns bei Ihnen.",
		"offline":     "Wir sind gerade offline. Hinterlassen Sie eine Nachricht, wir melden uns bei Ihnen.",
		"wait":        "Alle Mitarbeiter sind gerade im Gespräch. Bitte warten Sie, wir sind gleich für Sie da.",
		"back":        "Wir sind {time} wieder da.",
		"today":       "heute um {clock}",
		"tomorrow":    "morgen um {clock}",
		"weekday":     "am {day} um {clock}",
	},
	"fr": {
		"few_minutes": "Nous répondons généralement en quelques minutes",
		"hour":        "Nous répondons généralement en une heure",
		"day":         "Nous répondons généralement en une journée",
		"away":        "Nous sommes absents pour le moment. Laissez un message, nous vous répondrons.",
		"offline":     "Nous sommes hors ligne. Laissez un message, nous vous répondrons.",
		"wait":        "Tous nos conseillers sont occupés. Merci de patienter, quelqu'un va vous répondre.",
		"back":        "Nous serons de retour {time}.",
		"today":       "aujourd'hui à {clock}",
		"tomorrow":    "demain à {clock}",
		"weekday":     "{day} à {clock}",
	},
	"es": {
		"few_minutes": "Solemos responder en unos minutos",
		"hour":        "Solemos responder en una hora",
		"day":         "Solemos responder en un día",
		"away":        "Ahora no estamos disponibles. Deja un mensaje y te responderemos.",
		"offline":     "Ahora estamos desconectados. Deja un mensaje y te responderemos.",
		"wait":        "Todos nuestros agentes están ocupados. Espera un momento, enseguida te atenderemos.",
		"back":        "Volvemos {time}.",
		"today":       "hoy a las {clock}",
		"tomorrow":    "mañana a las {clock}",
		"weekday":     "el {day} a las {clock}",
	},
}

// weekdays are the day names per language, Sunday first (time.Weekday order).
var weekdays = map[string][7]string{
	"en": {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
	"nl": {"zondag", "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag"},
	"de": {"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"},
	"fr": {"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"},
	"es": {"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"},
}

// text returns the default sentence key in lang, falling back to English.
func text(lang, key string) string {
	if t, ok := texts[lang][key]; ok {
		return t
	}
	return texts["en"][key]
}

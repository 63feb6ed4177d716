package consent

// DefaultTexts are a language's consent texts, used where a chatflow leaves
// a text empty (an empty text is "reset to default").
type DefaultTexts struct {
	Cookie        string // the cookie banner
	CookieAccept  string
	CookieDecline string

	DataExplicit   string // data-processing consent the visitor must agree to
	DataLegitimate string // data-processing notice under legitimate interest
	DataAgree      string // the explicit consent's button

	PrivacyLink string // the privacy-policy link's text

	// CommunicationLabel is the subscription checkbox's label; {company}
	// becomes the company name, else the account name, else the company
	// domain, else CompanyFallback.
	CommunicationLabel string
	CompanyFallback    string
}

// Defaults holds the default texts of the widget's languages; an unknown
// language uses English.
var Defaults = map[string]DefaultTexts{
	"en": {
		Cookie:             "We use cookies to remember this chat between pages and visits. Do you agree?",
		CookieAccept:       "Accept",
		CookieDecline:      "Decline",
		DataExplicit:       "To answer your questions we need to store and process your personal data. Please agree before you start chatting.",
		DataLegitimate:     "We store and process your personal data to answer your questions, on the basis of our legitimate interest.",
		DataAgree:          "I agree",
		PrivacyLink:        "Privacy policy",
		CommunicationLabel: "I would like to receive news and offers from {company}.",
		CompanyFallback:    "us",
	},
	"nl": {
		Cookie:             "We gebruiken cookies om dit gesprek te onthouden tussen pagina's en bezoeken. Ga je akkoord?",
		CookieAccept:       "Accepteren",
		CookieDecline:      "Weigeren",
		DataExplicit:       "Om je vragen te beantwoorden moeten we je persoonsgegevens opslaan en verwerken. Ga akkoord voordat je begint met chatten.",
		DataLegitimate:     "We slaan je persoonsgegevens op en verwerken ze om je vragen te beantwoorden, op basis van ons gerechtvaardigd belang.",
		DataAgree:          "Ik ga akkoord",
		PrivacyLink:        "Privacybeleid",
		CommunicationLabel: "Ik wil graag nieuws en aanbiedingen ontvangen van {company}.",
		CompanyFallback:    "ons",
	},
	"de": {
		Cookie:             "Wir verwenden Cookies, um diesen Chat über Seiten und Besuche hinweg zu speichern. Sind Sie einverstanden?",
		CookieAccept:       "Akzeptieren",
		CookieDecline:      "Ablehnen",
		DataExplicit:       "Um Ihre Fragen zu beantworten, müssen wir Ihre personenbezogenen Daten speichern und verarbeiten. Bitte stimmen Sie zu, bevor Sie den Chat beginnen.",
		DataLegitimate:     "Wir speichern und verarbeiten Ihre personenbezogenen Daten auf Grundlage unseres berechtigten Interesses, um Ihre Fragen zu beantworten.",
		DataAgree:          "Ich stimme zu",
		PrivacyLink:        "Datenschutzerklärung",
		CommunicationLabel: "Ich möchte Neuigkeiten und Angebote von {company} erhalten.",
		CompanyFallback:    "uns",
	},
	"fr": {
		Cookie:             "Nous utilisons des cookies pour conserver cette conversation d'une page et d'une visite à l'autre. Acceptez-vous ?",
		CookieAccept:       "Accepter",
		CookieDecline:      "Refuser",
		DataExplicit:       "Pour répondre à vos questions, nous devons enregistrer et traiter vos données personnelles. Veuillez donner votre accord avant de commencer la conversation.",
		DataLegitimate:     "Nous enregistrons et traitons vos données personnelles sur la base de notre intérêt légitime, afin de répondre à vos questions.",
		DataAgree:          "J'accepte",
		PrivacyLink:        "Politique de confidentialité",
		CommunicationLabel: "J'accepte de recevoir des actualités et des offres de {company}.",
		CompanyFallback:    "nous",
	},
	"es": {
		Cookie:             "Usamos cookies para recordar este chat entre páginas y visitas. ¿Estás de acuerdo?",
		CookieAccept:       "Aceptar",
		CookieDecline:      "Rechazar",
		DataExplicit:       "Para responder a tus preguntas necesitamos almacenar y procesar tus datos personales. Acepta antes de empezar a chatear.",
		DataLegitimate:     "Almacenamos y procesamos tus datos personales sobre la base de nuestro interés legítimo para responder a tus preguntas.",
		DataAgree:          "Acepto",
		PrivacyLink:        "Política de privacidad",
		CommunicationLabel: "Quiero recibir noticias y ofertas de {company}.",
		CompanyFallback:    "nosotros",
	},
}

// For returns the default texts of language, English when it has none.
func For(language string) DefaultTexts {
	if t, ok := Defaults[language]; ok {
		return t
	}
	return Defaults["en"]
}

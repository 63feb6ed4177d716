package widget

// Texts is one language's visitor-facing strings, keyed by TextKeys. The
// five languages live in public/i18n/<lang>.json: the browser fetches only
// the chatflow's language, so widget.wasm carries none of them (size). The
// native build (backend, app SDK, tests) has English built in.
type Texts map[string]string

// Languages the widget speaks; the first is the fallback.
var Languages = []string{"en", "nl", "de", "fr", "es"}

// Language returns lang if the widget speaks it, else English.
func Language(lang string) string {
	for _, l := range Languages {
		if l == lang {
			return l
		}
	}
	return "en"
}

// texts is the language in use; the wasm shell sets it from the chatflow's
// language file before the first text is shown.
var texts = builtinTexts

// UseTexts makes t the language every text of the package comes from.
func UseTexts(t Texts) { texts = t }

// T returns the text of key in the language in use, with each {name} in it
// replaced by the value that follows name in args ("email", addr). A key
// the language lacks shows as itself, which a test keeps from happening.
func T(key string, args ...string) string {
	s, ok := texts[key]
	if !ok {
		s = key
	}
	for i := 0; i+1 < len(args); i += 2 {
		s = replace(s, "{"+args[i]+"}", args[i+1])
	}
	return s
}

// replace is strings.ReplaceAll for the few placeholders of a text, in
// less code than the general one (widget.wasm's size).
func replace(s, old, repl string) string {
	out := ""
	for {
		i := index(s, old)
		if i < 0 {
			return out + s
		}
		out += s[:i] + repl
		s = s[i+len(old):]
	}
}

// textError is an error whose text is looked up when shown, so it is in the
// language in use then.
type textError string

func (e textError) Error() string { return T(string(e)) }

package client

import (
	"strconv"
	"strings"
	"sync"

	"github.com/parleychat/parley/public/i18n"
	"github.com/parleychat/parley/widget"
)

// The SDK's own sentences (errors to show, the typing line, survey labels)
// come from the widget's language files, so an app speaks the same words
// as the website in the chatflow's language.

var (
	langMu    sync.Mutex
	langCache = map[string]widget.Texts{}
)

// texts returns the sentences of lang, English for a language the widget
// does not speak. A key a language lacks falls back to English.
func texts(lang string) widget.Texts {
	lang = widget.Language(lang)
	langMu.Lock()
	defer langMu.Unlock()
	if t, ok := langCache[lang]; ok {
		return t
	}
	t := widget.Texts(i18n.Load(lang))
	if lang != "en" {
		en := widget.Texts(i18n.Load("en"))
		for k, v := range en {
			if _, ok := t[k]; !ok {
				t[k] = v
			}
		}
	}
	if t == nil {
		t = widget.Texts{}
	}
	langCache[lang] = t
	return t
}

// Sentence returns the widget's text key (see public/i18n/en.json: "send",
// "placeholder", "survey_send", "tab_help", …) in lang (en, nl, de, fr,
// es; anything else is English), so an app's buttons and labels match the
// website's. A placeholder such as {name} is left in the text.
func Sentence(lang, key string) string { return say(texts(lang), key) }

// say looks key up in tx and fills the placeholders from args (name, value, …).
func say(tx widget.Texts, key string, args ...string) string {
	s, ok := tx[key]
	if !ok {
		s = key
	}
	for i := 0; i+1 < len(args); i += 2 {
		s = strings.ReplaceAll(s, "{"+args[i]+"}", args[i+1])
	}
	return s
}

// errorText is widget.ErrorText in tx's language: a protocol or upload
// error code as a sentence for the visitor.
func errorText(tx widget.Texts, code string) string {
	switch code {
	case widget.ErrTooLong:
		return say(tx, "err_too_long", "max", strconv.Itoa(widget.MaxTextRunes))
	case widget.ErrBadAnswer:
		return say(tx, "err_bad_answer", "max", strconv.Itoa(widget.MaxSurveyComment))
	case widget.ErrNotFound:
		return say(tx, "unavailable")
	}
	if _, ok := tx["err_"+code]; ok && code != "other" {
		return say(tx, "err_"+code)
	}
	return say(tx, "err_other")
}

// textError is an error whose text is a sentence to show the visitor.
type textError struct{ text string }

func (e *textError) Error() string { return e.text }

func (c *Chat) errf(key string, args ...string) error {
	return &textError{say(c.tx, key, args...)}
}

package widget

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// langFile reads public/i18n/<lang>.json, the file the browser fetches.
func langFile(t *testing.T, lang string) Texts {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "public", "i18n", lang+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var tx Texts
	if err := json.Unmarshal(b, &tx); err != nil {
		t.Fatalf("%s.json: %v", lang, err)
	}
	return tx
}

// useLanguage switches the package to lang's file for the rest of the test.
func useLanguage(t *testing.T, lang string) {
	tx := langFile(t, lang)
	UseTexts(tx)
	t.Cleanup(func() { UseTexts(builtinTexts) })
}

var placeholder = regexp.MustCompile(`\{[a-z]+\}`)

func TestEveryLanguageHasEveryTextWithTheSamePlaceholders(t *testing.T) {
	en := langFile(t, "en")
	if len(en) != len(builtinTexts) {
		t.Errorf("en.json has %d texts, the built-in English %d", len(en), len(builtinTexts))
	}
	for k, v := range builtinTexts {
		if en[k] != v {
			t.Errorf("en.json %q = %q, built in %q", k, en[k], v)
		}
	}
	for _, lang := range Languages[1:] {
		tx := langFile(t, lang)
		same := 0
		for k, v := range en {
			got, ok := tx[k]
			if !ok || got == "" {
				t.Errorf("%s: %q missing", lang, k)
				continue
			}
			if !slices.Equal(placeholder.FindAllString(got, -1), placeholder.FindAllString(v, -1)) {
				t.Errorf("%s: %q = %q: placeholders differ from English %q", lang, k, got, v)
			}
			if got == v {
				same++
			}
		}
		for k := range tx {
			if _, ok := en[k]; !ok {
				t.Errorf("%s: %q is not an English key", lang, k)
			}
		}
		if same > 2 { // "Chat" and the like may be the same word
			t.Errorf("%s: %d texts are still English", lang, same)
		}
	}
}

func TestTheLanguageInUseSpeaksEverywhere(t *testing.T) {
	useLanguage(t, "de")
	if got := ErrorText(ErrTooLong); got != "Diese Nachricht ist zu lang. Bitte kürzen Sie sie auf höchstens 4000 Zeichen." {
		t.Errorf("ErrorText(too_long) in German = %q", got)
	}
	if got := ErrEmptyMessage.Error(); got != "Bitte zuerst eine Nachricht eingeben." {
		t.Errorf("ErrEmptyMessage in German = %q", got)
	}
	if got := T("typing", "name", "Ann"); got != "Ann schreibt…" {
		t.Errorf("typing in German = %q", got)
	}
	if Language("xx") != "en" || Language("fr") != "fr" {
		t.Error("Language does not fall back to English")
	}
}

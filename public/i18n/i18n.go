// Package i18n embeds the visitor-facing sentences in the five languages
// (<lang>.json: key to text, with {name} placeholders), the same files the
// browser widget fetches, so native clients such as the app SDK speak the
// widget's words without a copy of them.
package i18n

import (
	"embed"
	"encoding/json"
)

//go:embed *.json
var files embed.FS

// Load returns the texts of lang ("en", "nl", "de", "fr", "es"), or nil
// when there is no such language.
func Load(lang string) map[string]string {
	b, err := files.ReadFile(lang + ".json")
	if err != nil {
		return nil
	}
	var t map[string]string
	if json.Unmarshal(b, &t) != nil {
		return nil
	}
	return t
}

package kb

import (
	"slices"
	"strings"
)

// searchConfigs maps an article language to the PostgreSQL text-search
// configuration that stems it (the snowball stemmers PostgreSQL ships).
var searchConfigs = map[string]string{
	"en": "english",
	"nl": "dutch",
	"de": "german",
	"fr": "french",
	"es": "spanish",
	"it": "italian",
	"pt": "portuguese",
	"da": "danish",
	"sv": "swedish",
	"no": "norwegian",
	"fi": "finnish",
}

// SearchConfig returns the text-search configuration of language lang.
func SearchConfig(lang string) (string, bool) {
	c, ok := searchConfigs[lang]
	return c, ok
}

// Languages lists the article languages, sorted.
func Languages() []string {
	out := make([]string, 0, len(searchConfigs))
	for l := range searchConfigs {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

// LanguageList is Languages for error messages: "da, de, en, …".
func LanguageList() string { return strings.Join(Languages(), ", ") }

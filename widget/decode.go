package widget

// Value is a parsed JSON value as the browser shell holds it: the result
// of the browser's JSON.parse in the wasm, a decoded `any` in native tests.
// The shell reads frames and configs through it instead of encoding/json,
// which would add its reflection-based decoder to the wasm; DecodeFrame and
// DecodeConfig are that reading, in one place and tested natively. V is
// the implementing type itself, so the wasm's reads box nothing.
type Value[V any] interface {
	// Get returns the property key, or a Value that is nothing (not an
	// object) when there is none.
	Get(key string) V
	// String is the value if it is a string, else "".
	String() string
	// Number is the value if it is a number, else 0.
	Number() float64
	// Truthy follows JavaScript: false, 0, "", null and undefined are false.
	Truthy() bool
	// Object reports whether the value is an object or an array.
	Object() bool
	// Len is an array's length, else 0.
	Len() int
	// Index returns an array's element i.
	Index(i int) V
	// Keys are an object's own property names.
	Keys() []string
}

// DecodeFrame reads a server frame.
func DecodeFrame[V Value[V]](v V) Frame {
	f := Frame{
		Type:         str(v, "type"),
		Token:        str(v, "token"),
		Conversation: str(v, "conversation"),
		LastSeq:      int64(num(v, "last_seq")),
		ID:           str(v, "id"),
		Seq:          int64(num(v, "seq")),
		Text:         str(v, "text"),
		From:         str(v, "from"),
		Name:         str(v, "name"),
		Avatar:       str(v, "avatar"),
		At:           str(v, "at"),
		Code:         str(v, "code"),
		Message:      str(v, "message"),
		State:        str(v, "state"),
		BackAt:       str(v, "back_at"),
		Hide:         truthy(v, "hide"),
		Email:        str(v, "email"),
		Identified:   truthy(v, "identified"),
		Warning:      str(v, "warning"),
		Link:         str(v, "link"),
		LinkTitle:    str(v, "link_title"),
		Survey:       int64(num(v, "survey")),
		Question:     str(v, "question"),
		Scale:        str(v, "scale"),
		AllowComment: truthy(v, "allow_comment"),
		Score:        int(num(v, "score")),
		Kind:         str(v, "kind"),
		Decision:     str(v, "decision"),
		Version:      str(v, "version"),
	}
	if at := v.Get("attachment"); at.Object() {
		f.Attachment = &Attachment{ID: str(at, "id"), Name: str(at, "name"), Type: str(at, "type"),
			Size: int64(num(at, "size")), URL: str(at, "url")}
	}
	if q := v.Get("quick_replies"); q.Object() {
		qr := make(QuickReplies, 0, q.Len())
		for i := 0; i < q.Len(); i++ {
			if s := q.Index(i).String(); s != "" {
				qr = append(qr, s)
			}
		}
		f.QuickReplies = &qr
	}
	if p := v.Get("properties"); p.Object() {
		props := Properties(StringMap(p))
		f.Properties = &props
	}
	return f
}

// DecodeConfig reads the fields the shell uses from a published Config.
func DecodeConfig[V Value[V]](v V) *Config {
	cfg := &Config{Site: str(v, "site")}
	flows := v.Get("chatflows")
	for i := 0; i < flows.Len(); i++ {
		f := flows.Index(i)
		look, presence, ec, display, opts := f.Get("look"), f.Get("presence"), f.Get("email_capture"), f.Get("display"), f.Get("options")
		lang := str(f, "language")
		prompt := map[string]string{}
		if t := ec.Get("prompt").Get(lang).String(); t != "" {
			prompt[lang] = t // only the chatflow's language is ever shown
		}
		trig, tg := display.Get("triggers"), f.Get("targeting")
		c := ChatflowConfig{
			ID:       str(f, "id"),
			Channel:  str(f, "channel"),
			Type:     str(f, "type"),
			Language: lang,
			Priority: int(num(f, "priority")),
			Look: Look{AccentColor: str(look, "accent_color"), BrandAlias: truthy(look, "brand_alias"),
				ShowCloseButton: truthy(look, "show_close_button")},
			HeadingName:  str(f, "heading_name"),
			HeadingImage: str(f, "heading_image"),
			Welcome:      str(f, "welcome"),
			EmailCapture: EmailCapture{When: str(ec, "when"), Prompt: prompt},
			Display: Display{Desktop: str(display, "desktop"), Mobile: str(display, "mobile"),
				Triggers: Triggers{ExitIntent: truthy(trig, "exit_intent"),
					TimeOnPage: int(num(trig, "time_on_page")), ScrollPercent: int(num(trig, "scroll_percent"))}},
			Targeting: Targeting{Exclusions: decodeRules(tg.Get("exclusions"))},
			Presence: Presence{
				State:  str(presence, "state"),
				Text:   str(presence, "text"),
				BackAt: str(presence, "back_at"),
				Hide:   truthy(presence, "hide"),
			},
			Options: Options{Attachments: truthy(opts, "attachments"), HelpTab: truthy(opts, "help_tab"),
				KnowledgeBaseID: int64(num(opts, "knowledge_base_id"))},
			Help:     truthy(f, "help"),
			Consents: decodeConsents(f.Get("consents")),
		}
		tr := f.Get("translations")
		for _, l := range tr.Keys() {
			if c.Translations == nil {
				c.Translations = map[string]Translation{}
			}
			t := tr.Get(l)
			c.Translations[l] = Translation{Welcome: str(t, "welcome"), Consents: decodeConsents(t.Get("consents"))}
		}
		groups := tg.Get("groups")
		for j := 0; j < groups.Len(); j++ {
			c.Targeting.Groups = append(c.Targeting.Groups, RuleGroup{Rules: decodeRules(groups.Index(j).Get("rules"))})
		}
		cfg.Chatflows = append(cfg.Chatflows, c)
	}
	return cfg
}

func decodeConsents[V Value[V]](v V) Consents {
	return Consents{Cookie: decodeNotice(v.Get(ConsentCookie)), DataProcessing: decodeNotice(v.Get(ConsentDataProcessing)),
		Communication: decodeNotice(v.Get(ConsentCommunication))}
}

func decodeNotice[V Value[V]](v V) *ConsentNotice {
	if !v.Object() {
		return nil
	}
	n := &ConsentNotice{Kind: str(v, "kind"), Mode: str(v, "mode"), Accept: str(v, "accept"),
		Decline: str(v, "decline"), Version: str(v, "version")}
	parts := v.Get("parts")
	for i := 0; i < parts.Len(); i++ {
		p := parts.Index(i)
		n.Parts = append(n.Parts, ConsentPart{Text: str(p, "text"), Href: str(p, "href")})
	}
	return n
}

func decodeRules[V Value[V]](v V) []Rule {
	rules := make([]Rule, 0, v.Len())
	for i := 0; i < v.Len(); i++ {
		r := v.Index(i)
		rules = append(rules, Rule{Kind: str(r, "kind"), Op: str(r, "op"), Name: str(r, "name"), Value: str(r, "value")})
	}
	return rules
}

// StringMap reads an object's string values by key.
func StringMap[V Value[V]](v V) map[string]string {
	keys := v.Keys()
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		m[k] = v.Get(k).String()
	}
	return m
}

// Small readers kept out of line: the shell's many field reads share one
// copy of the code instead of each inlining two interface calls.

//go:noinline
func str[V Value[V]](v V, key string) string { return v.Get(key).String() }

//go:noinline
func num[V Value[V]](v V, key string) float64 { return v.Get(key).Number() }

//go:noinline
func truthy[V Value[V]](v V, key string) bool { return v.Get(key).Truthy() }

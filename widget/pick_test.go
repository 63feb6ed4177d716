package widget

import "testing"

func TestPickChatflow(t *testing.T) {
	web := func(id string, prio int) ChatflowConfig {
		return ChatflowConfig{ID: id, Channel: ChannelWebsite, Priority: prio}
	}
	mobile := ChatflowConfig{ID: "m", Channel: ChannelMobile, Priority: 100, MobileTag: "app"}
	tests := []struct {
		name  string
		flows []ChatflowConfig
		want  string // "" = none
	}{
		{"none published", nil, ""},
		{"only mobile", []ChatflowConfig{mobile}, ""},
		{"single website", []ChatflowConfig{web("a", 0)}, "a"},
		{"highest priority wins", []ChatflowConfig{web("a", 1), web("b", 5), web("c", 3)}, "b"},
		{"negative priorities", []ChatflowConfig{web("a", -5), web("b", -1)}, "b"},
		{"tie goes to the first listed", []ChatflowConfig{web("a", 2), web("b", 2)}, "a"},
		{"mobile ignored even when higher", []ChatflowConfig{web("a", 1), mobile}, "a"},
		{"no id is unusable", []ChatflowConfig{web("", 9), web("a", 1)}, "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := PickChatflow(&Config{Site: "demo", Chatflows: tt.flows}, Visit{URL: "https://example.com/"})
			got := ""
			if ok {
				got = c.ID
			}
			if got != tt.want {
				t.Fatalf("picked %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSpeakVisitorLanguage(t *testing.T) {
	base := func() *ChatflowConfig {
		return &ChatflowConfig{Language: "en", Welcome: "Hi", Translations: map[string]Translation{
			"de": {Welcome: "Hallo", Consents: Consents{Cookie: &ConsentNotice{Version: "c.de"}}}, "fr": {Welcome: "Bonjour"}}}
	}
	cases := []struct {
		browser []string
		lang    string
		welcome string
	}{
		{[]string{"de-DE", "de", "en"}, "de", "Hallo"},
		{[]string{"nl-NL", "FR"}, "fr", "Bonjour"}, // the first language the chatflow speaks
		{[]string{"en-GB", "de"}, "en", "Hi"},      // its own language comes first
		{[]string{"nl", "es"}, "en", "Hi"},         // none spoken: its own
		{nil, "en", "Hi"},
	}
	for _, c := range cases {
		cf := base()
		if got := SpeakVisitorLanguage(cf, c.browser); got != c.lang || cf.Language != c.lang || cf.Welcome != c.welcome {
			t.Errorf("%v: speaks %q with %q, want %q with %q", c.browser, got, cf.Welcome, c.lang, c.welcome)
		}
	}
	cf := base()
	SpeakVisitorLanguage(cf, []string{"de"})
	if cf.Consents.Cookie == nil || cf.Consents.Cookie.Version != "c.de" {
		t.Errorf("the German consents were not taken: %+v", cf.Consents)
	}
	cf.Translations = nil
	if SpeakVisitorLanguage(&ChatflowConfig{Language: "nl"}, []string{"de"}) != "nl" {
		t.Errorf("a chatflow without translations changed language")
	}
}

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

package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestChatflowBotAndKnowledgeBaseReferences(t *testing.T) {
	e := setup(t)
	base := `"name":"Bot chat","enabled":true,"inbox_id":` + itoa(e.inbox)
	bot := e.create("/api/v1/bots", `{"name":"Triage","template":"support_triage"}`)
	_, otherBot := e.doKey(e.other, "POST", "/api/v1/bots", `{"name":"Theirs","template":"support_triage"}`)
	for _, tc := range []struct{ body, field, msg string }{
		{`{` + base + `,"type":"rule_bot"}`, "options.bot_id", "is required"},
		{`{` + base + `,"type":"rule_bot","options":{"bot_id":999999}}`, "options.bot_id", "no such bot"},
		{`{` + base + `,"type":"rule_bot","options":{"bot_id":` + itoa(int64(otherBot["id"].(float64))) + `}}`, "options.bot_id", "no such bot"},
		{`{` + base + `,"type":"customer_agent"}`, "options.knowledge_base_id", "is required"},
	} {
		code, p := e.do("POST", "/api/v1/chatflows", tc.body)
		if code != http.StatusBadRequest || !slices.Contains(fields(p), tc.field) || !strings.Contains(p["errors"].([]any)[0].(map[string]any)["message"].(string), tc.msg) {
			t.Fatalf("%s: %d %v, want 400 on %s", tc.body, code, p, tc.field)
		}
	}
	e.create("/api/v1/chatflows", `{`+base+`,"type":"rule_bot","priority":2,"options":{"bot_id":`+itoa(bot)+`,
		"data_consent":{"enabled":true,"type":"explicit","text":"<i>Agree</i> {privacy_policy}","privacy_url":"https://example.com/privacy"}}}`)

	// The published config names the type and the resolved notices, not the bot.
	req, _ := http.NewRequest("GET", e.srv.URL+"/internal/sites/acme/config", nil)
	req.Header.Set("Authorization", "Bearer "+e.secret)
	res, err := http.DefaultClient.Do(req)
	must(t, err)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if strings.Contains(string(raw), "bot_id") || strings.Contains(string(raw), "{privacy_policy}") {
		t.Fatalf("config leaks the bot id or the raw consent settings: %s", raw)
	}
	var cfg struct {
		Chatflows []struct {
			Type     string
			Consents struct {
				DataProcessing *struct {
					Mode, Version string
					Parts         []struct{ Text, Href string }
				} `json:"data_processing"`
			}
		}
	}
	must(t, json.Unmarshal(raw, &cfg))
	dp := cfg.Chatflows[0].Consents.DataProcessing
	if cfg.Chatflows[0].Type != "rule_bot" || dp == nil || dp.Mode != "explicit" || dp.Version == "" ||
		len(dp.Parts) != 2 || dp.Parts[0].Text != "<i>Agree</i> " || dp.Parts[1].Href != "https://example.com/privacy" {
		t.Fatalf("published: %s", raw)
	}
}

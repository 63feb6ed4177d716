package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestBotsFromTemplatesAndValidation(t *testing.T) {
	e := setup(t)
	code, list := e.do("GET", "/api/v1/bot-templates", "")
	ts, _ := list["templates"].([]any)
	if code != 200 || len(ts) < 2 {
		t.Fatalf("templates: %d %v", code, list)
	}
	if code, tp := e.do("GET", "/api/v1/bot-templates/support_triage", ""); code != 200 || len(tp["steps"].([]any)) == 0 {
		t.Fatalf("one template: %d %v", code, tp)
	}

	// Each template becomes a bot as it is.
	for _, tp := range ts {
		id := tp.(map[string]any)["id"].(string)
		code, b := e.do("POST", "/api/v1/bots", `{"template":"`+id+`"}`)
		if code != 201 || b["name"] != tp.(map[string]any)["name"] || len(b["steps"].([]any)) != len(tp.(map[string]any)["steps"].([]any)) {
			t.Fatalf("bot from %s: %d %v", id, code, b)
		}
	}

	flow := `"start":"q","steps":[
		{"id":"q","type":"question","input":"quick_replies","text":"Sales or support?","options":[{"label":"Sales","value":"sales"},{"label":"Support","value":"support"}],
			"save_to":{"object":"contact","name":"interest"},"next":"b"},
		{"id":"b","type":"branch","on":"q","cases":[{"op":"equals","value":"sales","next":"to_sales"}],"default":"to_support"},
		{"id":"to_sales","type":"handover","team_id":` + itoa(e.team) + `},
		{"id":"to_support","type":"handover","user_id":` + itoa(e.user) + `}]`
	id := e.create("/api/v1/bots", `{"name":"Router",`+flow+`}`)
	code, got := e.do("GET", "/api/v1/bots/"+itoa(id), "")
	if code != 200 || got["start"] != "q" || len(got["steps"].([]any)) != 4 {
		t.Fatalf("GET bot: %d %v", code, got)
	}

	// Every kind of broken flow is refused with the field that is wrong.
	cases := []struct{ body, field string }{
		{`{"name":"X","start":"a","steps":[{"id":"a","type":"end"},{"id":"b","type":"end"}]}`, "steps[1].id"},         // unreachable
		{`{"name":"X","start":"a","steps":[{"id":"a","type":"message","text":"hi","next":"nope"}]}`, "steps[0].next"}, // missing step
		{`{"name":"X","start":"q","steps":[{"id":"q","type":"question","input":"text","text":"?","next":"b"},
			{"id":"b","type":"branch","on":"q","cases":[{"op":"contains","value":"x","next":"gone"}],"default":"e"},{"id":"e","type":"end"}]}`, "steps[1].cases[0].next"}, // branch to a missing step
		{`{"name":"X","start":"a","steps":[{"id":"a","type":"message","text":"1","next":"b"},{"id":"b","type":"message","text":"2","next":"a"}]}`, "steps[1].next"}, // loop without a question
		{`{"name":"X","start":"h","steps":[{"id":"h","type":"handover","team_id":999999}]}`, "steps[0].team_id"},                                                    // no such team
		{`{"name":"X","start":"q","steps":[{"id":"q","type":"question","input":"colour","text":"?","next":"e"},{"id":"e","type":"end"}]}`, "steps[0].input"},
		{`{"name":"X","start":"a","steps":[{"id":"a","type":"end","colour":"red"}]}`, "steps[0].colour"}, // unknown field
		{`{"name":"","start":"a","steps":[{"id":"a","type":"end"}]}`, "name"},
		{`{"name":"Router","start":"a","steps":[{"id":"a","type":"end"}]}`, "name"}, // duplicate name
		{`{"template":"nope"}`, "template"},
		{`{"name":"X","start":"a","steps":"all of them"}`, "steps"},
	}
	for _, c := range cases {
		code, p := e.do("POST", "/api/v1/bots", c.body)
		if code != 400 || !slices.Contains(fields(p), c.field) {
			t.Errorf("POST %s:\n %d %v, want 400 on %s", c.body, code, p, c.field)
		}
	}
	_, all := e.do("GET", "/api/v1/bots", "")
	if n := len(all["bots"].([]any)); n != 3 {
		t.Errorf("%d bots stored, want 3 (nothing from the refused ones)", n)
	}

	// The other account's team is not this account's.
	otherTeam := e.createWith(e.other, "/api/v1/teams", `{"name":"Theirs"}`)
	if code, p := e.do("PUT", "/api/v1/bots/"+itoa(id), `{"name":"Router","start":"h","steps":[{"id":"h","type":"handover","team_id":`+itoa(otherTeam)+`}]}`); code != 400 || !slices.Contains(fields(p), "steps[0].team_id") {
		t.Errorf("other account's team: %d %v", code, p)
	}
	if code, _ := e.doKey(e.other, "GET", "/api/v1/bots/"+itoa(id), ""); code != 404 {
		t.Errorf("other account read the bot: %d", code)
	}

	// PUT replaces; a stale If-Match is refused.
	code, put := e.do("PUT", "/api/v1/bots/"+itoa(id), `{"name":"Router 2","start":"e","steps":[{"id":"e","type":"end","text":"Bye"}]}`)
	if code != 200 || put["name"] != "Router 2" || put["version"].(float64) != 2 {
		t.Fatalf("PUT: %d %v", code, put)
	}
	req, _ := http.NewRequest("PUT", e.srv.URL+"/api/v1/bots/"+itoa(id), strings.NewReader(`{"name":"R","start":"e","steps":[{"id":"e","type":"end"}]}`))
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("If-Match", `"1"`)
	res, err := http.DefaultClient.Do(req)
	must(t, err)
	res.Body.Close()
	if res.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("stale If-Match: %d", res.StatusCode)
	}
	if code, _ := e.do("DELETE", "/api/v1/bots/"+itoa(id), ""); code != 204 {
		t.Errorf("DELETE: %d", code)
	}
	if code, _ := e.do("GET", "/api/v1/bots/"+itoa(id), ""); code != 404 {
		t.Errorf("deleted bot: %d", code)
	}
}

package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/parleychat/parley/backend/internal/store"
)

// Labels over REST: made, renamed, recoloured and deleted by editors; put
// on and taken off conversations by agent keys; a bad name or colour is
// named, a duplicate name refused, unknown ids told apart, and another
// account's label or conversation never reached.
func TestLabelsOverREST(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	agent, err := e.st.CreateAPIKeyWithRole(ctx, e.acct.ID, "agent key", store.RoleAgent)
	must(t, err)
	cf := e.create("/api/v1/chatflows", `{"name":"Web","inbox_id":`+itoa(e.inbox)+`}`)
	conv := e.conversation(cf, "hello")

	code, p := e.do("POST", "/api/v1/labels", `{"name":"  <b>VIP</b>  ","color":"#AA00FF"}`)
	if code != http.StatusCreated || p["name"] != "<b>VIP</b>" || p["color"] != "#aa00ff" {
		t.Fatalf("create: %d %v", code, p)
	}
	vip := num(p["id"])
	billing := e.create("/api/v1/labels", `{"name":"Billing","color":"#2f80ed"}`)

	for body, field := range map[string]string{
		`{"name":"","color":"#000000"}`:                                "name",
		`{"name":"x","color":"red"}`:                                   "color",
		`{"name":"` + strings.Repeat("a", 51) + `","color":"#000000"}`: "name",
		`{"name":"a\nb","color":"#000000"}`:                            "name",
		`{"name":"x"}`:                                                 "color",
	} {
		if code, p := e.do("POST", "/api/v1/labels", body); code != http.StatusBadRequest || !strings.Contains(fieldsOf(p), field) {
			t.Errorf("%s: %d %v, want 400 naming %s", body, code, p, field)
		}
	}
	if code, p := e.do("POST", "/api/v1/labels", `{"name":"<B>vip</B>","color":"#000000"}`); code != http.StatusConflict || !strings.Contains(fieldsOf(p), "name") {
		t.Errorf("duplicate name: %d %v", code, p)
	}
	if code, p := e.do("PATCH", "/api/v1/labels/"+itoa(billing), `{"color":"#00aa00"}`); code != 200 || p["name"] != "Billing" || p["color"] != "#00aa00" {
		t.Errorf("recolour: %d %v", code, p)
	}

	// An agent key labels the conversation; twice is fine.
	for range 2 {
		code, p = e.doKey(agent, "PUT", "/api/v1/conversations/"+itoa(conv)+"/labels/"+itoa(vip), "")
		if code != 200 || len(p["labels"].([]any)) != 1 {
			t.Fatalf("add: %d %v", code, p)
		}
	}
	e.doKey(agent, "PUT", "/api/v1/conversations/"+itoa(conv)+"/labels/"+itoa(billing), "")
	code, p = e.doKey(agent, "GET", "/api/v1/conversations/"+itoa(conv)+"/labels", "")
	if got := ids(p["labels"]); code != 200 || len(got) != 2 || got[0] != vip || got[1] != billing {
		t.Fatalf("labels by name (\"<b>vip</b>\" before \"billing\"): %d %v", code, p)
	}
	if code, p := e.doKey(agent, "POST", "/api/v1/labels", `{"name":"Mine","color":"#000000"}`); code != http.StatusForbidden {
		t.Errorf("agent made a label: %d %v", code, p)
	}

	// Unknown ids are told apart; another account's are unknown.
	code, p = e.doKey(e.other, "POST", "/api/v1/labels", `{"name":"VIP","color":"#000000"}`)
	if code != http.StatusCreated {
		t.Fatalf("the other account's label: %d %v", code, p)
	}
	foreign := num(p["id"])
	for path, want := range map[string]string{
		"/api/v1/conversations/" + itoa(conv) + "/labels/999999":           "label",
		"/api/v1/conversations/" + itoa(conv) + "/labels/" + itoa(foreign): "label",
		"/api/v1/conversations/999999/labels/" + itoa(vip):                 "conversation",
		"/api/v1/conversations/" + itoa(conv) + "/labels/abc":              "label",
	} {
		if code, p := e.doKey(agent, "PUT", path, ""); code != http.StatusNotFound || !strings.Contains(p["detail"].(string), want) {
			t.Errorf("PUT %s: %d %v, want 404 about the %s", path, code, p, want)
		}
	}
	if code, _ := e.doKey(e.other, "PUT", "/api/v1/conversations/"+itoa(conv)+"/labels/"+itoa(foreign), ""); code != http.StatusNotFound {
		t.Errorf("the other account labelled our conversation: %d", code)
	}
	if code, _ := e.doKey(e.other, "GET", "/api/v1/labels/"+itoa(vip), ""); code != http.StatusNotFound {
		t.Errorf("the other account read our label: %d", code)
	}
	if code, _ := e.doKey(e.other, "DELETE", "/api/v1/labels/"+itoa(vip), ""); code != http.StatusNotFound {
		t.Errorf("the other account deleted our label: %d", code)
	}

	// Off again; off twice is a 404; a deleted label leaves every conversation.
	if code, _ := e.doKey(agent, "DELETE", "/api/v1/conversations/"+itoa(conv)+"/labels/"+itoa(vip), ""); code != http.StatusNoContent {
		t.Errorf("remove: %d", code)
	}
	if code, p := e.doKey(agent, "DELETE", "/api/v1/conversations/"+itoa(conv)+"/labels/"+itoa(vip), ""); code != http.StatusNotFound {
		t.Errorf("remove again: %d %v", code, p)
	}
	if code, _ := e.do("DELETE", "/api/v1/labels/"+itoa(billing), ""); code != http.StatusNoContent {
		t.Errorf("delete: %d", code)
	}
	if _, p := e.do("GET", "/api/v1/conversations/"+itoa(conv)+"/labels", ""); len(p["labels"].([]any)) != 0 {
		t.Errorf("labels left after delete: %v", p)
	}
	if _, p := e.do("GET", "/api/v1/labels", ""); len(p["labels"].([]any)) != 1 {
		t.Errorf("list: %v", p)
	}
}

// fieldsOf lists the fields a problem document names.
func fieldsOf(p map[string]any) string {
	var out []string
	errs, _ := p["errors"].([]any)
	for _, x := range errs {
		if m, ok := x.(map[string]any); ok {
			f, _ := m["field"].(string)
			out = append(out, f)
		}
	}
	return strings.Join(out, ",")
}

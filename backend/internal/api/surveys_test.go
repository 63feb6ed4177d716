package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/parleychat/parley/backend/internal/store"
)

func TestSurveysOverREST(t *testing.T) {
	e := setup(t)
	// Field-by-field problems, nothing stored.
	code, out := e.do("POST", "/api/v1/surveys", `{"name":"","question":"","scale":"stars","delivery":"pigeon"}`)
	if code != http.StatusBadRequest || len(out["errors"].([]any)) != 4 {
		t.Fatalf("invalid survey: %d %v", code, out)
	}
	if code, _ := e.do("POST", "/api/v1/surveys", `{"name":"x","question":"q","colour":"red"}`); code != http.StatusBadRequest {
		t.Fatalf("unknown field: %d", code)
	}
	id := e.create("/api/v1/surveys", `{"name":"Chat CSAT","question":"How did we do?","scale":"emoji","allow_comment":true}`)
	code, sv := e.do("GET", "/api/v1/surveys/"+itoa(id), "")
	if code != 200 || sv["delivery"] != "chat" || sv["scale"] != "emoji" || sv["allow_comment"] != true {
		t.Fatalf("get: %d %v", code, sv)
	}
	if code, sv := e.do("PATCH", "/api/v1/surveys/"+itoa(id), `{"question":"Rate us"}`); code != 200 || sv["question"] != "Rate us" || sv["name"] != "Chat CSAT" {
		t.Fatalf("patch: %d %v", code, sv)
	}
	// Another account sees nothing of it.
	if code, _ := e.doKey(e.other, "GET", "/api/v1/surveys/"+itoa(id), ""); code != http.StatusNotFound {
		t.Fatalf("other account: %d", code)
	}

	// A chatflow links it; an email survey or an unknown id is refused.
	emailID := e.create("/api/v1/surveys", `{"name":"Mail","question":"q","delivery":"email"}`)
	for _, bad := range []int64{emailID, 999999} {
		code, out := e.do("POST", "/api/v1/chatflows", `{"name":"W","inbox_id":`+itoa(e.inbox)+`,"options":{"survey_id":`+itoa(bad)+`}}`)
		if code != http.StatusBadRequest {
			t.Fatalf("link survey %d: %d %v", bad, code, out)
		}
	}
	e.create("/api/v1/chatflows", `{"name":"W","inbox_id":`+itoa(e.inbox)+`,"options":{"survey_id":`+itoa(id)+`}}`)

	// Responses with their average and CSAT.
	ctx := context.Background()
	var visitor int64
	db := e.st.DB()
	must(t, db.Get(&visitor, `INSERT INTO visitors (account_id, token_hash, name) VALUES ($1, '\x01', 'Vera') RETURNING id`, e.acct.ID))
	for i, score := range []int{5, 4, 2} {
		var conv int64
		must(t, db.Get(&conv, `INSERT INTO conversations (account_id, public_id, inbox_id, visitor_id, status) VALUES ($1, $2, $3, $4, 'closed') RETURNING id`,
			e.acct.ID, "c"+itoa(int64(i)), e.inbox, visitor))
		if _, _, err := e.st.AnswerSurvey(ctx, id, conv, score, "", "note"); err != nil {
			t.Fatal(err)
		}
	}
	code, out = e.do("GET", "/api/v1/surveys/"+itoa(id)+"/responses", "")
	if code != 200 || out["count"] != 3.0 || out["average"] != 3.67 || out["csat_percent"] != 66.7 || len(out["responses"].([]any)) != 3 {
		t.Fatalf("responses: %d %v", code, out)
	}
	if code, _ := e.do("DELETE", "/api/v1/surveys/"+itoa(id), ""); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
}

func TestAgentKeysCannotChangeChatflows(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	agentKey, err := e.st.CreateAPIKeyWithRole(ctx, e.acct.ID, "agent key", store.RoleAgent)
	must(t, err)
	editorKey, err := e.st.CreateAPIKeyWithRole(ctx, e.acct.ID, "editor key", store.RoleEditor)
	must(t, err)
	body := `{"name":"W","inbox_id":` + itoa(e.inbox) + `}`
	if code, out := e.doKey(agentKey, "POST", "/api/v1/chatflows", body); code != http.StatusForbidden {
		t.Fatalf("agent key creates a chatflow: %d %v", code, out)
	}
	if code, _ := e.doKey(agentKey, "POST", "/api/v1/surveys", `{"name":"S","question":"q"}`); code != http.StatusForbidden {
		t.Fatalf("agent key creates a survey: %d", code)
	}
	code, cf := e.doKey(editorKey, "POST", "/api/v1/chatflows", body)
	if code != http.StatusCreated {
		t.Fatalf("editor key: %d %v", code, cf)
	}
	path := "/api/v1/chatflows/" + itoa(int64(cf["id"].(float64)))
	// Agents may still read.
	if code, _ := e.doKey(agentKey, "GET", path, ""); code != 200 {
		t.Fatalf("agent key reads: %d", code)
	}
	for _, m := range []string{"PATCH", "PUT", "DELETE"} {
		b := `{"priority":3}`
		if m == "PUT" {
			b = body
		}
		if m == "DELETE" {
			b = ""
		}
		if code, _ := e.doKey(agentKey, m, path, b); code != http.StatusForbidden {
			t.Fatalf("agent key %s: %d", m, code)
		}
	}
	// Keys from before roles (and the demo's) are admin.
	if code, _ := e.do("PATCH", path, `{"priority":3}`); code != 200 {
		t.Fatalf("admin key patch: %d", code)
	}
}

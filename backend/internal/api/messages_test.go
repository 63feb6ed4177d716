package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/parleychat/parley/backend/internal/store"
)

func TestPostMessageAsAgentAndBot(t *testing.T) {
	e := setup(t)
	cf := e.create("/api/v1/chatflows", `{"name":"Web","inbox_id":`+itoa(e.inbox)+`}`)
	conv := e.conversation(cf, "hello")
	path := "/api/v1/conversations/" + itoa(conv) + "/messages"
	e.create("/api/v1/bots", `{"name":"Helper","start":"h","steps":[{"id":"h","type":"handover","user_id":`+itoa(e.user)+`}]}`)
	outsider := e.create("/api/v1/users", `{"email":"bo@example.com","name":"Bo","has_seat":true}`)

	code, m := e.do("POST", path, `{"text":"  Hi from Ana ","as":"agent","user_id":`+itoa(e.user)+`,"client_id":"x1"}`)
	if code != 201 || m["body"] != "Hi from Ana" || m["author_type"] != "agent" || num(m["author_id"]) != e.user {
		t.Fatalf("as agent: %d %v", code, m)
	}
	// The same client_id again is the same message, not a second one.
	if code, m2 := e.do("POST", path, `{"text":"Hi from Ana","as":"agent","user_id":`+itoa(e.user)+`,"client_id":"x1"}`); code != 200 || m2["seq"] != m["seq"] {
		t.Fatalf("resend: %d %v", code, m2)
	}
	if code, m := e.do("POST", path, `{"text":"Bot here","as":"bot","bot_name":"Helper"}`); code != 201 || m["author_type"] != "bot" {
		t.Fatalf("as bot: %d %v", code, m)
	}
	for body, field := range map[string]string{
		`{"text":"x","as":"agent","user_id":` + itoa(outsider) + `}`:                  "user_id",
		`{"text":"x","as":"agent","user_id":999999}`:                                  "user_id",
		`{"text":"x","as":"agent"}`:                                                   "user_id",
		`{"text":"x","as":"bot","bot_name":"Nobody"}`:                                 "bot_name",
		`{"text":"   ","as":"bot","bot_name":"Helper"}`:                               "text",
		`{"text":"` + strings.Repeat("é", 4001) + `","as":"bot","bot_name":"Helper"}`: "text",
		`{"text":"x","as":"visitor"}`:                                                 "as",
		`{"text":"a\u0000b","as":"bot","bot_name":"Helper"}`:                          "text",
	} {
		code, p := e.do("POST", path, body)
		if code != 422 && code != 400 || !strings.Contains(strings.Join(fields(p), ","), field) {
			t.Errorf("%.60s: %d %v, want an error on %s", body, code, p, field)
		}
	}
	if code, _ := e.do("POST", "/api/v1/conversations/999999/messages", `{"text":"x","as":"bot","bot_name":"Helper"}`); code != 404 {
		t.Errorf("unknown conversation: %d", code)
	}
	// Everything refused stored nothing; the two posted are in the transcript.
	ms, err := e.st.MessagesAfter(context.Background(), conv, 0, 100, true)
	must(t, err)
	var team []string
	for _, m := range ms {
		if m.AuthorType != store.AuthorVisitor && m.AuthorType != store.AuthorSystem {
			team = append(team, m.Body)
		}
	}
	if strings.Join(team, "|") != "Hi from Ana|Bot here" {
		t.Errorf("stored %q", team)
	}
	if code, _ := e.do("POST", "/api/v1/conversations/"+itoa(conv)+"/close", ""); code != 200 {
		t.Fatal("close")
	}
	if code, _ := e.do("POST", path, `{"text":"late","as":"bot","bot_name":"Helper"}`); code != 409 {
		t.Errorf("closed conversation: %d", code)
	}
}

package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/parleychat/parley/backend/internal/routing"
	"github.com/parleychat/parley/backend/internal/store"
)

// conversation starts a conversation of a new visitor on chatflow cf with one
// visitor message, routes it as the chat engine does, and returns its id.
func (e *env) conversation(cf int64, text string) int64 {
	e.t.Helper()
	ctx := context.Background()
	_, v, err := e.st.CreateVisitor(ctx, e.acct.ID)
	must(e.t, err)
	c, _, err := e.st.CreateConversation(ctx, store.NewConversation{AccountID: e.acct.ID, ChatflowID: cf, InboxID: e.inbox, VisitorID: v.ID})
	must(e.t, err)
	_, _, err = e.st.AppendMessage(ctx, store.NewMessage{ConversationID: c.ID, ClientID: "m1", AuthorType: store.AuthorVisitor, Body: text})
	must(e.t, err)
	must(e.t, routing.Route(ctx, e.st, c.ID))
	return c.ID
}

func ids(list any) []int64 {
	var out []int64
	for _, x := range list.([]any) {
		out = append(out, int64(x.(map[string]any)["id"].(float64)))
	}
	return out
}

func num(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

func TestConversationListsFiltersAndPaging(t *testing.T) {
	e := setup(t)
	cf := e.create("/api/v1/chatflows", `{"name":"Web","inbox_id":`+itoa(e.inbox)+`}`) // auto-assign off
	c1, c2, c3 := e.conversation(cf, "one"), e.conversation(cf, "two"), e.conversation(cf, "three")
	if code, p := e.do("POST", "/api/v1/conversations/"+itoa(c1)+"/assign", `{"user_id":`+itoa(e.user)+`}`); code != 200 || num(p["assignee_id"]) != e.user {
		t.Fatalf("assign: %d %v", code, p)
	}
	if code, _ := e.do("POST", "/api/v1/conversations/"+itoa(c2)+"/close", ""); code != 200 {
		t.Fatal("close")
	}
	list := func(q string) []int64 {
		t.Helper()
		code, p := e.do("GET", "/api/v1/conversations"+q, "")
		if code != 200 {
			t.Fatalf("%s: %d %v", q, code, p)
		}
		return ids(p["conversations"])
	}
	for q, want := range map[string][]int64{
		"":                              {c3, c2, c1},
		"?status=open":                  {c3, c1},
		"?status=closed":                {c2},
		"?assignee_id=" + itoa(e.user):  {c1},
		"?assignee_id=none":             {c3, c2},
		"?assignee_id=none&status=open": {c3},
		"?inbox_id=" + itoa(e.inbox):    {c3, c2, c1},
		"?inbox_id=999999":              nil,
	} {
		if got := list(q); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %v, want %v", q, got, want)
		}
	}
	// Paging: two pages of two and one, and the last says there is no more.
	code, p := e.do("GET", "/api/v1/conversations?limit=2", "")
	cursor, _ := p["next_cursor"].(string)
	if code != 200 || !reflect.DeepEqual(ids(p["conversations"]), []int64{c3, c2}) || cursor == "" {
		t.Fatalf("page 1: %d %v", code, p)
	}
	code, p = e.do("GET", "/api/v1/conversations?limit=2&cursor="+cursor, "")
	if code != 200 || !reflect.DeepEqual(ids(p["conversations"]), []int64{c1}) || p["next_cursor"] != nil {
		t.Fatalf("page 2: %d %v", code, p)
	}
	// Bad filters name each field.
	code, p = e.do("GET", "/api/v1/conversations?status=pending&limit=0&cursor=nope&assignee_id=ana&inbox_id=-1&colour=red", "")
	if want := []string{"assignee_id", "colour", "cursor", "inbox_id", "limit", "status"}; code != 400 || !reflect.DeepEqual(fields(p), want) {
		t.Fatalf("bad filters: %d %v", code, fields(p))
	}
	// Another account sees none of them.
	code, p = e.doKey(e.other, "GET", "/api/v1/conversations", "")
	if code != 200 || len(p["conversations"].([]any)) != 0 {
		t.Fatalf("other account: %d %v", code, p)
	}
}

func TestConversationAndTranscript(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	cf := e.create("/api/v1/chatflows", `{"name":"Web","inbox_id":`+itoa(e.inbox)+`}`)
	c := e.conversation(cf, "<b>hi</b>")
	for i, body := range []string{"a", "b"} {
		_, _, err := e.st.AppendMessage(ctx, store.NewMessage{ConversationID: c, ClientID: "x" + itoa(int64(i)), AuthorType: store.AuthorVisitor, Body: body})
		must(t, err)
	}
	_, _, err := e.st.AppendMessage(ctx, store.NewMessage{ConversationID: c, AuthorType: store.AuthorAgent, AuthorID: e.user, Internal: true, Body: "VIP customer"})
	must(t, err)

	code, p := e.do("GET", "/api/v1/conversations/"+itoa(c), "")
	if code != 200 || num(p["id"]) != c || p["status"] != "open" || p["ticket_id"] == nil || p["public_id"] == "" {
		t.Fatalf("get: %d %v", code, p)
	}
	var bodies []string
	var internal []bool
	path := "/api/v1/conversations/" + itoa(c) + "/messages?limit=3"
	for pages := 0; path != ""; pages++ {
		code, p := e.do("GET", path, "")
		if code != 200 || pages > 3 {
			t.Fatalf("transcript: %d %v", code, p)
		}
		for _, m := range p["messages"].([]any) {
			m := m.(map[string]any)
			bodies = append(bodies, m["body"].(string))
			internal = append(internal, m["internal"].(bool))
		}
		path = ""
		if next, ok := p["next_cursor"].(string); ok {
			path = "/api/v1/conversations/" + itoa(c) + "/messages?limit=3&cursor=" + next
		}
	}
	if want := []string{"<b>hi</b>", "a", "b", "VIP customer"}; !reflect.DeepEqual(bodies, want) || !reflect.DeepEqual(internal, []bool{false, false, false, true}) {
		t.Fatalf("transcript %v %v", bodies, internal)
	}
	for _, path := range []string{"/api/v1/conversations/" + itoa(c), "/api/v1/conversations/" + itoa(c) + "/messages"} {
		if code, _ := e.doKey(e.other, "GET", path, ""); code != 404 {
			t.Errorf("another account's %s: %d", path, code)
		}
	}
	for _, path := range []string{"/api/v1/conversations/999999", "/api/v1/conversations/abc", "/api/v1/conversations/999999/messages"} {
		if code, _ := e.do("GET", path, ""); code != 404 {
			t.Errorf("%s: %d", path, code)
		}
	}
	if code, p := e.do("GET", "/api/v1/conversations/"+itoa(c)+"/messages?limit=500", ""); code != 400 || !reflect.DeepEqual(fields(p), []string{"limit"}) {
		t.Errorf("bad limit: %d %v", code, p)
	}
}

func TestAssignCloseReopen(t *testing.T) {
	e := setup(t)
	cf := e.create("/api/v1/chatflows", `{"name":"Web","inbox_id":`+itoa(e.inbox)+`}`)
	c := e.conversation(cf, "hello")
	path := "/api/v1/conversations/" + itoa(c)
	seatless := e.create("/api/v1/users", `{"email":"nos@example.com","name":"Nos","status":"available"}`)
	stranger := e.createWith(e.other, "/api/v1/users", `{"email":"x@example.com","name":"X","has_seat":true}`)
	strangerTeam := e.createWith(e.other, "/api/v1/teams", `{"name":"Theirs"}`)
	outsider := e.create("/api/v1/users", `{"email":"out@example.com","name":"Out","has_seat":true,"status":"available"}`)

	for _, bad := range []struct {
		name, body string
		want       []string
	}{
		{"empty", `{}`, []string{"user_id"}},
		{"both", `{"user_id":` + itoa(e.user) + `,"team_id":` + itoa(e.team) + `}`, []string{"team_id"}},
		{"wrong type", `{"user_id":"ana"}`, []string{"user_id"}},
		{"unknown field", `{"agent_id":1}`, []string{"agent_id"}},
		{"not JSON", `{"user_id":`, []string{"body"}},
		{"another account's user", `{"user_id":` + itoa(stranger) + `}`, []string{"user_id"}},
		{"another account's team", `{"team_id":` + itoa(strangerTeam) + `}`, []string{"team_id"}},
		{"no seat", `{"user_id":` + itoa(seatless) + `}`, []string{"user_id"}},
		{"not in the inbox", `{"user_id":` + itoa(outsider) + `}`, []string{"user_id"}},
		{"zero", `{"user_id":0}`, []string{"user_id"}},
	} {
		if code, p := e.do("POST", path+"/assign", bad.body); code != 400 || !reflect.DeepEqual(fields(p), bad.want) {
			t.Errorf("%s: %d %v", bad.name, code, p)
		}
	}
	if code, p := e.do("GET", path, ""); p["assignee_id"] != nil || p["team_id"] != nil {
		t.Fatalf("refused assignments changed it: %d %v", code, p)
	}
	// To the team: Ana (its member, with a seat, available) gets it.
	code, p := e.do("POST", path+"/assign", `{"team_id":`+itoa(e.team)+`}`)
	if code != 200 || num(p["team_id"]) != e.team || num(p["assignee_id"]) != e.user {
		t.Fatalf("team assign: %d %v", code, p)
	}
	if code, _ := e.doKey(e.other, "POST", path+"/assign", `{"user_id":`+itoa(stranger)+`}`); code != 404 {
		t.Fatalf("another account's conversation: %d", code)
	}
	// Not JSON at all.
	req, _ := http.NewRequest("POST", e.srv.URL+path+"/assign", strings.NewReader("user_id=1"))
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	must(t, err)
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 415 {
		t.Fatalf("form body: %d", res.StatusCode)
	}

	// Close: the conversation and its ticket.
	code, p = e.do("POST", path+"/close", "")
	if code != 200 || p["status"] != "closed" || p["closed_at"] == nil {
		t.Fatalf("close: %d %v", code, p)
	}
	ticket := itoa(num(p["ticket_id"]))
	if code, tk := e.do("GET", "/api/v1/tickets/"+ticket, ""); code != 200 || tk["status"] != "closed" || tk["closed_at"] == nil {
		t.Fatalf("ticket after close: %d %v", code, tk)
	}
	if code, _ := e.do("POST", path+"/close", ""); code != 200 {
		t.Fatalf("close twice: %d", code)
	}
	if code, _ := e.do("POST", path+"/assign", `{"user_id":`+itoa(e.user)+`}`); code != 409 {
		t.Fatalf("assign closed: %d", code)
	}
	if code, _ := e.doKey(e.other, "POST", path+"/close", ""); code != 404 {
		t.Fatalf("close another account's: %d", code)
	}
	if code, _ := e.doKey(e.other, "POST", path+"/reopen", ""); code != 404 {
		t.Fatalf("reopen another account's: %d", code)
	}
	code, p = e.do("POST", path+"/reopen", "")
	if code != 200 || p["status"] != "open" || p["closed_at"] != nil || num(p["assignee_id"]) != e.user {
		t.Fatalf("reopen: %d %v", code, p)
	}
	if code, tk := e.do("GET", "/api/v1/tickets/"+ticket, ""); code != 200 || tk["status"] != "open" || tk["closed_at"] != nil {
		t.Fatalf("ticket after reopen: %d %v", code, tk)
	}
	// The thread records each step for the agents.
	_, m := e.do("GET", path+"/messages", "")
	var notes []string
	for _, x := range m["messages"].([]any) {
		if x := x.(map[string]any); x["author_type"] == "system" && x["internal"] == true {
			notes = append(notes, x["body"].(string))
		}
	}
	want := []string{"Assigned to team Sales by API", "Assigned to Ana", "Conversation closed", "Conversation reopened by API"}
	if !reflect.DeepEqual(notes, want) {
		t.Fatalf("notes %q, want %q", notes, want)
	}
}

func TestEligibilityChangesOverRESTRouteWaitingConversations(t *testing.T) {
	e := setup(t)
	bob := e.create("/api/v1/users", `{"email":"bob@example.com","name":"Bob","has_seat":true,"status":"away","max_open_chats":1}`)
	e.joinInbox(bob)
	cf := e.create("/api/v1/chatflows", `{"name":"Web","inbox_id":`+itoa(e.inbox)+`,"assignment":{"auto_assign":true,"user_ids":[`+itoa(bob)+`]}}`)
	first, second := e.conversation(cf, "one"), e.conversation(cf, "two")
	assignee := func(id int64) int64 {
		_, p := e.do("GET", "/api/v1/conversations/"+itoa(id), "")
		return num(p["assignee_id"])
	}
	if assignee(first) != 0 || assignee(second) != 0 {
		t.Fatal("assigned to an away agent")
	}
	if code, _ := e.do("PATCH", "/api/v1/users/"+itoa(bob), `{"status":"available"}`); code != 200 {
		t.Fatal("patch")
	}
	if assignee(first) != bob || assignee(second) != 0 {
		t.Fatalf("after status: %d %d", assignee(first), assignee(second))
	}
	e.do("PATCH", "/api/v1/users/"+itoa(bob), `{"max_open_chats":2}`)
	if assignee(second) != bob {
		t.Fatal("raising capacity did not assign the waiting conversation")
	}
}

func TestTicketsREST(t *testing.T) {
	e := setup(t)
	sales := e.create("/api/v1/chatflows", `{"name":"Sales","inbox_id":`+itoa(e.inbox)+`,
		"tickets":{"pipeline":"sales","status":"lead","priority":"high","category":"pricing","properties":{"source":"web","plan":"free"}}}`)
	plain := e.create("/api/v1/chatflows", `{"name":"Plain","inbox_id":`+itoa(e.inbox)+`}`)
	e.conversation(sales, "1")
	e.conversation(plain, "2")
	e.conversation(sales, "3")

	list := func(q string) []map[string]any {
		t.Helper()
		code, p := e.do("GET", "/api/v1/tickets"+q, "")
		if code != 200 {
			t.Fatalf("%s: %d %v", q, code, p)
		}
		var out []map[string]any
		for _, x := range p["tickets"].([]any) {
			out = append(out, x.(map[string]any))
		}
		return out
	}
	all := list("")
	if len(all) != 3 {
		t.Fatalf("tickets: %v", all)
	}
	tk := all[0] // newest: the third conversation, a sales ticket
	if tk["pipeline"] != "sales" || tk["status"] != "lead" || tk["priority"] != "high" || tk["category"] != "pricing" ||
		!reflect.DeepEqual(tk["properties"], map[string]any{"source": "web", "plan": "free"}) || tk["conversation_id"] == nil {
		t.Fatalf("ticket from chatflow: %v", tk)
	}
	if got := list("?pipeline=sales"); len(got) != 2 {
		t.Fatalf("pipeline filter: %v", got)
	}
	if got := list("?status=new&pipeline=support"); len(got) != 1 || got[0]["priority"] != "medium" {
		t.Fatalf("status filter: %v", got)
	}
	code, p := e.do("GET", "/api/v1/tickets?limit=2", "")
	next, _ := p["next_cursor"].(string)
	if code != 200 || len(p["tickets"].([]any)) != 2 || next == "" {
		t.Fatalf("page 1: %v", p)
	}
	if _, p := e.do("GET", "/api/v1/tickets?limit=2&cursor="+next, ""); len(p["tickets"].([]any)) != 1 || p["next_cursor"] != nil {
		t.Fatalf("page 2: %v", p)
	}
	if code, p := e.do("GET", "/api/v1/tickets?priority=high&limit=x", ""); code != 400 || !reflect.DeepEqual(fields(p), []string{"limit", "priority"}) {
		t.Fatalf("bad query: %d %v", code, p)
	}

	id := itoa(num(tk["id"]))
	path := "/api/v1/tickets/" + id
	if code, got := e.do("GET", path, ""); code != 200 || got["id"] != tk["id"] {
		t.Fatalf("get: %d %v", code, got)
	}
	code, p = e.do("PATCH", path, `{"subject":"Upgrade <script>","status":"qualified","priority":"urgent","properties":{"plan":"pro","source":null,"seats":"12"}}`)
	if code != 200 || p["subject"] != "Upgrade <script>" || p["status"] != "qualified" || p["priority"] != "urgent" || p["pipeline"] != "sales" ||
		!reflect.DeepEqual(p["properties"], map[string]any{"plan": "pro", "seats": "12"}) {
		t.Fatalf("patch: %d %v", code, p)
	}
	// A GET sent back as a PATCH: read-only fields are accepted and ignored.
	_, got := e.do("GET", path, "")
	got["category"] = "renewal"
	b, _ := json.Marshal(got)
	if code, p := e.do("PATCH", path, string(b)); code != 200 || p["category"] != "renewal" || p["id"] != tk["id"] {
		t.Fatalf("round trip: %d %v", code, p)
	}
	code, p = e.do("PATCH", path, `{"status":"closed"}`)
	if code != 200 || p["closed_at"] == nil {
		t.Fatalf("close ticket: %v", p)
	}
	if code, p := e.do("PATCH", path, `{"status":"reopened"}`); code != 200 || p["closed_at"] != nil {
		t.Fatalf("reopen ticket: %v", p)
	}

	for _, bad := range []struct {
		name, body string
		want       []string
	}{
		{"unknown field", `{"owner":"me"}`, []string{"owner"}},
		{"wrong type", `{"priority":3}`, []string{"priority"}},
		{"bad values", `{"priority":"meh","pipeline":"","status":"` + strings.Repeat("x", 101) + `"}`, []string{"pipeline", "priority", "status"}},
		{"long subject", `{"subject":"` + strings.Repeat("s", 201) + `"}`, []string{"subject"}},
		{"NUL", `{"category":"a\u0000b"}`, []string{"category"}},
		{"property type", `{"properties":{"n":1}}`, []string{"properties"}},
		{"array", `[]`, []string{"body"}},
	} {
		if code, p := e.do("PATCH", path, bad.body); code != 400 || !reflect.DeepEqual(fields(p), bad.want) {
			t.Errorf("%s: %d %v", bad.name, code, p)
		}
	}
	if _, after := e.do("GET", path, ""); after["status"] != "reopened" || after["category"] != "renewal" {
		t.Fatalf("bad input changed the ticket: %v", after)
	}
	for _, m := range []string{"GET", "PATCH"} {
		if code, _ := e.doKey(e.other, m, path, `{"status":"x"}`); code != 404 {
			t.Errorf("%s another account's ticket: %d", m, code)
		}
	}
	if code, _ := e.do("GET", "/api/v1/tickets/0", ""); code != 404 {
		t.Error("ticket 0")
	}
	if code, p := e.doKey(e.other, "GET", "/api/v1/tickets", ""); code != 200 || len(p["tickets"].([]any)) != 0 {
		t.Errorf("another account's list: %v", p)
	}
}

func TestSiteConfigShowsAvailability(t *testing.T) {
	e := setup(t)
	bob := e.create("/api/v1/users", `{"email":"bob@example.com","name":"Bob","has_seat":true,"status":"away"}`)
	e.joinInbox(bob)
	e.create("/api/v1/chatflows", `{"name":"Web","enabled":true,"inbox_id":`+itoa(e.inbox)+`,
		"availability":{"mode":"user_availability","reply_time":"hour","away_message":"Back at nine"},
		"assignment":{"user_ids":[`+itoa(bob)+`]}}`)
	presence := func() map[string]any {
		req, _ := http.NewRequest("GET", e.srv.URL+"/internal/sites/acme/config", nil)
		req.Header.Set("Authorization", "Bearer "+e.secret)
		res, err := http.DefaultClient.Do(req)
		must(t, err)
		defer res.Body.Close()
		var cfg struct {
			Chatflows []struct{ Presence map[string]any }
		}
		must(t, json.NewDecoder(res.Body).Decode(&cfg))
		return cfg.Chatflows[0].Presence
	}
	if p := presence(); p["state"] != "away" || p["text"] != "Back at nine" {
		t.Fatalf("away: %v", p)
	}
	e.do("PATCH", "/api/v1/users/"+itoa(bob), `{"status":"available"}`)
	if p := presence(); p["state"] != "available" || p["text"] != "We typically reply in an hour" {
		t.Fatalf("available: %v", p)
	}
}

// The list filtered by a label, named by id or by name in any case: only
// the account's conversations with that label, paged as the rest; another
// account's label is unknown (404), even when it has the same name; a value
// that is neither an id nor a possible name is a 400 naming label.
func TestConversationListByLabel(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	cf := e.create("/api/v1/chatflows", `{"name":"Web","inbox_id":`+itoa(e.inbox)+`}`)
	c1, c2, c3, c4 := e.conversation(cf, "one"), e.conversation(cf, "two"), e.conversation(cf, "three"), e.conversation(cf, "four")
	vip := e.create("/api/v1/labels", `{"name":"VIP","color":"#aa00ff"}`)
	billing := e.create("/api/v1/labels", `{"name":"Billing & refunds","color":"#2f80ed"}`)
	unused := e.create("/api/v1/labels", `{"name":"Unused","color":"#000000"}`)
	for conv, label := range map[int64]int64{c1: vip, c3: vip, c2: billing} {
		if code, p := e.do("PUT", "/api/v1/conversations/"+itoa(conv)+"/labels/"+itoa(label), ""); code != 200 {
			t.Fatalf("label %d: %d %v", conv, code, p)
		}
	}
	e.do("PUT", "/api/v1/conversations/"+itoa(c3)+"/labels/"+itoa(billing), "")
	if code, _ := e.do("POST", "/api/v1/conversations/"+itoa(c1)+"/close", ""); code != 200 {
		t.Fatal("close")
	}

	// The other account has a VIP label of its own on a conversation of its own.
	other, err := e.st.AccountByAPIKey(ctx, e.other)
	must(t, err)
	otherInbox := e.createWith(e.other, "/api/v1/inboxes", `{"name":"Theirs"}`)
	otherCf := e.createWith(e.other, "/api/v1/chatflows", `{"name":"Theirs","inbox_id":`+itoa(otherInbox)+`}`)
	_, v, err := e.st.CreateVisitor(ctx, other.ID)
	must(t, err)
	theirs, _, err := e.st.CreateConversation(ctx, store.NewConversation{AccountID: other.ID, ChatflowID: otherCf, InboxID: otherInbox, VisitorID: v.ID})
	must(t, err)
	theirVIP := e.createWith(e.other, "/api/v1/labels", `{"name":"vip","color":"#000000"}`)
	if code, p := e.doKey(e.other, "PUT", "/api/v1/conversations/"+itoa(theirs.ID)+"/labels/"+itoa(theirVIP), ""); code != 200 {
		t.Fatalf("their label: %d %v", code, p)
	}

	list := func(key, q string) []int64 {
		t.Helper()
		code, p := e.doKey(key, "GET", "/api/v1/conversations"+q, "")
		if code != 200 {
			t.Fatalf("%s: %d %v", q, code, p)
		}
		return ids(p["conversations"])
	}
	for q, want := range map[string][]int64{
		"?label=" + itoa(vip):                  {c3, c1},
		"?label=vip":                           {c3, c1},
		"?label=%20VIP%20":                     {c3, c1},
		"?label=" + itoa(billing):              {c3, c2},
		"?label=billing+%26+REFUNDS":           {c3, c2},
		"?label=" + itoa(vip) + "&status=open": {c3},
		"?label=" + itoa(unused):               nil,
		"":                                     {c4, c3, c2, c1},
	} {
		if got := list(e.key, q); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %v, want %v", q, got, want)
		}
	}
	if got := list(e.other, "?label=VIP"); !reflect.DeepEqual(got, []int64{theirs.ID}) {
		t.Errorf("the other account's VIP: %v, want only %d", got, theirs.ID)
	}
	// Paging keeps the filter.
	code, p := e.do("GET", "/api/v1/conversations?label=VIP&limit=1", "")
	cursor, _ := p["next_cursor"].(string)
	if code != 200 || !reflect.DeepEqual(ids(p["conversations"]), []int64{c3}) || cursor == "" {
		t.Fatalf("page 1: %d %v", code, p)
	}
	code, p = e.do("GET", "/api/v1/conversations?label=VIP&limit=1&cursor="+cursor, "")
	if code != 200 || !reflect.DeepEqual(ids(p["conversations"]), []int64{c1}) || p["next_cursor"] != nil {
		t.Fatalf("page 2: %d %v", code, p)
	}

	// Unknown labels, another account's included, are a 404 saying so.
	for _, q := range []string{itoa(theirVIP), "999999", "Nobody", "9223372036854775807"} {
		code, p := e.do("GET", "/api/v1/conversations?label="+q, "")
		if code != http.StatusNotFound || !strings.Contains(p["detail"].(string), "label") {
			t.Errorf("label=%s: %d %v, want 404 about the label", q, code, p)
		}
	}
	// Hostile or impossible values are a 400 naming label (and every other bad filter).
	for _, q := range []string{"", "0", "-3", "%20%20", strings.Repeat("x", 51), "a%0Ab", "%00", "%FF%FE", "99999999999999999999999"} {
		code, p := e.do("GET", "/api/v1/conversations?label="+q, "")
		if code != http.StatusBadRequest || !reflect.DeepEqual(fields(p), []string{"label"}) {
			t.Errorf("label=%q: %d %v, want 400 naming label", q, code, p)
		}
	}
	code, p = e.do("GET", "/api/v1/conversations?label=-1&status=pending", "")
	if code != http.StatusBadRequest || !reflect.DeepEqual(fields(p), []string{"label", "status"}) {
		t.Errorf("two bad filters: %d %v", code, fields(p))
	}
}

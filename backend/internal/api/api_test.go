package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"golang.org/x/crypto/bcrypt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/api"
	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/store"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	dbtest.Main(m)
}

type env struct {
	t      *testing.T
	srv    *httptest.Server
	st     *store.Store
	key    string
	acct   *store.Account
	inbox  int64
	user   int64
	team   int64
	survey int64
	linked [2]int64 // a knowledge base and a subscription type fullChatflow names, made on first use
	other  string   // the other account's key
	secret string
}

func setup(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st := store.New(dbtest.New(t))
	e := &env{t: t, st: st, secret: "link-secret"}
	r := gin.New()
	api.New(st, e.secret).Register(r)
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)

	e.acct = &store.Account{Name: "Acme", PublicID: "acme"}
	must(t, st.CreateAccount(ctx, e.acct))
	var err error
	e.key, err = st.CreateAPIKey(ctx, e.acct.ID, "test", "")
	must(t, err)
	other := &store.Account{Name: "Other"}
	must(t, st.CreateAccount(ctx, other))
	e.other, err = st.CreateAPIKey(ctx, other.ID, "test", "")
	must(t, err)

	e.inbox = e.create("/api/v1/inboxes", `{"name":"Support"}`)
	e.user = e.create("/api/v1/users", `{"email":"ana@example.com","name":"Ana","has_seat":true,"status":"available"}`)
	e.team = e.create("/api/v1/teams", `{"name":"Sales","member_ids":[`+itoa(e.user)+`]}`)
	e.joinInbox(e.user)
	e.survey = e.create("/api/v1/surveys", `{"name":"CSAT","question":"How did we do?"}`)
	return e
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// do sends a request with the account's key and returns status and decoded JSON.
// joinInbox makes users members of the test inbox, as routing requires.
func (e *env) joinInbox(users ...int64) {
	e.t.Helper()
	_, in := e.do("GET", "/api/v1/inboxes/"+itoa(e.inbox), "")
	ids := []string{}
	for _, m := range in["member_ids"].([]any) {
		ids = append(ids, itoa(int64(m.(float64))))
	}
	for _, u := range users {
		ids = append(ids, itoa(u))
	}
	if code, p := e.do("PATCH", "/api/v1/inboxes/"+itoa(e.inbox), `{"member_ids":[`+strings.Join(ids, ",")+`]}`); code != 200 {
		e.t.Fatalf("inbox members: %d %v", code, p)
	}
}

func (e *env) do(method, path, body string) (int, map[string]any) {
	return e.doKey(e.key, method, path, body)
}

func (e *env) doKey(key, method, path, body string) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			e.t.Fatalf("%s %s: not JSON: %s", method, path, raw)
		}
		if res.StatusCode >= 400 && res.Header.Get("Content-Type") != "application/problem+json" {
			e.t.Errorf("%s %s: error without problem+json: %s", method, path, res.Header.Get("Content-Type"))
		}
	}
	return res.StatusCode, out
}

func (e *env) create(path, body string) int64 {
	e.t.Helper()
	code, out := e.do("POST", path, body)
	if code != http.StatusCreated {
		e.t.Fatalf("POST %s: %d %v", path, code, out)
	}
	return int64(out["id"].(float64))
}

// links returns the knowledge base and subscription type fullChatflow
// names (options must name ones that exist).
func (e *env) links() [2]int64 {
	if e.linked[0] == 0 {
		e.linked[0] = e.create("/api/v1/knowledge-bases", `{"name":"Fixture help","language":"nl"}`)
		e.linked[1] = e.create("/api/v1/subscription-types", `{"name":"Fixture news"}`)
	}
	return e.linked
}

// fullChatflow sets every field of a chatflow away from its default.
func (e *env) fullChatflow() string {
	return `{
	"name": "Pricing page chat", "channel": "website", "inbox_id": ` + itoa(e.inbox) + `,
	"language": "nl", "type": "customer_agent", "enabled": true, "priority": 7, "mobile_tag": "",
	"look": {"accent_color": "#aa3300", "heading": {"kind": "agent", "agent_id": ` + itoa(e.user) + `},
		"brand_alias": true, "show_close_button": true},
	"welcome": {"messages": {"nl": "Hallo! Waarmee kunnen we helpen?", "en": "Hi!"}},
	"email_capture": {"when": "when_offline", "prompt": {"nl": "Wat is je e-mailadres?"}},
	"availability": {"mode": "office_hours",
		"office_hours": [{"day": "monday", "start": "09:00", "end": "12:00"}, {"day": "monday", "start": "13:00", "end": "17:30"},
			{"day": "saturday", "start": "10:00", "end": "24:00"}],
		"reply_time": "hour", "away_message": "Even weg", 
		"offline": {"behaviour": "away_message", "message": "We zijn er morgen weer"},
		"at_capacity": {"behaviour": "hide_launcher", "message": "Even geduld"},
		"exceptions": [{"date": "2026-12-25", "name": "Kerst", "closed": true}, {"date": "2026-12-24", "closed": false, "start": "09:00", "end": "13:00"}],
		"bot": "office_hours"},
	"assignment": {"auto_assign": true, "user_ids": [` + itoa(e.user) + `], "team_ids": [` + itoa(e.team) + `]},
	"tickets": {"pipeline": "sales", "status": "open", "priority": "high", "category": "billing", "properties": {"source": "chat"}},
	"display": {"desktop": "open_on_trigger", "mobile": "prompt",
		"triggers": {"exit_intent": true, "time_on_page": 12, "scroll_percent": 40}},
	"targeting": {"groups": [
			{"rules": [{"kind": "url", "op": "contains", "value": "/pricing"}, {"kind": "device", "op": "is", "value": "desktop"}]},
			{"rules": [{"kind": "query_param", "op": "is", "name": "utm_source", "value": "ads"}, {"kind": "visitor", "op": "is", "value": "known"},
				{"kind": "contact_property", "op": "starts_with", "name": "plan", "value": "pro"}, {"kind": "url", "op": "wildcard", "value": "https://*.example.com/*"}]}],
		"exclusions": [{"kind": "url", "op": "ends_with", "value": "/privacy"}, {"kind": "device", "op": "is", "value": "mobile"},
			{"kind": "referrer", "op": "contains", "value": "spam.example"}, {"kind": "page_views", "op": "greater_than", "value": "20"}]},
	"options": {
		"cookie_consent": {"enabled": false, "when": "exit_intent", "text": "Cookies?"},
		"data_consent": {"enabled": true, "type": "explicit", "text": "We verwerken je gegevens.", "privacy_url": "https://example.com/privacy"},
		"communication_consent": {"enabled": true, "subscription_type_id": ` + itoa(e.links()[1]) + `, "label": "Nieuwsbrief"},
		"marketing_contacts": true, "survey_id": ` + itoa(e.survey) + `, "knowledge_base_id": ` + itoa(e.links()[0]) + `, "help_tab": false, "attachments": false,
		"language_choice": "visitor"}
	}`
}

func stripServerFields(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		switch k {
		case "id", "public_id", "version", "created_at", "updated_at":
		default:
			out[k] = v
		}
	}
	return out
}

func TestChatflowEveryFieldRoundTrips(t *testing.T) {
	e := setup(t)
	var sent map[string]any
	must(t, json.Unmarshal([]byte(e.fullChatflow()), &sent))

	id := e.create("/api/v1/chatflows", e.fullChatflow())
	code, got := e.do("GET", "/api/v1/chatflows/"+itoa(id), "")
	if code != 200 {
		t.Fatalf("GET: %d", code)
	}
	if !reflect.DeepEqual(stripServerFields(got), sent) {
		a, _ := json.MarshalIndent(stripServerFields(got), "", " ")
		b, _ := json.MarshalIndent(sent, "", " ")
		t.Fatalf("round trip differs:\ngot  %s\nsent %s", a, b)
	}
	if !strings.HasPrefix(got["public_id"].(string), "cf_") || len(got["public_id"].(string)) < 16 {
		t.Errorf("public id %v", got["public_id"])
	}

	// The list shows it; a GET sent back as a PUT changes nothing but the version.
	_, list := e.do("GET", "/api/v1/chatflows", "")
	if n := len(list["chatflows"].([]any)); n != 1 {
		t.Fatalf("list has %d chatflows", n)
	}
	back, _ := json.Marshal(got)
	code, put := e.do("PUT", "/api/v1/chatflows/"+itoa(id), string(back))
	if code != 200 || !reflect.DeepEqual(stripServerFields(put), sent) {
		t.Fatalf("PUT of GET: %d %v", code, put)
	}
	if put["version"].(float64) != got["version"].(float64)+1 {
		t.Errorf("version %v after %v", put["version"], got["version"])
	}
}

func TestChatflowDefaultsPutAndPatch(t *testing.T) {
	e := setup(t)
	id := e.create("/api/v1/chatflows", `{"name":"Minimal","inbox_id":`+itoa(e.inbox)+`}`)
	_, cf := e.do("GET", "/api/v1/chatflows/"+itoa(id), "")
	opts := cf["options"].(map[string]any)
	if cf["language"] != "en" || cf["enabled"] != false || cf["type"] != "live_agent" ||
		opts["cookie_consent"].(map[string]any)["enabled"] != true || opts["data_consent"].(map[string]any)["enabled"] != true {
		t.Fatalf("defaults wrong: %v", cf)
	}

	// PATCH changes only what it names, deep inside nested objects too.
	code, p := e.do("PATCH", "/api/v1/chatflows/"+itoa(id), `{"enabled":true,"look":{"accent_color":"#112233"},"welcome":{"messages":{"en":"Hi","de":"Hallo"}}}`)
	if code != 200 {
		t.Fatalf("PATCH: %d %v", code, p)
	}
	look := p["look"].(map[string]any)
	if p["enabled"] != true || look["accent_color"] != "#112233" || look["heading"].(map[string]any)["kind"] != "brand" || p["name"] != "Minimal" {
		t.Fatalf("PATCH result: %v", p)
	}
	// null removes one language (JSON merge patch).
	_, p = e.do("PATCH", "/api/v1/chatflows/"+itoa(id), `{"welcome":{"messages":{"de":null}}}`)
	if msgs := p["welcome"].(map[string]any)["messages"].(map[string]any); len(msgs) != 1 || msgs["en"] != "Hi" {
		t.Fatalf("merge-patch null: %v", msgs)
	}

	// PUT replaces everything: what it leaves out goes back to the default.
	code, p = e.do("PUT", "/api/v1/chatflows/"+itoa(id), `{"name":"Replaced","inbox_id":`+itoa(e.inbox)+`}`)
	if code != 200 || p["enabled"] != false || p["look"].(map[string]any)["accent_color"] != "#2357d9" || p["name"] != "Replaced" {
		t.Fatalf("PUT: %d %v", code, p)
	}

	// If-Match with a stale version is refused and changes nothing.
	code, _ = e.do("GET", "/api/v1/chatflows/"+itoa(id), "")
	req, _ := http.NewRequest("PATCH", e.srv.URL+"/api/v1/chatflows/"+itoa(id), strings.NewReader(`{"name":"Stale"}`))
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("If-Match", `"1"`)
	res, err := http.DefaultClient.Do(req)
	must(t, err)
	res.Body.Close()
	if res.StatusCode != http.StatusPreconditionFailed {
		t.Fatalf("stale If-Match: %d", res.StatusCode)
	}

	if code, _ := e.do("DELETE", "/api/v1/chatflows/"+itoa(id), ""); code != 204 {
		t.Fatalf("DELETE: %d", code)
	}
	if code, _ := e.do("GET", "/api/v1/chatflows/"+itoa(id), ""); code != 404 {
		t.Fatalf("GET after DELETE: %d", code)
	}
}

// fields returns the field names a problem document lists.
func fields(p map[string]any) []string {
	var out []string
	errs, _ := p["errors"].([]any)
	for _, fe := range errs {
		out = append(out, fe.(map[string]any)["field"].(string))
	}
	return out
}

func TestChatflowBadInput(t *testing.T) {
	e := setup(t)
	inboxNoChat := e.create("/api/v1/inboxes", `{"name":"Email only","has_chat_channel":false}`)
	base := `"name":"X","inbox_id":` + itoa(e.inbox)
	cases := []struct {
		name, body string
		want       []string
	}{
		{"malformed JSON", `{"name": "x",`, []string{"body"}},
		{"not an object", `[1,2]`, []string{"body"}},
		{"two objects", `{} {}`, []string{"body"}},
		{"missing name and inbox", `{}`, []string{"inbox_id", "name"}},
		{"unknown top-level field", `{` + base + `,"colour":"red"}`, []string{"colour"}},
		{"unknown nested fields", `{` + base + `,"look":{"accent":"#000000","heading":{"knd":"brand"}}}`, []string{"look.accent", "look.heading.knd"}},
		{"unknown field in a rule", `{` + base + `,"targeting":{"groups":[{"rules":[{"kind":"url","op":"is","value":"/","x":1}]}]}}`, []string{"targeting.groups[0].rules[0].x"}},
		{"wrong type", `{` + base + `,"priority":"high"}`, []string{"priority"}},
		{"wrong nested type", `{` + base + `,"display":{"triggers":{"time_on_page":"soon"}}}`, []string{"display.triggers.time_on_page"}},
		{"enums", `{` + base + `,"channel":"fax","language":"xx","type":"robot"}`, []string{"channel", "language", "type"}},
		{"mobile without tag", `{` + base + `,"channel":"mobile"}`, []string{"mobile_tag"}},
		{"website with tag", `{` + base + `,"mobile_tag":"app"}`, []string{"mobile_tag"}},
		{"unknown inbox", `{"name":"X","inbox_id":999999}`, []string{"inbox_id"}},
		{"inbox without chat", `{"name":"X","inbox_id":` + itoa(inboxNoChat) + `}`, []string{"inbox_id"}},
		{"bad colour", `{` + base + `,"look":{"accent_color":"red"}}`, []string{"look.accent_color"}},
		{"agent heading without agent", `{` + base + `,"look":{"heading":{"kind":"agent"}}}`, []string{"look.heading.agent_id"}},
		{"agent of nobody", `{` + base + `,"look":{"heading":{"kind":"agent","agent_id":424242}}}`, []string{"look.heading.agent_id"}},
		{"javascript image", `{` + base + `,"look":{"heading":{"kind":"brand","image_url":"javascript:alert(1)"}}}`, []string{"look.heading.image_url"}},
		{"welcome language", `{` + base + `,"welcome":{"messages":{"klingon":"nuqneH"}}}`, []string{"welcome.messages.klingon"}},
		{"email capture", `{` + base + `,"email_capture":{"when":"sometimes"}}`, []string{"email_capture.when"}},
		{"office hours", `{` + base + `,"availability":{"mode":"office_hours","office_hours":[{"day":"funday","start":"25:00","end":"08:00"},{"day":"monday","start":"10:00","end":"09:00"}]}}`,
			[]string{"availability.office_hours[0].day", "availability.office_hours[0].start", "availability.office_hours[1].end"}},
		{"office hours mode without hours", `{` + base + `,"availability":{"mode":"office_hours"}}`, []string{"availability.office_hours"}},
		{"behaviours", `{` + base + `,"availability":{"reply_time":"soon","offline":{"behaviour":"cry"},"at_capacity":{"behaviour":"panic"}}}`,
			[]string{"availability.at_capacity.behaviour", "availability.offline.behaviour", "availability.reply_time"}},
		{"assignment to strangers", `{` + base + `,"assignment":{"user_ids":[999998],"team_ids":[999997]}}`, []string{"assignment.team_ids[0]", "assignment.user_ids[0]"}},
		{"ticket priority", `{` + base + `,"tickets":{"priority":"whenever"}}`, []string{"tickets.priority"}},
		{"display", `{` + base + `,"display":{"desktop":"explode","mobile":"open_on_trigger","triggers":{"scroll_percent":150,"time_on_page":-1}}}`,
			[]string{"display.desktop", "display.mobile", "display.triggers.scroll_percent", "display.triggers.time_on_page"}},
		{"open on trigger without trigger", `{` + base + `,"display":{"desktop":"open_on_trigger"}}`, []string{"display.triggers"}},
		{"rules", `{` + base + `,"targeting":{"groups":[{"rules":[]},{"rules":[{"kind":"url","op":"resembles","value":"/"},{"kind":"query_param","op":"is","value":"x"},{"kind":"device","op":"is","value":"fridge"}]}],"exclusions":[{"kind":"weather","op":"is","value":"rain"}]}}`,
			[]string{"targeting.exclusions[0].kind", "targeting.groups[0].rules", "targeting.groups[1].rules[0].op", "targeting.groups[1].rules[1].name", "targeting.groups[1].rules[2].value"}},
		{"consents", `{` + base + `,"options":{"cookie_consent":{"when":"never"},"data_consent":{"type":"implied","privacy_url":"javascript:alert(1)"}}}`,
			[]string{"options.cookie_consent.when", "options.data_consent.privacy_url", "options.data_consent.type"}},
		{"too long name", `{"name":"` + strings.Repeat("n", 201) + `","inbox_id":` + itoa(e.inbox) + `}`, []string{"name"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, p := e.do("POST", "/api/v1/chatflows", tc.body)
			if code != 400 {
				t.Fatalf("status %d, want 400: %v", code, p)
			}
			if got := fields(p); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("fields %v, want %v (%v)", got, tc.want, p["errors"])
			}
		})
	}
	// Nothing was stored by any of them.
	if _, list := e.do("GET", "/api/v1/chatflows", ""); len(list["chatflows"].([]any)) != 0 {
		t.Fatalf("bad input stored chatflows: %v", list)
	}
	// A bad PATCH leaves the chatflow as it was.
	id := e.create("/api/v1/chatflows", `{`+base+`}`)
	if code, _ := e.do("PATCH", "/api/v1/chatflows/"+itoa(id), `{"name":"Y","look":{"accent_color":"nope"}}`); code != 400 {
		t.Fatalf("bad PATCH: %d", code)
	}
	if _, cf := e.do("GET", "/api/v1/chatflows/"+itoa(id), ""); cf["name"] != "X" {
		t.Fatalf("bad PATCH changed the chatflow: %v", cf["name"])
	}
}

func TestAuthAndIsolation(t *testing.T) {
	e := setup(t)
	id := e.create("/api/v1/chatflows", `{"name":"Mine","inbox_id":`+itoa(e.inbox)+`}`)
	for _, key := range []string{"", "pk_wrong", "Basic abc"} {
		if code, _ := e.doKey(key, "GET", "/api/v1/chatflows", ""); code != 401 {
			t.Errorf("key %q: %d, want 401", key, code)
		}
	}
	// Another account sees none of it: every object answers 404, and lists are empty.
	for _, path := range []string{"/api/v1/chatflows/" + itoa(id), "/api/v1/inboxes/" + itoa(e.inbox), "/api/v1/users/" + itoa(e.user), "/api/v1/teams/" + itoa(e.team)} {
		if code, _ := e.doKey(e.other, "GET", path, ""); code != 404 {
			t.Errorf("other account GET %s: %d", path, code)
		}
		if code, _ := e.doKey(e.other, "DELETE", path, ""); code != 404 {
			t.Errorf("other account DELETE %s: %d", path, code)
		}
	}
	if code, _ := e.doKey(e.other, "PATCH", "/api/v1/chatflows/"+itoa(id), `{"name":"Hijack"}`); code != 404 {
		t.Errorf("other account PATCH: %d", code)
	}
	// Nor may it point its own chatflows at our inbox.
	otherInbox := e.createWith(e.other, "/api/v1/inboxes", `{"name":"Theirs"}`)
	if code, p := e.doKey(e.other, "POST", "/api/v1/chatflows", `{"name":"X","inbox_id":`+itoa(e.inbox)+`}`); code != 400 || fields(p)[0] != "inbox_id" {
		t.Errorf("other account using our inbox: %d %v", code, p)
	}
	if code, p := e.doKey(e.other, "POST", "/api/v1/teams", `{"name":"T","member_ids":[`+itoa(e.user)+`]}`); code != 400 || fields(p)[0] != "member_ids[0]" {
		t.Errorf("other account adding our user: %d %v", code, p)
	}
	_ = otherInbox
	if _, cf := e.do("GET", "/api/v1/chatflows/"+itoa(id), ""); cf["name"] != "Mine" {
		t.Fatal("changed by another account")
	}
	if code, _ := e.do("GET", "/api/v1/chatflows/abc", ""); code != 404 {
		t.Errorf("malformed id: %d", code)
	}
	if code, _ := e.do("GET", "/api/v1/nothing", ""); code != 404 {
		t.Errorf("unknown endpoint: %d", code)
	}
}

func (e *env) createWith(key, path, body string) int64 {
	e.t.Helper()
	code, out := e.doKey(key, "POST", path, body)
	if code != http.StatusCreated {
		e.t.Fatalf("POST %s: %d %v", path, code, out)
	}
	return int64(out["id"].(float64))
}

func TestBodyLimits(t *testing.T) {
	e := setup(t)
	big := `{"name":"` + strings.Repeat("x", api.MaxBodyBytes) + `"}`
	if code, _ := e.do("POST", "/api/v1/chatflows", big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d", code)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/chatflows", bytes.NewReader([]byte(`name=x`)))
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	must(t, err)
	res.Body.Close()
	if res.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("form body: %d", res.StatusCode)
	}
}

func TestUsersTeamsInboxes(t *testing.T) {
	e := setup(t)
	// An agent made routable: a seat, available, a chat limit, member of the inbox and a team.
	bob := e.create("/api/v1/users", `{"email":"bob@example.com","name":"Bob","password":"correct horse","has_seat":true,"status":"available","max_open_chats":3}`)
	code, u := e.do("GET", "/api/v1/users/"+itoa(bob), "")
	if code != 200 || u["has_seat"] != true || u["max_open_chats"].(float64) != 3 || u["password"] != nil || u["password_hash"] != nil {
		t.Fatalf("user: %v", u)
	}
	if code, p := e.do("PATCH", "/api/v1/inboxes/"+itoa(e.inbox), `{"member_ids":[`+itoa(bob)+`,`+itoa(e.user)+`]}`); code != 200 || len(p["member_ids"].([]any)) != 2 {
		t.Fatalf("inbox members: %d %v", code, p)
	}
	if code, p := e.do("PATCH", "/api/v1/teams/"+itoa(e.team), `{"member_ids":[`+itoa(bob)+`]}`); code != 200 || len(p["member_ids"].([]any)) != 1 {
		t.Fatalf("team members: %d %v", code, p)
	}
	// A password set over REST replaces the old one; later patches of other
	// fields leave it alone.
	hashOf := func() (h string) {
		must(t, e.st.DB().Get(&h, `SELECT password_hash FROM users WHERE id = $1`, bob))
		return h
	}
	first := hashOf()
	if code, p := e.do("PATCH", "/api/v1/users/"+itoa(bob), `{"password":"battery staple horse"}`); code != 200 {
		t.Fatalf("password: %d %v", code, p)
	}
	second := hashOf()
	if second == first || bcrypt.CompareHashAndPassword([]byte(second), []byte("battery staple horse")) != nil {
		t.Fatal("the new password was not stored")
	}
	if code, p := e.do("PATCH", "/api/v1/users/"+itoa(bob), `{"status":"away","max_open_chats":0}`); code != 200 || p["status"] != "away" || p["name"] != "Bob" {
		t.Fatalf("patch user: %d %v", code, p)
	}
	code, p := e.do("POST", "/api/v1/users", `{"email":"not an email","name":"","role":"king","status":"busy","max_open_chats":1000,"password":"short"}`)
	if want := []string{"email", "max_open_chats", "name", "password", "role", "status"}; code != 400 || !reflect.DeepEqual(fields(p), want) {
		t.Fatalf("bad user: %d %v", code, fields(p))
	}
	if code, _ := e.do("POST", "/api/v1/users", `{"email":"BOB@example.com","name":"Bob 2"}`); code != 409 {
		t.Fatalf("duplicate email: %d", code)
	}
	if code, _ := e.do("POST", "/api/v1/inboxes", `{"name":"Support"}`); code != 409 {
		t.Fatalf("duplicate inbox: %d", code)
	}
	// An inbox in use by a chatflow cannot be deleted.
	e.create("/api/v1/chatflows", `{"name":"X","inbox_id":`+itoa(e.inbox)+`}`)
	if code, _ := e.do("DELETE", "/api/v1/inboxes/"+itoa(e.inbox), ""); code != 409 {
		t.Fatalf("delete inbox in use: %d", code)
	}
	if code, _ := e.do("DELETE", "/api/v1/users/"+itoa(bob), ""); code != 204 {
		t.Fatalf("delete user: %d", code)
	}
	if _, acct := e.do("GET", "/api/v1/account", ""); acct["site_key"] != "acme" {
		t.Fatalf("account: %v", acct)
	}
}

func TestSiteConfig(t *testing.T) {
	e := setup(t)
	e.create("/api/v1/chatflows", `{"name":"Off","inbox_id":`+itoa(e.inbox)+`}`)
	e.create("/api/v1/chatflows", `{"name":"On","enabled":true,"priority":3,"language":"de","inbox_id":`+itoa(e.inbox)+`,
		"welcome":{"messages":{"de":"Hallo <b>du</b>","en":"Hello"}},"tickets":{"category":"secret-internal"},
		"look":{"heading":{"kind":"agent","agent_id":`+itoa(e.user)+`}}}`)
	get := func(secret, site string) (int, string) {
		req, _ := http.NewRequest("GET", e.srv.URL+"/internal/sites/"+site+"/config", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		res, err := http.DefaultClient.Do(req)
		must(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, _ := get("wrong", "acme"); code != 401 {
		t.Fatalf("wrong secret: %d", code)
	}
	if code, _ := get(e.secret, "nope"); code != 404 {
		t.Fatalf("unknown site: %d", code)
	}
	code, body := get(e.secret, "acme")
	if code != 200 {
		t.Fatalf("config: %d %s", code, body)
	}
	var cfg struct {
		Site      string
		Chatflows []map[string]any
	}
	must(t, json.Unmarshal([]byte(body), &cfg))
	if cfg.Site != "acme" || len(cfg.Chatflows) != 1 {
		t.Fatalf("config: %s", body)
	}
	cf := cfg.Chatflows[0]
	if cf["welcome"] != "Hallo <b>du</b>" || cf["heading_name"] != "Ana" || cf["language"] != "de" {
		t.Fatalf("published chatflow: %v", cf)
	}
	for _, secret := range []string{"secret-internal", "agent_id", "assignment", "tickets"} {
		if strings.Contains(body, secret) {
			t.Errorf("published config leaks %q: %s", secret, body)
		}
	}
}

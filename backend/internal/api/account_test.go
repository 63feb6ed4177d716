package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/store"
)

func TestAccountPatchRoundTrips(t *testing.T) {
	e := setup(t)
	code, got := e.do("PATCH", "/api/v1/account", `{"name":"  Acme Inc  ","company_name":"Acme Shop","company_domain":"Shop.Example.COM.","timezone":"America/New_York"}`)
	if code != 200 {
		t.Fatalf("PATCH: %d %v", code, got)
	}
	want := map[string]any{"name": "Acme Inc", "company_name": "Acme Shop", "company_domain": "shop.example.com",
		"timezone": "America/New_York", "site_key": "acme"}
	check := func(what string, m map[string]any) {
		t.Helper()
		for k, v := range want {
			if m[k] != v {
				t.Errorf("%s: %s = %v, want %v (%v)", what, k, m[k], v, m)
			}
		}
	}
	check("PATCH answer", got)
	_, read := e.do("GET", "/api/v1/account", "")
	check("GET", read)
	if !reflect.DeepEqual(read, got) {
		t.Errorf("PATCH answered %v, GET shows %v", got, read)
	}

	// A partial patch changes what it names and nothing else.
	code, got = e.do("PATCH", "/api/v1/account", `{"company_name":"Acme Store"}`)
	want["company_name"] = "Acme Store"
	if code != 200 {
		t.Fatalf("partial PATCH: %d %v", code, got)
	}
	check("partial PATCH", got)
	_, read = e.do("GET", "/api/v1/account", "")
	check("GET after partial PATCH", read)
	if code, got = e.do("PATCH", "/api/v1/account", `{}`); code != 200 {
		t.Fatalf("empty PATCH: %d %v", code, got)
	}
	check("empty PATCH", got)

	// A GET sent back is accepted (read-only fields are ignored, the site key kept).
	read["site_key"], read["id"] = "hijack", 1
	back, _ := json.Marshal(read)
	if code, got = e.do("PATCH", "/api/v1/account", string(back)); code != 200 {
		t.Fatalf("GET sent back: %d %v", code, got)
	}
	check("GET sent back", got)

	// null clears an optional text (JSON merge patch).
	code, got = e.do("PATCH", "/api/v1/account", `{"company_domain":null,"company_name":""}`)
	want["company_domain"], want["company_name"] = "", ""
	if code != 200 {
		t.Fatalf("clearing: %d %v", code, got)
	}
	check("clearing", got)

	// The other account is untouched.
	if _, other := e.doKey(e.other, "GET", "/api/v1/account", ""); other["name"] != "Other" || other["timezone"] != "UTC" {
		t.Errorf("other account changed: %v", other)
	}
}

func TestAccountAllowedDomains(t *testing.T) {
	e := setup(t)
	_, got := e.do("GET", "/api/v1/account", "")
	if d, ok := got["allowed_domains"].([]any); !ok || len(d) != 0 {
		t.Fatalf("a new account allows every origin: allowed_domains = %#v", got["allowed_domains"])
	}
	code, got := e.do("PATCH", "/api/v1/account", `{"allowed_domains":["Shop.Example.","*.Brand.example","127.0.0.1","shop.example"]}`)
	if code != 200 {
		t.Fatalf("PATCH: %d %v", code, got)
	}
	want := []any{"shop.example", "*.brand.example", "127.0.0.1"}
	if !reflect.DeepEqual(got["allowed_domains"], want) {
		t.Fatalf("allowed_domains = %v, want %v (normalized, duplicates dropped, order kept)", got["allowed_domains"], want)
	}
	if _, read := e.do("GET", "/api/v1/account", ""); !reflect.DeepEqual(read["allowed_domains"], want) {
		t.Fatalf("GET shows %v", read["allowed_domains"])
	}
	// Other fields leave the list alone; the other account has none.
	if _, got = e.do("PATCH", "/api/v1/account", `{"name":"Renamed"}`); !reflect.DeepEqual(got["allowed_domains"], want) {
		t.Fatalf("a PATCH of the name changed the list: %v", got["allowed_domains"])
	}
	if _, other := e.doKey(e.other, "GET", "/api/v1/account", ""); len(other["allowed_domains"].([]any)) != 0 {
		t.Fatalf("other account: %v", other["allowed_domains"])
	}
	// null and [] both clear it.
	for _, body := range []string{`{"allowed_domains":null}`, `{"allowed_domains":[]}`} {
		e.do("PATCH", "/api/v1/account", `{"allowed_domains":["x.example"]}`)
		if _, got = e.do("PATCH", "/api/v1/account", body); len(got["allowed_domains"].([]any)) != 0 {
			t.Fatalf("%s left %v", body, got["allowed_domains"])
		}
	}
}

func TestAccountBadInput(t *testing.T) {
	e := setup(t)
	if code, p := e.do("PATCH", "/api/v1/account", `{"company_name":"Acme Shop","company_domain":"acme.example","timezone":"Europe/Berlin"}`); code != 200 {
		t.Fatalf("setup PATCH: %d %v", code, p)
	}
	_, before := e.do("GET", "/api/v1/account", "")
	long := strings.Repeat("n", 201)
	cases := []struct {
		name, body string
		want       []string
	}{
		{"malformed JSON", `{"name": "x",`, []string{"body"}},
		{"not an object", `["name"]`, []string{"body"}},
		{"two objects", `{} {}`, []string{"body"}},
		{"unknown field", `{"name":"New","language":"nl"}`, []string{"language"}},
		{"unknown fields", `{"colour":"red","owner":{"id":1}}`, []string{"colour", "owner"}},
		{"wrong type", `{"timezone":1}`, []string{"timezone"}},
		{"empty name", `{"name":""}`, []string{"name"}},
		{"blank name", `{"name":"   "}`, []string{"name"}},
		{"null name", `{"name":null}`, []string{"name"}},
		{"long name", `{"name":"` + long + `"}`, []string{"name"}},
		{"two-line name", `{"name":"Acme\nInc"}`, []string{"name"}},
		{"long company name", `{"company_name":"` + long + `"}`, []string{"company_name"}},
		{"control character", `{"company_name":"Acme\u0007"}`, []string{"company_name"}},
		{"Local", `{"timezone":"Local"}`, []string{"timezone"}},
		{"empty timezone", `{"timezone":""}`, []string{"timezone"}},
		{"null timezone", `{"timezone":null}`, []string{"timezone"}},
		{"no such zone", `{"timezone":"Mars/Olympus_Mons"}`, []string{"timezone"}},
		{"offset", `{"timezone":"+01:00"}`, []string{"timezone"}},
		{"path", `{"timezone":"../../etc/passwd"}`, []string{"timezone"}},
		{"absolute path", `{"timezone":"/usr/share/zoneinfo/UTC"}`, []string{"timezone"}},
		{"posix copy", `{"timezone":"posix/Europe/Amsterdam"}`, []string{"timezone"}},
		{"scheme", `{"company_domain":"https://example.com"}`, []string{"company_domain"}},
		{"domain path", `{"company_domain":"example.com/shop"}`, []string{"company_domain"}},
		{"port", `{"company_domain":"example.com:8080"}`, []string{"company_domain"}},
		{"email", `{"company_domain":"ana@example.com"}`, []string{"company_domain"}},
		{"single label", `{"company_domain":"localhost"}`, []string{"company_domain"}},
		{"IP address", `{"company_domain":"10.0.0.1"}`, []string{"company_domain"}},
		{"space", `{"company_domain":"exa mple.com"}`, []string{"company_domain"}},
		{"hyphen", `{"company_domain":"-acme.com"}`, []string{"company_domain"}},
		{"long domain", `{"company_domain":"` + strings.Repeat("a.", 130) + `com"}`, []string{"company_domain"}},
		{"every field bad", `{"name":"","company_name":"` + long + `","company_domain":"http://x","timezone":"Nowhere"}`,
			[]string{"company_domain", "company_name", "name", "timezone"}},
		{"one bad field among good ones", `{"name":"Renamed","company_name":"New Shop","timezone":"Local"}`, []string{"timezone"}},
		{"allowed domains not a list", `{"allowed_domains":"shop.example"}`, []string{"allowed_domains"}},
		{"allowed domain with scheme", `{"allowed_domains":["shop.example","https://www.shop.example"]}`, []string{"allowed_domains[1]"}},
		{"allowed domains each named", `{"allowed_domains":["shop.example:8443","ok.example","*.example","a/b.example",""]}`,
			[]string{"allowed_domains[0]", "allowed_domains[2]", "allowed_domains[3]", "allowed_domains[4]"}},
		{"allowed domain wildcard inside", `{"allowed_domains":["a.*.example"]}`, []string{"allowed_domains[0]"}},
		{"allowed domain NUL", `{"allowed_domains":["a\u0000b.example"]}`, []string{"allowed_domains[0]"}},
		{"allowed domains too many", `{"allowed_domains":[` + strings.Repeat(`"a.example",`, 100) + `"b.example"]}`, []string{"allowed_domains"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, p := e.do("PATCH", "/api/v1/account", tc.body)
			if code != 400 {
				t.Fatalf("status %d, want 400: %v", code, p)
			}
			if got := fields(p); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("fields %v, want %v (%v)", got, tc.want, p["errors"])
			}
			if _, now := e.do("GET", "/api/v1/account", ""); !reflect.DeepEqual(now, before) {
				t.Fatalf("a bad PATCH changed the account: %v, was %v", now, before)
			}
		})
	}
	// Not JSON at all is refused before it is read.
	req, _ := http.NewRequest("PATCH", e.srv.URL+"/api/v1/account", strings.NewReader(`name=x`))
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	must(t, err)
	res.Body.Close()
	if res.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("form body: %d", res.StatusCode)
	}
}

func TestAccountOnlyAdminKeysChangeIt(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	agent, err := e.st.CreateAPIKeyWithRole(ctx, e.acct.ID, "agent key", store.RoleAgent)
	must(t, err)
	editor, err := e.st.CreateAPIKeyWithRole(ctx, e.acct.ID, "editor key", store.RoleEditor)
	must(t, err)
	for name, key := range map[string]string{"agent": agent, "editor": editor} {
		if code, out := e.doKey(key, "PATCH", "/api/v1/account", `{"name":"Mallory","timezone":"Asia/Tokyo"}`); code != http.StatusForbidden {
			t.Errorf("%s key: PATCH /account answered %d %v, want 403", name, code, out)
		}
		if code, out := e.doKey(key, "GET", "/api/v1/account", ""); code != 200 || out["name"] != "Acme" || out["timezone"] != "UTC" {
			t.Errorf("%s key reading the account: %d %v", name, code, out)
		}
	}
	if code, _ := e.doKey("", "PATCH", "/api/v1/account", `{"name":"Anon"}`); code != http.StatusUnauthorized {
		t.Errorf("no key: %d", code)
	}
}

// What visitors see follows the account at once: the published config
// (what the edge caches for EDGE_CONFIG_TTL) names the company in the
// heading, and office hours are kept in the account's timezone.
func TestAccountSettingsReachVisitors(t *testing.T) {
	e := setup(t)
	// Ana (available, with a seat) answers the inbox: inside office hours
	// the chatflow is available, outside them offline.
	if code, p := e.do("PATCH", "/api/v1/inboxes/"+itoa(e.inbox), `{"member_ids":[`+itoa(e.user)+`]}`); code != 200 {
		t.Fatalf("inbox members: %d %v", code, p)
	}
	// Open from three hours before to three after the present hour in
	// Tokyo (UTC+9, no daylight saving), every day: São Paulo (UTC-3, no
	// daylight saving) is twelve hours behind, far outside them.
	const open, closed = "Asia/Tokyo", "America/Sao_Paulo"
	tokyo, err := time.LoadLocation(open)
	must(t, err)
	h := time.Now().In(tokyo).Hour()
	from, to := (h+21)%24, (h+4)%24
	var ranges []string
	for _, day := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"} {
		r := func(start, end int) {
			ranges = append(ranges, fmt.Sprintf(`{"day":%q,"start":"%02d:00","end":"%02d:00"}`, day, start, end))
		}
		if from < to {
			r(from, to)
			continue
		}
		if to > 0 {
			r(0, to)
		}
		r(from, 24)
	}
	e.create("/api/v1/chatflows", `{"name":"Office","enabled":true,"inbox_id":`+itoa(e.inbox)+`,
		"availability":{"mode":"office_hours","office_hours":[`+strings.Join(ranges, ",")+`],"offline":{"behaviour":"back_at"}}}`)

	published := func() map[string]any {
		t.Helper()
		req, _ := http.NewRequest("GET", e.srv.URL+"/internal/sites/acme/config", nil)
		req.Header.Set("Authorization", "Bearer "+e.secret)
		res, err := http.DefaultClient.Do(req)
		must(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var cfg struct{ Chatflows []map[string]any }
		if err := json.Unmarshal(b, &cfg); err != nil || res.StatusCode != 200 || len(cfg.Chatflows) != 1 {
			t.Fatalf("config: %d %s", res.StatusCode, b)
		}
		return cfg.Chatflows[0]
	}
	state := func(cf map[string]any) string { return cf["presence"].(map[string]any)["state"].(string) }

	if cf := published(); cf["heading_name"] != "Acme" {
		t.Fatalf("heading before: %v", cf["heading_name"])
	}
	for _, step := range []struct{ body, heading, state string }{
		{`{"company_name":"Acme Shop","timezone":"` + open + `"}`, "Acme Shop", "available"},
		{`{"timezone":"` + closed + `"}`, "Acme Shop", "offline"},
		{`{"timezone":"` + open + `","company_name":"Acme Outlet"}`, "Acme Outlet", "available"},
	} {
		if code, p := e.do("PATCH", "/api/v1/account", step.body); code != 200 {
			t.Fatalf("PATCH %s: %d %v", step.body, code, p)
		}
		cf := published()
		if cf["heading_name"] != step.heading || state(cf) != step.state {
			t.Fatalf("after %s: heading %v, presence %v; want %s, %s", step.body, cf["heading_name"], cf["presence"], step.heading, step.state)
		}
	}
}

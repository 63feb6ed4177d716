package api_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/api"
)

// Text with a NUL character or invalid UTF-8 is refused with 400 naming
// the field, wherever it enters: JSON bodies, query and path parameters,
// on every route; never a 5xx, nothing stored.
func TestNULAndInvalidUTF8AreRefusedByField(t *testing.T) {
	e := setup(t)
	r := gin.New()
	api.New(e.st, e.secret).Register(r)
	params := regexp.MustCompile(`:[a-z_]+`)
	badBodies := map[string]string{
		"NUL":           `{"name":"a\u0000b","title":"t","email":"x@example.com"}`,
		"invalid UTF-8": "{\"name\":\"a\xffb\",\"title\":\"t\",\"email\":\"x@example.com\"}",
	}
	for _, rt := range r.Routes() {
		if strings.HasPrefix(rt.Path, "/internal/") {
			continue
		}
		path := params.ReplaceAllString(rt.Path, "999999")
		// Query parameters, on every route.
		for _, q := range []string{"?q=%ff", "?limit=1&q=a%00b"} {
			code, out := e.do(rt.Method, path+q, "")
			if code != http.StatusBadRequest || !slices.Contains(fields(out), "q") {
				t.Errorf("%s %s%s: %d %v, want 400 naming q", rt.Method, rt.Path, q, code, out)
			}
		}
		// Path parameters.
		if p := params.FindString(rt.Path); p != "" {
			bad := strings.Replace(rt.Path, p, "%00", 1)
			bad = params.ReplaceAllString(bad, "999999")
			if code, out := e.do(rt.Method, bad, ""); code != http.StatusBadRequest || !slices.Contains(fields(out), p[1:]) {
				t.Errorf("%s %s: %d %v, want 400 naming %s", rt.Method, bad, code, out, p[1:])
			}
		}
		// Bodies: never a 5xx; a 400 names the field.
		if rt.Method == http.MethodGet || rt.Method == http.MethodDelete {
			continue
		}
		for what, body := range badBodies {
			code, out := e.do(rt.Method, path, body)
			if code >= 500 || (code == http.StatusBadRequest && !slices.Contains(fields(out), "name")) {
				t.Errorf("%s %s with a %s: %d %v", rt.Method, rt.Path, what, code, out)
			}
		}
	}
	// Where a body is read first, it is the answer: 400 on the field.
	for _, route := range []string{"POST /api/v1/subscription-types", "POST /api/v1/chatflows", "POST /api/v1/users",
		"POST /api/v1/visitor-identification", "PATCH /api/v1/account", "POST /api/v1/knowledge-bases", "POST /api/v1/teams",
		"POST /api/v1/inboxes", "POST /api/v1/surveys", "POST /api/v1/bots", "POST /api/v1/api-keys"} {
		method, path, _ := strings.Cut(route, " ")
		for what, body := range badBodies {
			if code, out := e.do(method, path, body); code != http.StatusBadRequest || !slices.Contains(fields(out), "name") {
				t.Errorf("%s with a %s: %d %v, want 400 naming name", route, what, code, out)
			}
		}
	}
	// The probe's own requests.
	for _, body := range []string{`{"name":"a\u0000b"}`, "{\"name\":\"a\xffb\"}"} {
		if code, out := e.do("POST", "/api/v1/subscription-types", body); code != 400 || !slices.Contains(fields(out), "name") {
			t.Errorf("POST /subscription-types %q: %d %v, want 400 naming name", body, code, out)
		}
	}
	// Nested fields are named by their path.
	if code, out := e.do("POST", "/api/v1/visitor-identification", `{"email":"ann@example.com","properties":{"plan":"gold\u0000"}}`); code != 400 ||
		!slices.Contains(fields(out), "properties.plan") {
		t.Errorf("nested NUL: %d %v", code, out)
	}
	var n int
	must(t, e.st.DB().Get(&n, `SELECT (SELECT count(*) FROM subscription_types) + (SELECT count(*) FROM contacts) + (SELECT count(*) FROM knowledge_bases)`))
	if n != 0 {
		t.Errorf("%d rows stored from refused bodies", n)
	}
	// The edge's internal reads too.
	if code, _ := e.internalGet("/internal/sites/%ff/config"); code != http.StatusBadRequest {
		t.Errorf("internal read with invalid UTF-8: %d", code)
	}
}

package hostpage

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPagesCarryTheScriptTagAndPolicy(t *testing.T) {
	h, err := Handler(Options{Edge: "https://chat.example/", Site: "shop", CSP: "default-src 'self'",
		Header: http.Header{"Cross-Origin-Embedder-Policy": {"require-corp"}}})
	if err != nil {
		t.Fatal(err)
	}
	get := func(p string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		return rec
	}
	for _, p := range []string{"/demo/", "/demo/long.html", "/demo/privacy.html", "/pricing"} {
		rec := get(p)
		body := rec.Body.String()
		if rec.Code != 200 || !strings.Contains(body, `<script src="https://chat.example/loader.js" data-site="shop" async></script>`) {
			t.Errorf("%s: %d %s", p, rec.Code, body)
		}
		if rec.Header().Get("Content-Security-Policy") != "default-src 'self'" || rec.Header().Get("Cross-Origin-Embedder-Policy") != "require-corp" {
			t.Errorf("%s: headers %v", p, rec.Header())
		}
		if strings.Contains(body, "<style") || strings.Contains(body, " style=") || strings.Contains(body, " onclick=") || strings.Contains(body, "<script>") {
			t.Errorf("%s has inline style or script, which a strict policy blocks", p)
		}
	}
	if rec := get("/demo/demo.js"); rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/javascript") {
		t.Errorf("demo.js: %d %v", rec.Code, rec.Header())
	}
	if rec := get("/"); rec.Code != http.StatusFound || rec.Header().Get("Location") != "/demo/" {
		t.Errorf("/: %d %v", rec.Code, rec.Header())
	}
	if _, err := Handler(Options{Edge: "javascript:alert(1)", Site: "x"}); err == nil {
		t.Error("a non-http edge must be refused")
	}
	// A hostile site key is escaped, never markup.
	h2, _ := Handler(Options{Edge: "http://e.test", Site: `"><script>alert(1)</script>`})
	rec := httptest.NewRecorder()
	h2.ServeHTTP(rec, httptest.NewRequest("GET", "/demo/", nil))
	if strings.Contains(rec.Body.String(), "<script>alert(1)") {
		t.Error("the site key is not escaped")
	}
}

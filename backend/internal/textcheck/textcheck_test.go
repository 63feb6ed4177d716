package textcheck

import (
	"net/url"
	"testing"
)

func TestJSONNamesTheBadField(t *testing.T) {
	for doc, want := range map[string]string{
		`{"name":"a\u0000b"}`: "name",
		`{"name":"ok","look":{"heading":{"text":"x\u0000"}}}`: "look.heading.text",
		`{"a":[1,"ok",{"b":"\u0000"}]}`:                       "a[2].b",
		"{\"name\":\"ok\",\"desc\":\"bad \xff byte\"}":        "desc",
		`{"props":{"k\u0000":"v"}}`:                           "props.k\x00",
		"{\"a\":{\"b\":[\"x\"]},\"c\":\"\xc3\"}":              "c",
	} {
		field, ok := JSON([]byte(doc))
		if ok || field != want {
			t.Errorf("%q: field %q ok %v, want %q", doc, field, ok, want)
		}
	}
	for _, doc := range []string{`{"name":"a\\u0000b"}`, `{"name":"ünïcode ✓ \ufffd"}`, `[]`, `{"a":[{"b":null}],"c":1.5}`} {
		if field, ok := JSON([]byte(doc)); !ok {
			t.Errorf("%q refused at %q", doc, field)
		}
	}
}

func TestValues(t *testing.T) {
	if name, ok := Values(url.Values{"q": {"ok"}, "view": {"\xff"}}); ok || name != "view" {
		t.Fatalf("%q %v", name, ok)
	}
	if name, ok := Values(url.Values{"q": {"a\x00"}}); ok || name != "q" {
		t.Fatalf("%q %v", name, ok)
	}
	if _, ok := Values(url.Values{"q": {"fine ✓"}}); !ok {
		t.Fatal("valid text refused")
	}
}

package origins

import "testing"

func TestNormalize(t *testing.T) {
	good := map[string]string{
		"Shop.Example":     "shop.example",
		"shop.example.":    "shop.example",
		"*.Shop.Example":   "*.shop.example",
		"localhost":        "localhost",
		"127.0.0.1":        "127.0.0.1",
		"xn--bcher-kva.ch": "xn--bcher-kva.ch",
		" a-b.example ":    "a-b.example",
	}
	for in, want := range good {
		got, err := Normalize(in)
		if err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "https://shop.example", "shop.example:8443", "shop.example/path",
		"*.example", "*shop.example", "a.*.example", "shop..example", "-shop.example", "::1", "[::1]",
		"sh op.example", "shop.example?x", "user@shop.example", "bücher.ch", "a\x00b.example"} {
		if got, err := Normalize(bad); err == nil {
			t.Errorf("Normalize(%q) = %q, want an error", bad, got)
		}
	}
}

func TestCheck(t *testing.T) {
	list := []string{"shop.example", "*.brand.example", "127.0.0.1"}
	cases := []struct {
		origin string
		want   Verdict
	}{
		{"", Allowed}, // an app, or a same-origin GET
		{"https://shop.example", Allowed},
		{"http://shop.example:9090", Allowed},
		{"https://SHOP.example", Allowed},
		{"https://www.shop.example", Refused},
		{"https://eu.brand.example", Allowed},
		{"https://a.b.brand.example", Allowed},
		{"https://brand.example", Refused},
		{"https://evilbrand.example", Refused},
		{"https://shop.example.evil.test", Refused},
		{"http://127.0.0.1:8090", Allowed},
		{"http://127.0.0.2:8090", Refused},
		{"null", Malformed},
		{"file://", Malformed},
		{"https://shop.example/path", Malformed},
		{"javascript:alert(1)", Malformed},
		{"%zz", Malformed},
		{"https://user@shop.example", Malformed},
	}
	for _, c := range cases {
		if got := Check(list, c.origin); got != c.want {
			t.Errorf("Check(%q) = %v, want %v", c.origin, got, c.want)
		}
	}
	for _, o := range []string{"null", "https://anything.test", "garbage"} {
		if Check(nil, o) != Allowed {
			t.Errorf("an empty list must allow %q", o)
		}
	}
}

func FuzzCheck(f *testing.F) {
	f.Add("https://shop.example", "*.shop.example")
	f.Add("null", "shop.example")
	f.Fuzz(func(t *testing.T, origin, entry string) {
		e, err := Normalize(entry)
		if err != nil {
			return
		}
		v := Check([]string{e}, origin)
		if v == Allowed && origin != "" {
			h, ok := Host(origin)
			if !ok || !Match([]string{e}, h) {
				t.Fatalf("%q allowed by %q without a matching host", origin, e)
			}
		}
	})
}

package edge

import (
	"net/http"
	"testing"
)

func TestClientIPTrustsOnlyConfiguredProxies(t *testing.T) {
	proxies, err := ParsePrefixes("127.0.0.1, 10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePrefixes("127.0.0.1, nonsense"); err == nil {
		t.Error("a bad entry must be reported")
	}
	cases := []struct {
		name    string
		trusted bool
		peer    string
		xff     []string
		want    string
	}{
		{"no proxies: the peer, whatever it says", false, "203.0.113.9:5000", []string{"6.6.6.6"}, "203.0.113.9"},
		{"an untrusted peer forging the header", true, "203.0.113.9:5000", []string{"6.6.6.6"}, "203.0.113.9"},
		{"behind one proxy", true, "127.0.0.1:5000", []string{"198.51.100.7"}, "198.51.100.7"},
		{"a forged start before the proxy's entry", true, "127.0.0.1:5000", []string{"6.6.6.6, 198.51.100.7"}, "198.51.100.7"},
		{"two proxies", true, "127.0.0.1:5000", []string{"198.51.100.7, 10.1.2.3"}, "198.51.100.7"},
		{"two headers", true, "127.0.0.1:5000", []string{"6.6.6.6", "198.51.100.7"}, "198.51.100.7"},
		{"garbage stops the walk", true, "127.0.0.1:5000", []string{"198.51.100.7, junk, 10.1.2.3"}, "10.1.2.3"},
		{"a proxy without the header", true, "127.0.0.1:5000", nil, "127.0.0.1"},
		{"IPv6 peer", true, "[2001:db8::1]:5000", []string{"6.6.6.6"}, "2001:db8::1"},
	}
	for _, c := range cases {
		s := Settings{}
		if c.trusted {
			s.TrustedProxies = proxies
		}
		r, _ := http.NewRequest("GET", "/ws", nil)
		r.RemoteAddr = c.peer
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := s.clientIP(r); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

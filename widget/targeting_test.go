package widget

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func visit(url string) Visit {
	return Visit{URL: url, Query: ParseQuery(url), Device: DeviceDesktop}
}

func TestRuleOperators(t *testing.T) {
	page := "https://Shop.example.com/pricing/?plan=Pro&utm_source=ads&utm_source=mail#top"
	v := visit(page)
	v.Known = true
	v.Contact = map[string]string{"plan": "Enterprise", "city": "Utrecht"}
	cases := []struct {
		rule Rule
		want bool
	}{
		{Rule{Kind: RuleURL, Op: OpIs, Value: page}, true},
		{Rule{Kind: RuleURL, Op: OpIs, Value: "https://shop.example.com/pricing?plan=pro&utm_source=ads&utm_source=mail#top"}, false},
		{Rule{Kind: RuleURL, Op: OpIs, Value: "/pricing/?plan=pro&utm_source=ads&utm_source=mail#top"}, true},
		{Rule{Kind: RuleURL, Op: OpIsNot, Value: "https://shop.example.com/"}, true},
		{Rule{Kind: RuleURL, Op: OpIsNot, Value: page}, false},
		{Rule{Kind: RuleURL, Op: OpContains, Value: "/PRICING"}, true},
		{Rule{Kind: RuleURL, Op: OpContains, Value: "/blog"}, false},
		{Rule{Kind: RuleURL, Op: OpNotContains, Value: "/blog"}, true},
		{Rule{Kind: RuleURL, Op: OpNotContains, Value: "pricing"}, false},
		{Rule{Kind: RuleURL, Op: OpStartsWith, Value: "https://shop.example.com/"}, true},
		{Rule{Kind: RuleURL, Op: OpStartsWith, Value: "/pricing"}, true},
		{Rule{Kind: RuleURL, Op: OpStartsWith, Value: "/blog"}, false},
		{Rule{Kind: RuleURL, Op: OpEndsWith, Value: "#top"}, true},
		{Rule{Kind: RuleURL, Op: OpEndsWith, Value: "/pricing"}, false},
		{Rule{Kind: RuleURL, Op: OpWildcard, Value: "https://*.example.com/*"}, true},
		{Rule{Kind: RuleURL, Op: OpWildcard, Value: "https://*.example.org/*"}, false},
		{Rule{Kind: RuleURL, Op: OpWildcard, Value: "/pricing/*"}, true},
		{Rule{Kind: RuleQueryParam, Op: OpIs, Name: "plan", Value: "pro"}, true},
		{Rule{Kind: RuleQueryParam, Op: OpIs, Name: "utm_source", Value: "mail"}, true}, // any of its values
		{Rule{Kind: RuleQueryParam, Op: OpIsNot, Name: "utm_source", Value: "mail"}, false},
		{Rule{Kind: RuleQueryParam, Op: OpIsNot, Name: "missing", Value: "x"}, true},
		{Rule{Kind: RuleQueryParam, Op: OpIs, Name: "missing", Value: ""}, false},
		{Rule{Kind: RuleQueryParam, Op: OpStartsWith, Name: "plan", Value: "p"}, true},
		{Rule{Kind: RuleQueryParam, Op: OpNotContains, Name: "plan", Value: "ro"}, false},
		{Rule{Kind: RuleQueryParam, Op: OpIs, Name: "Plan", Value: "pro"}, false}, // names are exact
		{Rule{Kind: RuleDevice, Op: OpIs, Value: "desktop"}, true},
		{Rule{Kind: RuleDevice, Op: OpIs, Value: "mobile"}, false},
		{Rule{Kind: RuleDevice, Op: OpIsNot, Value: "mobile"}, true},
		{Rule{Kind: RuleVisitor, Op: OpIs, Value: "known"}, true},
		{Rule{Kind: RuleVisitor, Op: OpIs, Value: "unknown"}, false},
		{Rule{Kind: RuleContactProperty, Op: OpIs, Name: "plan", Value: "enterprise"}, true},
		{Rule{Kind: RuleContactProperty, Op: OpEndsWith, Name: "city", Value: "echt"}, true},
		{Rule{Kind: RuleContactProperty, Op: OpIs, Name: "age", Value: "40"}, false},
		{Rule{Kind: RuleContactProperty, Op: OpIsNot, Name: "age", Value: "40"}, true},
		{Rule{Kind: "weather", Op: OpIs, Value: "rain"}, false},
	}
	for _, c := range cases {
		if got := RuleMatches(c.rule, v); got != c.want {
			t.Errorf("%+v: got %v, want %v", c.rule, got, c.want)
		}
	}
	anon := visit(page)
	if !RuleMatches(Rule{Kind: RuleVisitor, Op: OpIs, Value: "unknown"}, anon) ||
		RuleMatches(Rule{Kind: RuleContactProperty, Op: OpIs, Name: "plan", Value: "enterprise"}, anon) {
		t.Error("an unknown visitor has no contact properties")
	}
}

func TestGroupsExclusionsAndPriority(t *testing.T) {
	urlIs := func(op, v string) Rule { return Rule{Kind: RuleURL, Op: op, Value: v} }
	mobileOff := Rule{Kind: RuleDevice, Op: OpIs, Value: DeviceMobile}
	flows := []ChatflowConfig{
		{ID: "everywhere", Channel: ChannelWebsite, Priority: 0, Targeting: Targeting{Exclusions: []Rule{urlIs(OpEndsWith, "/privacy")}}},
		{ID: "pricing", Channel: ChannelWebsite, Priority: 5, Targeting: Targeting{
			Groups: []RuleGroup{
				{Rules: []Rule{urlIs(OpContains, "/pricing"), {Kind: RuleDevice, Op: OpIs, Value: DeviceDesktop}}},
				{Rules: []Rule{{Kind: RuleQueryParam, Op: OpIs, Name: "utm_campaign", Value: "spring"}}},
			},
			Exclusions: []Rule{mobileOff},
		}},
		{ID: "mobile-app", Channel: ChannelMobile, Priority: 100},
	}
	cfg := &Config{Chatflows: flows}
	cases := []struct {
		url, device string
		want        string
	}{
		{"https://x.test/", DeviceDesktop, "everywhere"},
		{"https://x.test/pricing", DeviceDesktop, "pricing"},                       // group 1, higher priority
		{"https://x.test/pricing", DeviceTablet, "everywhere"},                     // group 1 fails on device
		{"https://x.test/home?utm_campaign=spring", DeviceTablet, "pricing"},       // group 2 (OR)
		{"https://x.test/pricing?utm_campaign=spring", DeviceMobile, "everywhere"}, // exclusion beats both groups
		{"https://x.test/privacy", DeviceDesktop, ""},                              // excluded, nothing else matches
		{"https://x.test/pricing/privacy", DeviceDesktop, "pricing"},
	}
	for _, c := range cases {
		v := visit(c.url)
		v.Device = c.device
		got, ok := PickChatflow(cfg, v)
		id := ""
		if ok {
			id = got.ID
		}
		if id != c.want {
			t.Errorf("%s on %s: got %q, want %q", c.url, c.device, id, c.want)
		}
	}
	empty := ChatflowConfig{Targeting: Targeting{Groups: []RuleGroup{{}}}}
	if Targets(&empty, visit("https://x.test/")) {
		t.Error("an empty filter group must not match everything")
	}
}

func TestParseQuery(t *testing.T) {
	q := ParseQuery("https://x.test/p?a=1&b=two+words&c=%E2%82%AC&a=2&bad=%zz&flag#frag?x=y")
	want := map[string]string{"b": "two words", "c": "€", "bad": "%zz", "flag": ""}
	for k, v := range want {
		if len(q[k]) != 1 || q[k][0] != v {
			t.Errorf("%s = %q, want %q", k, q[k], v)
		}
	}
	if strings.Join(q["a"], ",") != "1,2" || q["x"] != nil {
		t.Errorf("query %v", q)
	}
}

// wildcardRE is the reference: the pattern as a regular expression.
func wildcardRE(pattern string) *regexp.Regexp {
	parts := strings.Split(pattern, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(`(?s)\A` + strings.Join(parts, ".*") + `\z`)
}

func TestWildcard(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"", "", true}, {"", "a", false}, {"a*", "abc", true}, {"*c", "abc", true},
		{"a*c", "ac", true}, {"a*b*c", "aXbYbZc", true}, {"a*b*c", "aXbYbZ", false}, {"**", "x", true},
		{"https://*.example.com/*", "https://a.b.example.com/x", true}, {"a?c", "abc", false},
	} {
		if got := Wildcard(c.p, c.s); got != c.want || got != wildcardRE(c.p).MatchString(c.s) {
			t.Errorf("Wildcard(%q, %q) = %v, want %v", c.p, c.s, got, c.want)
		}
	}
}

// FuzzWildcard checks the matcher against regexp on arbitrary input.
func FuzzWildcard(f *testing.F) {
	f.Add("https://*.example.com/*", "https://a.example.com/b")
	f.Add("a*b*c", "aXbYc")
	f.Add("*", "")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if len(pattern) > 64 || len(s) > 256 || !utf8.ValidString(pattern) || !utf8.ValidString(s) {
			return // the regexp reference needs valid UTF-8; Wildcard itself works on bytes
		}
		if got, want := Wildcard(pattern, s), wildcardRE(pattern).MatchString(s); got != want {
			t.Fatalf("Wildcard(%q, %q) = %v, regexp says %v", pattern, s, got, want)
		}
	})
}

// FuzzRuleMatches: any rule on any URL evaluates without panicking, and the
// negative operators are exact complements of the positive ones.
func FuzzRuleMatches(f *testing.F) {
	f.Add("https://x.test/a?b=c", "url", "contains", "", "/a")
	f.Add("https://x.test/?q=%ZZ&q", "query_param", "is_not", "q", "")
	f.Add("//", "contact_property", "starts_with", "plan", "p")
	f.Fuzz(func(t *testing.T, url, kind, op, name, value string) {
		v := visit(url)
		v.Contact = map[string]string{"plan": value}
		r := Rule{Kind: kind, Op: op, Name: name, Value: value}
		got := RuleMatches(r, v)
		if kind == RuleURL || kind == RuleDevice {
			switch op {
			case OpIs:
				r.Op = OpIsNot
			case OpContains:
				r.Op = OpNotContains
			default:
				return
			}
			if RuleMatches(r, v) == got {
				t.Fatalf("%+v and its negation agree (%v) on %q", r, got, url)
			}
		}
	})
}

func TestLowerASCIILowersOnlyASCIILetters(t *testing.T) {
	for in, want := range map[string]string{"": "", "abc": "abc", "HeLLo/PATH?Q=X": "hello/path?q=x", "ÄÖÜ München": "ÄÖÜ münchen", "[@`{": "[@`{"} {
		if got := lowerASCII(in); got != want {
			t.Errorf("lowerASCII(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRulesIgnoreCaseBeyondASCII(t *testing.T) {
	r := Rule{Kind: RuleContactProperty, Op: OpIs, Name: "city", Value: "MÜNCHEN"}
	if !RuleMatches(r, Visit{Contact: map[string]string{"city": "münchen"}}) {
		t.Fatal("contact property comparison is case-sensitive for non-ASCII letters")
	}
}

func TestReferrerAndPageViewRules(t *testing.T) {
	v := visit("https://shop.example/pricing")
	v.Referrer, v.PageViews = "https://www.Google.com/search?q=shoes", 3
	none := visit("https://shop.example/")
	none.PageViews = 1
	cases := []struct {
		rule      Rule
		v         Visit
		want      bool
		described string
	}{
		{Rule{Kind: RuleReferrer, Op: OpContains, Value: "google.com"}, v, true, "contains, ignoring case"},
		{Rule{Kind: RuleReferrer, Op: OpNotContains, Value: "google.com"}, v, false, "not contains"},
		{Rule{Kind: RuleReferrer, Op: OpStartsWith, Value: "https://www.google"}, v, true, "starts with"},
		{Rule{Kind: RuleReferrer, Op: OpEndsWith, Value: "shoes"}, v, true, "ends with"},
		{Rule{Kind: RuleReferrer, Op: OpWildcard, Value: "https://*.google.*/*"}, v, true, "wildcard"},
		{Rule{Kind: RuleReferrer, Op: OpIs, Value: "https://www.google.com/search?q=shoes"}, v, true, "is"},
		{Rule{Kind: RuleReferrer, Op: OpIsNot, Value: "https://bing.com/"}, v, true, "is not"},
		{Rule{Kind: RuleReferrer, Op: OpContains, Value: ""}, none, false, "no referrer: a positive rule fails"},
		{Rule{Kind: RuleReferrer, Op: OpNotContains, Value: "google"}, none, true, "no referrer: a negative rule holds"},
		{Rule{Kind: RulePageViews, Op: OpGreaterThan, Value: "2"}, v, true, "3 > 2"},
		{Rule{Kind: RulePageViews, Op: OpGreaterThan, Value: "3"}, v, false, "3 > 3"},
		{Rule{Kind: RulePageViews, Op: OpLessThan, Value: "2"}, none, true, "1 < 2"},
		{Rule{Kind: RulePageViews, Op: OpLessThan, Value: "x"}, none, false, "not a number"},
		{Rule{Kind: RulePageViews, Op: OpIs, Value: "3"}, v, true, "is 3"},
		{Rule{Kind: RulePageViews, Op: OpIsNot, Value: "3"}, v, false, "is not 3"},
		{Rule{Kind: RulePageViews, Op: OpStartsWith, Value: "1"}, none, true, "starts with"},
		{Rule{Kind: RulePageViews, Op: OpWildcard, Value: "*"}, v, true, "wildcard"},
	}
	for _, c := range cases {
		if got := RuleMatches(c.rule, c.v); got != c.want {
			t.Errorf("%s: %+v = %v, want %v", c.described, c.rule, got, c.want)
		}
	}
}

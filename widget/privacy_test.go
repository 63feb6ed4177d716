package widget

import (
	"reflect"
	"strings"
	"testing"
)

func notices(cookieMode, dataMode string) Consents {
	c := Consents{Communication: &ConsentNotice{Kind: ConsentCommunication, Version: "m1"}}
	if cookieMode != "" {
		c.Cookie = &ConsentNotice{Kind: ConsentCookie, Mode: cookieMode, Version: "c1"}
	}
	if dataMode != "" {
		c.DataProcessing = &ConsentNotice{Kind: ConsentDataProcessing, Mode: dataMode, Version: "d1"}
	}
	return c
}

func TestStorageOnlyAfterCookieConsentAndNeverWhenIdentified(t *testing.T) {
	for _, c := range []struct {
		name                string
		cookieMode, choice  string
		email, token        string
		refused             bool // the welcome did not identify
		store, banner, exit bool
	}{
		{name: "undecided", cookieMode: ConsentBeforeChat, banner: true},
		{name: "declined", cookieMode: ConsentBeforeChat, choice: DecisionRefused},
		{name: "accepted", cookieMode: ConsentBeforeChat, choice: DecisionGranted, store: true},
		{name: "no cookie consent asked", store: true},
		{name: "exit intent mode", cookieMode: ConsentExitIntent, exit: true},
		{name: "identified", cookieMode: ConsentBeforeChat, email: "a@b.example", token: "t"},
		{name: "identified, accepted earlier", cookieMode: ConsentBeforeChat, choice: DecisionGranted, email: "a@b.example", token: "t"},
		{name: "identified, no consent asked", email: "a@b.example", token: "t"},
		{name: "email without token", cookieMode: ConsentBeforeChat, email: "a@b.example", banner: true},
		{name: "identification refused", cookieMode: ConsentBeforeChat, email: "a@b.example", token: "t", refused: true, banner: true},
	} {
		s := newTestSession()
		s.Consents = notices(c.cookieMode, "")
		s.CookieChoice, s.IDEmail, s.IDToken = c.choice, c.email, c.token
		if c.refused {
			s.Receive(Frame{Type: FrameWelcome, Token: "anon", Warning: "expired"})
			if s.Warning != "expired" || s.Identified {
				t.Errorf("%s: welcome not applied: %+v", c.name, s)
			}
		}
		if got := s.MayStore(); got != c.store {
			t.Errorf("%s: MayStore = %v, want %v", c.name, got, c.store)
		}
		if got := s.ShowCookieBanner(true, false); got != c.banner {
			t.Errorf("%s: banner with the window open = %v, want %v", c.name, got, c.banner)
		}
		if got := s.ShowCookieBanner(false, true); got != c.exit {
			t.Errorf("%s: banner on exit intent = %v, want %v", c.name, got, c.exit)
		}
	}
}

func TestIdentificationGoesIntoHello(t *testing.T) {
	s := newTestSession()
	s.IDEmail, s.IDToken = "ann@example.com", "tok"
	h := s.Hello()
	if h.Email != "ann@example.com" || h.IDToken != "tok" {
		t.Fatalf("hello %+v", h)
	}
	props := Properties{"plan": "pro"}
	s.Receive(Frame{Type: FrameWelcome, Token: "v", Identified: true, Properties: &props})
	if !s.Identified || s.Properties["plan"] != "pro" || !s.Identifying() || s.MayStore() {
		t.Fatalf("after an identifying welcome: %+v", s)
	}
}

func TestCookieChoiceCookieHoldsNoIdentifier(t *testing.T) {
	for _, d := range []string{DecisionGranted, DecisionRefused} {
		set := CookieChoiceSetCookie(d)
		if !strings.HasPrefix(set, CookieChoiceCookie+"="+d+";") {
			t.Errorf("Set-Cookie for %s: %q", d, set)
		}
		if got := CookieChoice("a=1; " + strings.Split(set, ";")[0] + "; b=2"); got != d {
			t.Errorf("CookieChoice after %s = %q", d, got)
		}
	}
	if CookieChoiceSetCookie("anything") != CookieChoiceSetCookie(DecisionRefused) {
		t.Error("an unknown decision is not stored as a refusal")
	}
	for _, c := range []string{"", "parley-cookie-consent=maybe", "xparley-cookie-consent=granted", "hide-welcome-message=1"} {
		if got := CookieChoice(c); got != "" {
			t.Errorf("CookieChoice(%q) = %q", c, got)
		}
	}
}

func TestStoredChatRoundTripsAndRefusesJunk(t *testing.T) {
	c := StoredChat{Chatflow: "cf", Token: "tok", Conversation: "conv", LastSeq: 42}
	back, ok := ParseStoredChat(c.String())
	if !ok || back != c {
		t.Fatalf("round trip: %+v %v", back, ok)
	}
	for _, s := range []string{"", "tok", "p1\ncf\n\nconv\n1", "p2\ncf\ntok\nconv\n1", "p1\ncf\ntok\nconv\n-1", "p1\ncf\ntok\nconv\nx", "p1\ncf\ntok\nconv"} {
		if _, ok := ParseStoredChat(s); ok {
			t.Errorf("ParseStoredChat(%q) accepted", s)
		}
	}
}

func TestExplicitConsentGatesSending(t *testing.T) {
	s := newTestSession()
	s.Consents = notices("", ConsentExplicit)
	if !s.SendBlocked() {
		t.Fatal("sending allowed before I agree")
	}
	// Agreed before the socket is up: the decision goes first after welcome.
	u, ok := s.Decide(ConsentDataProcessing, DecisionGranted)
	if !ok || len(u.Send) != 0 || s.SendBlocked() {
		t.Fatalf("Decide while idle: %+v %v blocked=%v", u, ok, s.SendBlocked())
	}
	mustSend(t, s, "hi")
	u = s.Receive(Frame{Type: FrameWelcome, Token: "t"})
	if got := ids(u.Send); len(got) != 2 || !strings.HasPrefix(got[0], "consent:") || !strings.HasPrefix(got[1], "send:") {
		t.Fatalf("after welcome: %v", got)
	}
	c := u.Send[0]
	if c.Kind != ConsentDataProcessing || c.Decision != DecisionGranted || c.Version != "d1" || c.Page != "https://example.com/" {
		t.Fatalf("consent frame %+v", c)
	}
	// The server refused the send anyway (the text changed): it is kept
	// and goes again once the visitor agrees to the current text.
	s.Receive(Frame{Type: FrameError, Code: ErrConsentRequired, ID: u.Send[1].ID})
	if !s.SendBlocked() || view(s) != "visitor:hi?" || s.Unsent() != 1 {
		t.Fatalf("after consent_required: blocked=%v %q unsent=%d", s.SendBlocked(), view(s), s.Unsent())
	}
	u, _ = s.Decide(ConsentDataProcessing, DecisionGranted)
	u = s.Receive(Frame{Type: FrameConsent, ID: u.Send[0].ID, Kind: ConsentDataProcessing, Decision: DecisionGranted, Version: "d1"})
	if got := ids(u.Send); len(got) != 1 || !strings.HasPrefix(got[0], "send:") {
		t.Fatalf("after the grant: %v", got)
	}
	// The next page: the welcome says the visitor agreed to this text, so
	// nothing is asked; a welcome naming an older text does not count.
	next := newTestSession()
	next.Consents = notices("", ConsentExplicit)
	next.Receive(Frame{Type: FrameWelcome, Token: "t", Version: "d0"})
	if !next.SendBlocked() {
		t.Fatal("agreeing to an older text let the visitor send")
	}
	next.Receive(Frame{Type: FrameWelcome, Token: "t", Version: "d1"})
	if next.SendBlocked() {
		t.Fatal("asked again on the next page after agreeing")
	}
	// Legitimate interest never blocks.
	s.Consents = notices("", ConsentLegitimateInterest)
	s.dataGranted = ""
	if s.SendBlocked() {
		t.Fatal("legitimate interest blocks sending")
	}
}

func TestStaleConsentAsksAgain(t *testing.T) {
	s := newTestSession()
	s.Consents = notices(ConsentBeforeChat, "")
	s.Receive(Frame{Type: FrameWelcome, Token: "t"})
	u, _ := s.Decide(ConsentCookie, DecisionGranted)
	if s.CookieChoice != DecisionGranted || len(u.Send) != 1 {
		t.Fatalf("cookie decision: %q %v", s.CookieChoice, ids(u.Send))
	}
	s.Receive(Frame{Type: FrameError, Code: ErrStaleConsent, ID: u.Send[0].ID})
	if !s.StaleConsent() || s.StaleConsent() {
		t.Fatal("StaleConsent does not report once")
	}
	if s.CookieChoice != "" || !s.ShowCookieBanner(true, false) {
		t.Fatal("the banner does not show again after a stale consent")
	}
	if _, ok := (&Session{}).Decide(ConsentCookie, DecisionGranted); ok {
		t.Fatal("a decision on a notice that is off")
	}
}

func TestSurvey(t *testing.T) {
	s := newTestSession()
	s.Receive(Frame{Type: FrameWelcome, Token: "t"})
	if s.SurveyState() != SurveyNone {
		t.Fatal("a survey before one was asked")
	}
	s.Receive(Frame{Type: FrameSurvey, Survey: 7, Question: "How did we do?", Scale: ScaleEmoji})
	if s.SurveyState() != SurveyAsking || s.Survey.Question != "How did we do?" {
		t.Fatalf("survey %+v", s.Survey)
	}
	if _, err := s.AnswerSurvey(0, ""); err == nil {
		t.Fatal("no score accepted")
	}
	u, err := s.AnswerSurvey(4, "ignored: no comments on this survey")
	if err != nil || len(u.Send) != 1 || u.Send[0] != (Frame{Type: FrameSurveyAnswer, Survey: 7, Score: 4}) {
		t.Fatalf("answer: %v %+v", err, u.Send)
	}
	// A reconnect before the answer is stored sends it again.
	s.Closed(1006)
	u = s.Receive(Frame{Type: FrameWelcome, Token: "t"})
	s.Receive(Frame{Type: FrameSurvey, Survey: 7, Question: "How did we do?", Scale: ScaleEmoji})
	if len(u.Send) != 1 || u.Send[0].Type != FrameSurveyAnswer || s.SurveyState() != SurveySending {
		t.Fatalf("resend: %v %v", ids(u.Send), s.SurveyState())
	}
	s.Receive(Frame{Type: FrameSurveyAnswer, Survey: 7, Score: 4})
	if s.SurveyState() != SurveyThanked {
		t.Fatalf("state %v after the answer was stored", s.SurveyState())
	}
	if ScoreLabel(ScaleEmoji, 1) != "😞" || ScoreLabel(ScaleNumeric, 5) != "5" {
		t.Fatal("score labels")
	}
	s.Receive(Frame{Type: FrameSurvey, Survey: 8, Question: "Again?", AllowComment: true})
	if _, err := s.AnswerSurvey(3, strings.Repeat("x", MaxSurveyComment+1)); err == nil {
		t.Fatal("an overlong comment accepted")
	}
	s.Receive(Frame{Type: FrameError, Code: ErrNoSurvey})
	if s.SurveyState() != SurveyNone {
		t.Fatal("no_survey does not hide the survey")
	}
}

func TestMessageExtrasAndQuickReplies(t *testing.T) {
	s := newTestSession()
	s.Receive(Frame{Type: FrameWelcome, Token: "t", Conversation: "c"})
	qr := QuickReplies{"Sales", "Support"}
	s.Receive(Frame{Type: FrameMessage, Seq: 1, From: FromBot, Text: "Which team?", QuickReplies: &qr})
	if k := s.QuickRepliesKey(); k == "" || !reflect.DeepEqual(s.Entries()[0].QuickReplies, []string{"Sales", "Support"}) {
		t.Fatalf("quick replies not offered: %q", k)
	}
	mustSend(t, s, "Sales")
	if s.QuickRepliesKey() != "" {
		t.Fatal("quick replies still offered under an older message")
	}
	at := &Attachment{ID: "a", Name: "x.pdf", URL: "/v1/attachments/a", Size: 2048}
	s.Receive(Frame{Type: FrameMessage, Seq: 2, From: FromBot, Text: "See", Link: "/v1/sites/demo/kb/1/articles/2", LinkTitle: "Returns", Attachment: at})
	e := s.Entries()[1]
	if e.Link == "" || e.LinkTitle != "Returns" || e.Attachment != at {
		t.Fatalf("entry %+v", e)
	}
}

func TestUploadNeedsAConversation(t *testing.T) {
	s := newTestSession()
	if _, err := s.Uploading("a.png"); err == nil || s.StatusLine() == "" {
		t.Fatal("an upload without a conversation")
	}
	s.Receive(Frame{Type: FrameWelcome, Token: "t", Conversation: "c"})
	id, err := s.Uploading("a.png")
	if err != nil || !strings.HasPrefix(id, "p-") || !strings.Contains(s.StatusLine(), "a.png") {
		t.Fatalf("Uploading: %q %v %q", id, err, s.StatusLine())
	}
	for code, want := range map[string]string{UploadTooLarge: "too large", UploadBadType: "cannot be sent", ErrForbidden: "Files cannot", "": ""} {
		s.Uploaded(code)
		if got := s.StatusLine(); want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("Uploaded(%q): %q", code, got)
		}
	}
	if HumanSize(812) != "812 B" || HumanSize(4200) != "4.2 KB" || HumanSize(3_100_000) != "3.1 MB" {
		t.Errorf("sizes %s %s %s", HumanSize(812), HumanSize(4200), HumanSize(3_100_000))
	}
}

func TestHelpSnippetsLinksAndHrefs(t *testing.T) {
	got := SnippetParts("Pay by &lt;card&gt; &amp; <mark>bank</mark> transfer <b>x</b>")
	want := []SnippetPart{{"Pay by <card> & ", false}, {"bank", true}, {" transfer <b>x</b>", false}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SnippetParts = %#v", got)
	}
	for link, ok := range map[string]bool{
		"/v1/sites/demo/kb/3/articles/12": true, "/v1/sites/other/kb/3/articles/12": false,
		"https://evil.example/v1/sites/demo/kb/3/articles/12": false, "/v1/sites/demo/kb/x/articles/1": false,
		"/v1/sites/demo/kb/3/articles/": false, "/v1/sites/demo/kb/3/articles/1/../../x": false,
	} {
		if ArticlePath(link, "demo") != ok {
			t.Errorf("ArticlePath(%q) = %v", link, !ok)
		}
	}
	for href, ok := range map[string]bool{
		"https://example.com/privacy": true, "http://example.com": true, "HTTPS://EXAMPLE.COM": true,
		"javascript:alert(1)": false, " javascript:alert(1)": false, "data:text/html,x": false, "//evil": false,
		"https:///x": false, "https://": false, "java\tscript:x": false, "/privacy": false,
	} {
		if SafeHref(href) != ok {
			t.Errorf("SafeHref(%q) = %v", href, !ok)
		}
	}
}

func TestMayKeepVisit(t *testing.T) {
	pageViews := Targeting{Groups: []RuleGroup{{Rules: []Rule{{Kind: RulePageViews, Op: OpGreaterThan, Value: "2"}}}}}
	referrer := Targeting{Exclusions: []Rule{{Kind: RuleReferrer, Op: OpContains, Value: "ads"}}}
	urlOnly := Targeting{Groups: []RuleGroup{{Rules: []Rule{{Kind: RuleURL, Op: OpContains, Value: "/pricing"}}}}}
	banner := Consents{Cookie: &ConsentNotice{}}
	cfg := func(fs ...ChatflowConfig) *Config { return &Config{Chatflows: fs} }
	for _, c := range []struct {
		name        string
		cfg         *Config
		choice      string
		identifying bool
		want        bool
	}{
		{"no config yet", nil, "", false, false},
		{"no rule needs the visit", cfg(ChatflowConfig{Targeting: urlOnly}), DecisionGranted, false, false},
		{"page views, no banner asked", cfg(ChatflowConfig{Targeting: pageViews}), "", false, true},
		{"referrer exclusion, no banner asked", cfg(ChatflowConfig{Targeting: referrer}), "", false, true},
		{"banner asked, not answered", cfg(ChatflowConfig{Targeting: pageViews, Consents: banner}), "", false, false},
		{"banner asked by another chatflow, refused", cfg(ChatflowConfig{Targeting: pageViews}, ChatflowConfig{Consents: banner}), DecisionRefused, false, false},
		{"banner accepted", cfg(ChatflowConfig{Targeting: pageViews, Consents: banner}), DecisionGranted, false, true},
		{"identified visitor", cfg(ChatflowConfig{Targeting: pageViews}), DecisionGranted, true, false},
	} {
		if got := MayKeepVisit(c.cfg, c.choice, c.identifying); got != c.want {
			t.Errorf("%s: MayKeepVisit = %v, want %v", c.name, got, c.want)
		}
	}
}

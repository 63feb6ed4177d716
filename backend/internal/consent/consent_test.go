package consent_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/consent"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

func TestEveryWidgetLanguageHasEveryDefaultText(t *testing.T) {
	for _, lang := range chatflow.Languages {
		d, ok := consent.Defaults[lang]
		if !ok {
			t.Errorf("%s: no default texts", lang)
			continue
		}
		v := reflect.ValueOf(d)
		for i := 0; i < v.NumField(); i++ {
			if strings.TrimSpace(v.Field(i).String()) == "" {
				t.Errorf("%s: %s is empty", lang, v.Type().Field(i).Name)
			}
		}
		if !strings.Contains(d.CommunicationLabel, consent.CompanyPlaceholder) {
			t.Errorf("%s: the communication label does not name the company", lang)
		}
		if lang != "en" && d.Cookie == consent.Defaults["en"].Cookie {
			t.Errorf("%s: the cookie text is the English one", lang)
		}
	}
	if consent.For("xx").Cookie != consent.Defaults["en"].Cookie {
		t.Error("an unknown language does not fall back to English")
	}
}

func TestMarkupStaysText(t *testing.T) {
	text := `<b>Bold</b> <img src=x onerror="alert(1)"> & <a href="javascript:alert(1)">click</a>`
	parts := consent.Render(text, "", "Privacy", true)
	want := []consent.Part{{Text: text}}
	if !reflect.DeepEqual(parts, want) {
		t.Fatalf("parts %#v, want the text untouched as one plain part", parts)
	}
}

func TestOnlyHTTPLinksBecomeLinks(t *testing.T) {
	for _, bad := range []string{
		"javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
		"data:text/html,<script>alert(1)</script>", "vbscript:msgbox", "//evil.example/x", "/privacy",
		"https://user:pw@bank.example", "https:evil", "http://", "https://exa mple.com", `https:\\evil.example`,
	} {
		if got := consent.SafeURL(bad); got != "" {
			t.Errorf("SafeURL(%q) = %q, want refused", bad, got)
		}
		for _, text := range []string{"We process data.", "Read our " + consent.PrivacyPlaceholder + " first."} {
			for _, p := range consent.Render(text, bad, "Privacy policy", true) {
				if p.Href != "" {
					t.Errorf("Render(%q, %q) made a link: %#v", text, bad, p)
				}
			}
		}
	}
	for _, good := range []string{"https://example.com/privacy", "http://example.com/p?x=1#a", "HTTPS://Example.com/privacy"} {
		if consent.SafeURL(good) == "" {
			t.Errorf("SafeURL(%q) refused", good)
		}
	}
}

func TestPrivacyLinkPlacement(t *testing.T) {
	const url = "https://example.com/privacy"
	got := consent.Render("We store your data.", url, "Privacy policy", true)
	want := []consent.Part{{Text: "We store your data. "}, {Text: "Privacy policy", Href: url}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("appended: %#v", got)
	}
	got = consent.Render("Read our "+consent.PrivacyPlaceholder+" before chatting.", url, "policy", true)
	want = []consent.Part{{Text: "Read our "}, {Text: "policy", Href: url}, {Text: " before chatting."}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("placeholder: %#v", got)
	}
	got = consent.Render("Read our "+consent.PrivacyPlaceholder+" before chatting.", "javascript:alert(1)", "policy", true)
	want = []consent.Part{{Text: "Read our before chatting."}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("unsafe link in placeholder: %#v", got)
	}
	if p := consent.Plain([]consent.Part{{Text: "See "}, {Text: "policy", Href: url}}); p != "See policy ("+url+")" {
		t.Errorf("Plain: %q", p)
	}
}

func opts() widget.Options { return chatflow.Default().Options }

func TestTextsResolveDefaultsLanguageAndCustomText(t *testing.T) {
	acct := &store.Account{Name: "Acme Ltd"}
	o := opts()
	p := consent.Texts("nl", o, acct)
	if p.Cookie == nil || p.DataProcessing == nil {
		t.Fatal("the default chatflow has both consents on")
	}
	if p.Communication != nil {
		t.Error("communication consent is off by default")
	}
	nl := consent.Defaults["nl"]
	if p.Cookie.Text != nl.Cookie || p.Cookie.Accept != nl.CookieAccept || p.Cookie.Decline != nl.CookieDecline || p.Cookie.Mode != widget.ConsentBeforeChat {
		t.Errorf("cookie notice %+v", p.Cookie)
	}
	if p.DataProcessing.Text != nl.DataLegitimate || p.DataProcessing.Accept != "" || p.DataProcessing.Mode != widget.ConsentLegitimateInterest {
		t.Errorf("legitimate-interest notice %+v: the text shows, no button", p.DataProcessing)
	}

	o.DataConsent = widget.DataConsent{Enabled: true, Type: widget.ConsentExplicit, Text: "We need <your> data.", PrivacyURL: "https://acme.example/privacy"}
	p = consent.Texts("de", o, acct)
	d := p.DataProcessing
	if d.Accept != consent.Defaults["de"].DataAgree || d.Mode != widget.ConsentExplicit {
		t.Errorf("explicit notice %+v", d)
	}
	want := []consent.Part{{Text: "We need <your> data. "}, {Text: consent.Defaults["de"].PrivacyLink, Href: "https://acme.example/privacy"}}
	if !reflect.DeepEqual(d.Parts, want) {
		t.Errorf("parts %#v", d.Parts)
	}
	before := d.Version

	// Reset to default: an empty text.
	o.DataConsent.Text = ""
	p = consent.Texts("de", o, acct)
	if !strings.HasPrefix(p.DataProcessing.Text, consent.Defaults["de"].DataExplicit) {
		t.Errorf("reset text %q", p.DataProcessing.Text)
	}
	if p.DataProcessing.Version == before || p.DataProcessing.Version == "" {
		t.Error("the version does not follow the text")
	}
	if n, ok := consent.Shown("de", o, acct, store.ConsentDataProcessing, before); ok || n == nil {
		t.Error("an old version is taken for the current text")
	}
	if n, ok := consent.Shown("de", o, acct, store.ConsentDataProcessing, p.DataProcessing.Version); !ok || n.Text != p.DataProcessing.Text {
		t.Error("the current version is not recognised")
	}

	o.CookieConsent.Enabled, o.DataConsent.Enabled = false, false
	if p := consent.Texts("en", o, acct); p.Cookie != nil || p.DataProcessing != nil {
		t.Error("consents turned off still show")
	}
}

func TestCommunicationLabelNamesTheCompany(t *testing.T) {
	o := opts()
	o.CommunicationConsent = widget.CommunicationConsent{Enabled: true, SubscriptionTypeID: 3}
	for _, c := range []struct {
		acct *store.Account
		want string
	}{
		{&store.Account{CompanyName: "Acme BV", Name: "acme-account", CompanyDomain: "acme.example"}, "Acme BV"},
		{&store.Account{Name: "acme-account", CompanyDomain: "acme.example"}, "acme-account"},
		{&store.Account{CompanyDomain: "acme.example"}, "acme.example"},
		{&store.Account{}, "us"},
	} {
		p := consent.Texts("en", o, c.acct)
		if p.Communication == nil {
			t.Fatal("communication consent with a subscription type is off")
		}
		if want := strings.ReplaceAll(consent.Defaults["en"].CommunicationLabel, "{company}", c.want); p.Communication.Text != want {
			t.Errorf("label %q, want %q", p.Communication.Text, want)
		}
	}
	o.CommunicationConsent.Label = "Send me <b>{company}</b> news"
	p := consent.Texts("fr", o, &store.Account{CompanyName: "Acme"})
	if p.Communication.Text != "Send me <b>Acme</b> news" {
		t.Errorf("custom label %q", p.Communication.Text)
	}
	o.CommunicationConsent.SubscriptionTypeID = 0
	if consent.Texts("en", o, &store.Account{}).Communication != nil {
		t.Error("a checkbox without a subscription type shows")
	}
}

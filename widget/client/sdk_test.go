package client

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/widget"
)

type mapStorage map[string]string

func (m mapStorage) Load(k string) string { return m[k] }
func (m mapStorage) Save(k, v string)     { m[k] = v }
func (m mapStorage) Remove(k string)      { delete(m, k) }

// TestConsentGatesSendsAndStorage: with explicit data-processing consent a
// message waits (nothing on the wire) until the visitor agrees and the
// server records it; nothing is stored on the device before the cookie
// notice is accepted; after a refusal Send refuses with a sentence.
func TestConsentGatesSendsAndStorage(t *testing.T) {
	srv := &scriptServer{t: t, conns: make(chan *websocket.Conn, 4), frames: make(chan widget.Frame, 64)}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	dp := &widget.ConsentNotice{Kind: widget.ConsentDataProcessing, Mode: widget.ConsentExplicit, Version: "d1", Accept: "I agree",
		Parts: []widget.ConsentPart{{Text: "We process "}, {Text: "policy", Href: "https://x.example/p"}, {Text: "bad", Href: "javascript:alert(1)"}}}
	cf := &Chatflow{ID: "cf", Language: "nl", edge: hs.URL, site: "demo", cfg: widget.ChatflowConfig{ID: "cf", Language: "nl",
		Consents: widget.Consents{DataProcessing: dp, Cookie: &widget.ConsentNotice{Kind: widget.ConsentCookie, Mode: widget.ConsentBeforeChat, Version: "c1"}}}}
	n := cf.Consent(ConsentDataProcessing)
	if n.Text() != "We process policybad" || n.PartLink(1) != "https://x.example/p" || n.PartLink(2) != "" {
		t.Fatalf("notice %q, links %q %q", n.Text(), n.PartLink(1), n.PartLink(2))
	}
	rec := &recorder{}
	c, err := cf.NewChat(rec)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st := mapStorage{}
	c.SetStorage(st)
	c.Connect()
	conn := <-srv.conns
	srv.next(widget.FrameHello)
	write(t, conn, widget.Frame{Type: widget.FrameWelcome, Token: "secret-token"})
	rec.wait(t, "state connected")

	id, err := c.Send("held")
	if err != nil || !c.SendBlocked() {
		t.Fatalf("send %v, blocked %v", err, c.SendBlocked())
	}
	if err := c.Agree(ConsentDataProcessing); err != nil {
		t.Fatal(err)
	}
	if f := srv.next(widget.FrameConsent); f.Kind != widget.ConsentDataProcessing || f.Version != "d1" {
		t.Fatalf("consent %+v", f)
	}
	write(t, conn, widget.Frame{Type: widget.FrameConsent, Kind: widget.ConsentDataProcessing, Decision: widget.DecisionGranted, Version: "d1"})
	if f := srv.next(widget.FrameSend); f.ID != id {
		t.Fatalf("the held message went out as %+v", f)
	}
	for _, v := range st {
		if strings.Contains(v, "secret-token") {
			t.Fatal("the token was stored before the cookie notice was accepted")
		}
	}
	c.Agree(ConsentCookie)
	if !strings.Contains(st["parley:demo:chat"], "secret-token") {
		t.Fatalf("after accepting cookies the storage holds %q", st)
	}
	c.Refuse(ConsentCookie)
	if _, ok := st["parley:demo:chat"]; ok {
		t.Fatal("refusing cookies kept the stored chat")
	}
	c.Refuse(ConsentDataProcessing)
	if _, err := c.Send("after refusing"); err == nil || !strings.Contains(err.Error(), "geweigerd") {
		t.Fatalf("send after refusing: %v, want the Dutch sentence", err)
	}
}

func TestArticleSanitised(t *testing.T) {
	in := `<h2>Returns</h2><p>Within <strong>30 days</strong>, see <a href="javascript:alert(1)" onclick="x()">this</a> or <a href="https://x.example/r">that</a>.</p>` +
		`<script>alert(1)</script><style>p{}</style><ul><li>One</li><li>Two &amp; three</li></ul><img src=x onerror=alert(1)>`
	html, text := sanitise(in)
	for _, bad := range []string{"script", "style", "onclick", "onerror", "javascript", "alert"} {
		if strings.Contains(html, bad) {
			t.Errorf("sanitised HTML holds %q: %s", bad, html)
		}
	}
	if !strings.Contains(html, `<a href="https://x.example/r">that</a>`) || !strings.Contains(html, "<strong>30 days</strong>") {
		t.Errorf("lost formatting: %s", html)
	}
	want := "Returns\n\nWithin 30 days, see this or that.\n\n• One\n• Two & three"
	if text != want {
		t.Errorf("text %q, want %q", text, want)
	}
}

func TestSentencesInFiveLanguages(t *testing.T) {
	for lang, word := range map[string]string{"en": "Send", "nl": "Versturen", "de": "Senden", "fr": "Envoyer", "es": "Enviar", "xx": "Send"} {
		if got := Sentence(lang, "send"); got != word {
			t.Errorf("%s: send is %q, want %q", lang, got, word)
		}
	}
}

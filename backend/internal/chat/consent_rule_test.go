package chat_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parleychat/parley/widget"
)

// Every path that takes a visitor's data follows one consent rule: a file,
// like a message, is refused to a visitor who refused data processing
// after agreeing, and to one whose agreement was to an earlier text; an
// address left in the chat too. Nothing is stored.
func TestUploadFollowsTheConsentRuleOfSend(t *testing.T) {
	w := newWorld(t)
	w.setFlow(t, "live_agent", strings.Replace(explicitConsent, `"options":{`, `"options":{"attachments":true,`, 1))
	notice := w.published(t).Consents.DataProcessing
	api := httptest.NewServer(w.engine.AttachmentHandler())
	t.Cleanup(api.Close)

	l := w.link(t)
	s := l.open()
	s.send(hello("", "", 0))
	token := s.next(t, widget.FrameWelcome).Token
	s.send(widget.Frame{Type: widget.FrameConsent, ID: "c1", Kind: widget.ConsentDataProcessing, Decision: widget.DecisionGranted, Version: notice.Version})
	s.next(t, widget.FrameConsent)
	s.send(widget.Frame{Type: widget.FrameSend, ID: "m1", Text: "Hello"})
	conv := s.next(t, widget.FrameAck).Conversation
	s.next(t, widget.FrameMessage)
	fields := map[string]string{"site": "site_a", "conversation": conv, "id": "f1"}
	if status, out := upload(t, api.URL, token, fields, "a.png", pngBytes); status != http.StatusCreated {
		t.Fatalf("upload after agreeing: %d %v", status, out)
	}
	s.next(t, widget.FrameMessage)

	// The visitor withdraws: no file, no address, no message.
	s.send(widget.Frame{Type: widget.FrameConsent, ID: "c2", Kind: widget.ConsentDataProcessing, Decision: widget.DecisionRefused, Version: notice.Version})
	s.next(t, widget.FrameConsent)
	before := w.count(t, `SELECT count(*) FROM messages`)
	fields["id"] = "f2"
	status, out := upload(t, api.URL, token, fields, "b.png", pngBytes)
	if status != http.StatusForbidden || out["error"] != widget.ErrConsentRequired {
		t.Fatalf("upload after refusing: %d %v, want 403 consent_required", status, out)
	}
	s.send(widget.Frame{Type: widget.FrameEmail, ID: "e1", Email: "ann@example.com"})
	s.errorCode(t, widget.ErrConsentRequired)
	s.send(widget.Frame{Type: widget.FrameSend, ID: "m2", Text: "Still me"})
	s.errorCode(t, widget.ErrConsentRequired)
	if n := w.count(t, `SELECT count(*) FROM messages`); n != before {
		t.Fatalf("%d messages stored after the refusal", n-before)
	}
	if n := w.count(t, `SELECT count(*) FROM visitors WHERE claimed_email <> ''`); n != 0 {
		t.Fatalf("the address was kept after the refusal")
	}

	// Agreeing again, then the text changes: the earlier agreement does not cover the new text.
	s.send(widget.Frame{Type: widget.FrameConsent, ID: "c3", Kind: widget.ConsentDataProcessing, Decision: widget.DecisionGranted, Version: notice.Version})
	s.next(t, widget.FrameConsent)
	fields["id"] = "f3"
	if status, out := upload(t, api.URL, token, fields, "c.png", pngBytes); status != http.StatusCreated {
		t.Fatalf("upload after agreeing again: %d %v", status, out)
	}
	w.setFlow(t, "live_agent", strings.Replace(strings.Replace(explicitConsent, `"options":{`, `"options":{"attachments":true,`, 1), "answer you", "answer you and improve", 1))
	fields["id"] = "f4"
	if status, out := upload(t, api.URL, token, fields, "d.png", pngBytes); status != http.StatusForbidden || out["error"] != widget.ErrConsentRequired {
		t.Fatalf("upload after the text changed: %d %v, want 403 consent_required", status, out)
	}
}

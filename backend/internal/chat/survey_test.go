package chat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/chat"
	"github.com/parleychat/parley/backend/internal/routing"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// linkSurvey creates a chat survey and links it to the world's chatflow.
func (w *world) linkSurvey(t *testing.T, allowComment bool) *store.Survey {
	t.Helper()
	sv := &store.Survey{AccountID: w.account.ID, Name: "CSAT", Delivery: store.SurveyDeliveryChat,
		Question: "How did we do?", Scale: store.SurveyScaleEmoji, AllowComment: allowComment}
	must(t, w.st.CreateSurvey(context.Background(), sv))
	_, err := w.db.Exec(`UPDATE chatflows SET settings = jsonb_build_object('options', jsonb_build_object('survey_id', $1::bigint, 'attachments', true)) WHERE id = $2`, sv.ID, w.cfID)
	must(t, err)
	return sv
}

func TestClosingSendsTheSurveyAndTheAnswerIsStoredOnce(t *testing.T) {
	w := newWorld(t)
	sv := w.linkSurvey(t, true)
	l := w.link(t)
	s, token, convID := w.chat(t, l, "Where is my parcel?")
	c := w.conversation(t, convID)

	// Answering before the close: there is nothing to answer yet.
	s.send(widget.Frame{Type: widget.FrameSurveyAnswer, Survey: sv.ID, Score: 5})
	s.errorCode(t, widget.ErrNoSurvey)

	must(t, routing.Close(context.Background(), w.st, w.account.ID, c.ID))
	// Closed at once, then the survey.
	if f := s.next(t, widget.FrameClosed); f.Conversation != convID || f.LastSeq < 1 {
		t.Fatalf("closed frame %+v", f)
	}
	f := s.next(t, widget.FrameSurvey)
	if f.Survey != sv.ID || f.Question != "How did we do?" || f.Scale != widget.ScaleEmoji || !f.AllowComment {
		t.Fatalf("survey frame %+v", f)
	}

	// Out of range: refused with a reason, nothing stored.
	s.send(widget.Frame{Type: widget.FrameSurveyAnswer, Survey: sv.ID, Score: 6})
	s.errorCode(t, widget.ErrBadAnswer)
	s.send(widget.Frame{Type: widget.FrameSurveyAnswer, Survey: sv.ID + 1000, Score: 4})
	s.errorCode(t, widget.ErrNoSurvey)

	s.send(widget.Frame{Type: widget.FrameSurveyAnswer, Survey: sv.ID, Score: 4, Comment: " Quick <b>and</b> kind "})
	a := s.next(t, widget.FrameSurveyAnswer)
	if a.Score != 4 || a.Comment != "Quick <b>and</b> kind" {
		t.Fatalf("answer frame %+v", a)
	}
	// A retry of the same answer is harmless; a different one is refused.
	s.send(widget.Frame{Type: widget.FrameSurveyAnswer, Survey: sv.ID, Score: 4, Comment: "Quick <b>and</b> kind"})
	s.next(t, widget.FrameSurveyAnswer)
	s.send(widget.Frame{Type: widget.FrameSurveyAnswer, Survey: sv.ID, Score: 1})
	s.errorCode(t, widget.ErrNoSurvey)

	rs, sum, err := w.st.SurveyResponses(context.Background(), w.account.ID, sv.ID, 10)
	must(t, err)
	if len(rs) != 1 || rs[0].Score != 4 || sum.Responses != 1 || sum.Average != 4 || sum.CSAT != 100 {
		t.Fatalf("responses %+v, summary %+v", rs, sum)
	}
	// The answer is in the agents' thread, as a note the visitor never gets.
	var note string
	must(t, w.db.Get(&note, `SELECT body FROM messages WHERE conversation_id = $1 AND author_type = 'system' AND internal AND body LIKE 'Satisfaction%'`, c.ID))
	if !strings.Contains(note, "🙂 (4/5)") || !strings.Contains(note, "Quick <b>and</b> kind") {
		t.Fatalf("thread note %q", note)
	}
	s.quiet(t, 200*time.Millisecond)

	// A new socket resuming the answered conversation gets no survey again.
	again := l.open()
	again.send(hello(token, convID, 1))
	again.next(t, widget.FrameWelcome)
	again.next(t, widget.FrameClosed)
	again.quiet(t, 300*time.Millisecond)
}

func TestSurveyIsOfferedOnResumeUntilAnswered(t *testing.T) {
	w := newWorld(t)
	sv := w.linkSurvey(t, false)
	l := w.link(t)
	s, token, convID := w.chat(t, l, "hi")
	c := w.conversation(t, convID)
	must(t, routing.Close(context.Background(), w.st, w.account.ID, c.ID))
	s.next(t, widget.FrameClosed)
	s.next(t, widget.FrameSurvey)

	// The visitor reloads: the end and the survey come again after welcome.
	r := l.open()
	r.send(hello(token, convID, 1))
	r.next(t, widget.FrameWelcome)
	r.next(t, widget.FrameClosed)
	if f := r.next(t, widget.FrameSurvey); f.Survey != sv.ID || f.AllowComment {
		t.Fatalf("survey on resume %+v", f)
	}
	// This survey takes no comment.
	r.send(widget.Frame{Type: widget.FrameSurveyAnswer, Survey: sv.ID, Score: 2, Comment: "meh"})
	r.errorCode(t, widget.ErrBadAnswer)
	r.send(widget.Frame{Type: widget.FrameSurveyAnswer, Survey: sv.ID, Score: 2})
	r.next(t, widget.FrameSurveyAnswer)
}

// TestClosingIsToldAtOnce: without a survey the visitor still learns of
// the end at once, once; their next message, refused as closed, starts a
// new conversation when sent again.
func TestClosingIsToldAtOnce(t *testing.T) {
	w := newWorld(t)
	l := w.link(t)
	s, _, convID := w.chat(t, l, "hi")
	must(t, routing.Close(context.Background(), w.st, w.account.ID, w.conversation(t, convID).ID))
	if f := s.next(t, widget.FrameClosed); f.Conversation != convID || f.LastSeq < 1 {
		t.Fatalf("closed frame %+v", f)
	}
	s.quiet(t, 500*time.Millisecond) // no survey, no second closed
	s.send(widget.Frame{Type: widget.FrameSend, ID: "m2", Text: "one more thing"})
	if e := s.next(t, widget.FrameError); e.Code != widget.ErrConvClosed || e.ID != "m2" {
		t.Fatalf("send after the close: %+v", e)
	}
	s.send(widget.Frame{Type: widget.FrameSend, ID: "m2", Text: "one more thing"})
	if ack := s.next(t, widget.FrameAck); ack.Conversation == convID || ack.Conversation == "" || ack.Seq != 1 {
		t.Fatalf("the resend did not start a new conversation: %+v", ack)
	}
}

// upload posts a file as the widget would.
func upload(t *testing.T, url, token string, fields map[string]string, name string, data []byte) (int, map[string]any) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if data != nil {
		fw, _ := mw.CreateFormFile("file", name)
		fw.Write(data)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", url+chat.AttachmentPath, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

var pngBytes = append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...)

func TestVisitorAttachmentsUploadDownloadAndLimits(t *testing.T) {
	w := newWorld(t, func(c *chat.Config) { c.MaxAttachmentBytes = 1 << 10 })
	api := httptest.NewServer(w.engine.AttachmentHandler())
	t.Cleanup(api.Close)
	l := w.link(t)
	s, token, convID := w.chat(t, l, "here is a screenshot")
	fields := map[string]string{"site": "site_a", "conversation": convID, "id": "f1"}

	status, out := upload(t, api.URL, token, fields, "../../shot.png", pngBytes)
	if status != http.StatusCreated {
		t.Fatalf("upload: %d %v", status, out)
	}
	// It reaches the visitor's socket as a message carrying the file.
	m := s.next(t, widget.FrameMessage)
	if m.Attachment == nil || m.Attachment.Name != "shot.png" || m.Attachment.Type != "image/png" || m.Text != "shot.png" {
		t.Fatalf("message %+v %+v", m, m.Attachment)
	}
	// A retry with the same id stores nothing new.
	if status, again := upload(t, api.URL, token, fields, "shot.png", pngBytes); status != http.StatusCreated || again["seq"] != out["seq"] {
		t.Fatalf("retry: %d %v, first %v", status, again, out)
	}

	get := func(path, tok string) (int, string, http.Header) {
		req, _ := http.NewRequest("GET", api.URL+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	code, body, h := get(m.Attachment.URL, token)
	if code != 200 || body != string(pngBytes) || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment") ||
		h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("download: %d %q %v", code, body, h)
	}
	// Another visitor, or nobody, cannot fetch it.
	otherToken := func() string {
		o := l.open()
		o.send(hello("", "", 0))
		return o.next(t, widget.FrameWelcome).Token
	}()
	if code, _, _ := get(m.Attachment.URL, otherToken); code != http.StatusForbidden {
		t.Fatalf("another visitor's download: %d", code)
	}
	if code, _, _ := get(m.Attachment.URL, ""); code != http.StatusUnauthorized {
		t.Fatalf("download without token: %d", code)
	}
	// Into someone else's conversation: forbidden.
	if status, _ := upload(t, api.URL, otherToken, fields, "x.png", pngBytes); status != http.StatusForbidden {
		t.Fatalf("upload into another's conversation: %d", status)
	}
	// Too big, and of a type not allowed (HTML named .png): refused, nothing stored.
	fields["id"] = "f2"
	if status, out := upload(t, api.URL, token, fields, "big.png", append(pngBytes, make([]byte, 2<<10)...)); status != http.StatusRequestEntityTooLarge || out["error"] != "too_large" {
		t.Fatalf("too big: %d %v", status, out)
	}
	if status, out := upload(t, api.URL, token, fields, "evil.png", []byte("<html><script>alert(1)</script>")); status != http.StatusUnsupportedMediaType || out["error"] != "bad_type" {
		t.Fatalf("html: %d %v", status, out)
	}
	var n int
	must(t, w.db.Get(&n, `SELECT count(*) FROM attachments`))
	if n != 1 {
		t.Fatalf("%d attachments stored, want 1", n)
	}

	// The chatflow turns attachments off: refused.
	_, err := w.db.Exec(`UPDATE chatflows SET settings = '{"options":{"attachments":false}}' WHERE id = $1`, w.cfID)
	must(t, err)
	fields["id"] = "f3"
	if status, out := upload(t, api.URL, token, fields, "shot.png", pngBytes); status != http.StatusForbidden {
		t.Fatalf("attachments off: %d %v", status, out)
	}
}

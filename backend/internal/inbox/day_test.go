package inbox_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parleychat/parley/backend/internal/inbox"
	pwrule "github.com/parleychat/parley/backend/internal/password"
	"github.com/parleychat/parley/backend/internal/store"
)

// seatInA gives u a seat and membership of inbox A (alice's).
func (e *env) seatInA(u *store.User) {
	e.t.Helper()
	if _, err := e.db.Exec(`UPDATE users SET has_seat = true WHERE id = $1`, u.ID); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.db.Exec(`INSERT INTO inbox_members (inbox_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, e.inboxA, u.ID); err != nil {
		e.t.Fatal(err)
	}
}

func (b *browser) post(path string, form url.Values) page {
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", b.csrf)
	return b.do("POST", path, form, nil)
}

func TestViewsCountsAndSearch(t *testing.T) {
	e := setup(t, inbox.Config{})
	e.seatInA(e.alice)
	e.seatInA(e.bob)
	c1, p1 := e.conversation(e.inboxA, "Vera")
	e.say(c1, "My parcel never arrived")
	c2, p2 := e.conversation(e.inboxA, "Nina")
	e.say(c2, "Invoice question")
	if _, err := e.db.Exec(`WITH ct AS (INSERT INTO contacts (account_id, email, name) VALUES ($1, 'nina@shop.example', '') RETURNING id)
		UPDATE conversations SET contact_id = (SELECT id FROM ct) WHERE id = $2`, e.account, c2); err != nil {
		t.Fatal(err)
	}
	c3, p3 := e.conversation(e.inboxB, "Otto") // bob's other inbox: never alice's
	e.say(c3, "parcel")
	a := e.signedIn(e.alice)

	// Assign c1 to alice herself: mine 1, unassigned 1, open 2.
	if p := a.post(fmt.Sprintf("/inbox/conversations/%d/assign", c1), url.Values{"assignee": {fmt.Sprint("user:", e.alice.ID)}}); p.status != http.StatusSeeOther {
		t.Fatalf("assign: %d %s", p.status, p.body)
	}
	p := a.get("/inbox?view=mine")
	if !strings.Contains(p.body, p1) || strings.Contains(p.body, p2) || !strings.Contains(p.body, `data-count="mine">1<`) ||
		!strings.Contains(p.body, `data-count="unassigned">1<`) || !strings.Contains(p.body, `data-count="open">2<`) {
		t.Fatalf("mine view:\n%s", p.body)
	}
	if p := a.get("/inbox?view=unassigned"); !strings.Contains(p.body, p2) || strings.Contains(p.body, p1) {
		t.Fatalf("unassigned view:\n%s", p.body)
	}
	if p := a.get(fmt.Sprintf("/inbox?view=inbox&inbox=%d", e.inboxB)); p.status != http.StatusForbidden {
		t.Fatalf("another team's inbox view: %d", p.status)
	}
	// Search: message text, visitor name, contact email; never another inbox.
	for q, want := range map[string]string{"parcel": p1, "vera": p1, "nina@shop.example": p2, "shop.example": p2, "invoice": p2} {
		p := a.get("/inbox?q=" + url.QueryEscape(q))
		if !strings.Contains(p.body, want) || strings.Contains(p.body, p3) {
			t.Fatalf("search %q:\n%s", q, p.body)
		}
	}
	if p := a.get("/inbox?q=" + url.QueryEscape(`"unbalanced & | !`)); p.status != 200 || !strings.Contains(p.body, "Nothing matches") {
		t.Fatalf("odd search: %d", p.status)
	}

	// Reassign to Bob: it leaves alice's mine view and enters Bob's.
	if p := a.post(fmt.Sprintf("/inbox/conversations/%d/assign", c1), url.Values{"assignee": {fmt.Sprint("user:", e.bob.ID)}}); p.status != http.StatusSeeOther {
		t.Fatalf("reassign: %d", p.status)
	}
	if p := a.get("/inbox?view=mine"); strings.Contains(p.body, p1) {
		t.Fatal("still in alice's mine view")
	}
	b := e.signedIn(e.bob)
	if p := b.get("/inbox?view=mine"); !strings.Contains(p.body, p1) {
		t.Fatalf("not in bob's mine view:\n%s", p.body)
	}
	// Close: in the closed view, out of the open ones; reopen brings it back.
	if p := a.post(fmt.Sprintf("/inbox/conversations/%d/close", c2), nil); p.status != http.StatusSeeOther {
		t.Fatalf("close: %d", p.status)
	}
	if p := a.get("/inbox?view=closed"); !strings.Contains(p.body, p2) || !strings.Contains(p.body, `data-count="closed">1<`) {
		t.Fatalf("closed view:\n%s", p.body)
	}
	if p := a.get("/inbox"); strings.Contains(p.body, p2) {
		t.Fatal("closed conversation in the open view")
	}
	if p := a.post(fmt.Sprintf("/inbox/conversations/%d/reopen", c2), nil); p.status != http.StatusSeeOther {
		t.Fatalf("reopen: %d", p.status)
	}
	if p := a.get("/inbox?view=unassigned"); !strings.Contains(p.body, p2) {
		t.Fatal("reopened conversation not back")
	}
}

func TestActionsNeedCSRFAndMembership(t *testing.T) {
	e := setup(t, inbox.Config{})
	conv, _ := e.conversation(e.inboxA, "Vera")
	e.say(conv, "hello")
	a := e.signedIn(e.alice)
	b := e.signedIn(e.bob) // not in inbox A
	base := fmt.Sprintf("/inbox/conversations/%d", conv)
	for _, path := range []string{"/assign", "/close", "/reopen", "/ticket"} {
		// No token: refused, whoever asks.
		if p := a.do("POST", base+path, url.Values{"assignee": {fmt.Sprint("user:", e.alice.ID)}}, nil); p.status != http.StatusForbidden {
			t.Fatalf("%s without CSRF: %d", path, p.status)
		}
		if p := b.post(base+path, url.Values{"assignee": {fmt.Sprint("user:", e.bob.ID)}}); p.status != http.StatusForbidden {
			t.Fatalf("%s by an outsider: %d", path, p.status)
		}
	}
	if p := a.do("POST", "/inbox/me/status", url.Values{"status": {"available"}}, nil); p.status != http.StatusForbidden {
		t.Fatalf("status without CSRF: %d", p.status)
	}
	for _, path := range []string{"", "/transcript"} {
		if p := b.get(base + path); p.status != http.StatusForbidden {
			t.Fatalf("outsider GET %s: %d", path, p.status)
		}
	}
	var status string
	e.db.Get(&status, `SELECT status FROM conversations WHERE id = $1`, conv)
	if status != "open" {
		t.Fatalf("status %s after refused actions", status)
	}
	// An agent cannot publish chatflows from the pages; the form is not even shown.
	var cf int64
	e.db.Get(&cf, `INSERT INTO chatflows (account_id, public_id, name, channel, inbox_id, type) VALUES ($1, 'cf_x', 'Web', 'website', $2, 'live_agent') RETURNING id`, e.account, e.inboxA)
	if p := a.get("/inbox/chatflows"); strings.Contains(p.body, "toggle-chatflow") {
		t.Fatal("agent sees the publish button")
	}
	if p := a.post(fmt.Sprintf("/inbox/chatflows/%d/enabled", cf), url.Values{"enabled": {"1"}}); p.status != http.StatusForbidden {
		t.Fatalf("agent publishes: %d", p.status)
	}
	e.db.Exec(`UPDATE users SET role = 'editor' WHERE id = $1`, e.alice.ID)
	if p := a.post(fmt.Sprintf("/inbox/chatflows/%d/enabled", cf), url.Values{"enabled": {"1"}}); p.status != http.StatusSeeOther {
		t.Fatalf("editor publishes: %d %s", p.status, p.body)
	}
}

// sendFile posts a file from the thread's upload form.
func (b *browser) sendFile(path, name string, data []byte, csrf bool) page {
	b.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if csrf {
		mw.WriteField("csrf_token", b.csrf)
	}
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", b.e.srv.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, string(raw), resp}
}

func TestAgentAttachmentsAndPanel(t *testing.T) {
	e := setup(t, inbox.Config{MaxAttachmentBytes: 2 << 10})
	conv, _ := e.conversation(e.inboxA, `<img src=x onerror=alert(1)>`)
	e.say(conv, "<script>alert(2)</script>")
	e.db.Exec(`UPDATE conversations SET referrer = 'https://search.example/?q=<b>', user_agent = 'Mozilla/5.0 (iPhone) Mobile Safari/604.1' WHERE id = $1`, conv)
	e.db.Exec(`INSERT INTO tickets (account_id, conversation_id) VALUES ($1, $2)`, e.account, conv)
	a := e.signedIn(e.alice)
	path := fmt.Sprintf("/inbox/conversations/%d", conv)
	th := a.get(path)
	for _, want := range []string{`&lt;img src=x onerror=alert(1)&gt;`, `&lt;script&gt;alert(2)&lt;/script&gt;`, `https://search.example/?q=&lt;b&gt;`, "Mobile · Safari", `id="ticket"`} {
		if !strings.Contains(th.body, want) {
			t.Fatalf("thread lacks %q:\n%s", want, th.body)
		}
	}
	if strings.Contains(th.body, "<img src=x") || strings.Contains(th.body, "<script>alert") {
		t.Fatal("visitor text rendered as HTML")
	}

	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 32)...)
	if p := a.sendFile(path+"/attachments", "shot.png", png, false); p.status != http.StatusForbidden {
		t.Fatalf("upload without CSRF: %d", p.status)
	}
	if p := a.sendFile(path+"/attachments", "page.png", []byte("<html><script>x</script>"), true); p.status != http.StatusUnsupportedMediaType {
		t.Fatalf("html upload: %d", p.status)
	}
	if p := a.sendFile(path+"/attachments", "big.png", append(png, make([]byte, 4<<10)...), true); p.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("big upload: %d", p.status)
	}
	if p := a.sendFile(path+"/attachments", "shot.png", png, true); p.status != http.StatusSeeOther {
		t.Fatalf("upload: %d %s", p.status, p.body)
	}
	var pub string
	e.db.Get(&pub, `SELECT public_id FROM attachments WHERE conversation_id = $1`, conv)
	th = a.get(path)
	// A picture shows inline, bounded, and opens full size.
	if !strings.Contains(th.body, `<a class="thumb" href="/inbox/attachments/`+pub+`?inline=1"`) ||
		!strings.Contains(th.body, `<img src="/inbox/attachments/`+pub+`?inline=1" alt="shot.png"`) {
		t.Fatalf("thumbnail missing:\n%s", th.body)
	}
	if p := a.get("/inbox/attachments/" + pub + "?inline=1"); p.status != 200 || p.body != string(png) ||
		p.resp.Header.Get("Content-Disposition") != "inline" || p.resp.Header.Get("Content-Type") != "image/png" ||
		!strings.Contains(p.resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("inline picture: %d %v", p.status, p.resp.Header)
	}
	if p := a.get("/inbox/attachments/" + pub); p.status != 200 || p.body != string(png) || p.resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("download: %d", p.status)
	}
	b := e.signedIn(e.bob)
	if p := b.get("/inbox/attachments/" + pub); p.status != http.StatusForbidden {
		t.Fatalf("outsider download: %d", p.status)
	}

	// Ticket properties are editable; bad lines are refused with the text kept.
	p := a.post(path+"/ticket", url.Values{"subject": {"Parcel"}, "pipeline": {"support"}, "status": {"waiting"}, "priority": {"high"}, "properties": {"order=A-17\ncarrier = DHL"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("ticket: %d %s", p.status, p.body)
	}
	var props, tstatus string
	e.db.QueryRow(`SELECT properties::text, status FROM tickets WHERE conversation_id = $1`, conv).Scan(&props, &tstatus)
	if tstatus != "waiting" || !strings.Contains(props, `"carrier": "DHL"`) {
		t.Fatalf("ticket stored %s %s", tstatus, props)
	}
	if p := a.post(path+"/ticket", url.Values{"pipeline": {"support"}, "status": {"new"}, "priority": {"low"}, "properties": {"no equals sign"}}); p.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad ticket line: %d", p.status)
	}

	// The transcript is what the visitor saw: no internal notes.
	e.st.AppendMessage(context.Background(), store.NewMessage{ConversationID: conv, AuthorType: store.AuthorAgent, AuthorID: e.alice.ID, Internal: true, Body: "secret note"})
	tr := a.get(path + "/transcript")
	if tr.status != 200 || !strings.Contains(tr.body, "<script>alert(2)</script>") || strings.Contains(tr.body, "secret note") ||
		!strings.Contains(tr.body, "[file: shot.png") || !strings.HasPrefix(tr.resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("transcript: %d\n%s", tr.status, tr.body)
	}
}

func TestSignInThrottleAndPasswordReset(t *testing.T) {
	e := setup(t, inbox.Config{LoginMaxFailures: 3})
	a := e.signedIn(e.alice) // a session the reset must end
	b := e.browser()
	for i := 0; i < 3; i++ {
		if p := b.signIn(e.alice.Email, "wrong"); p.status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d", i, p.status)
		}
	}
	// Even the right password is refused now, with a clear reason.
	if p := b.signIn(e.alice.Email, password); p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "Too many failed sign-ins") {
		t.Fatalf("throttled: %d", p.status)
	}
	// Another user is not affected.
	if p := e.browser().signIn(e.bob.Email, password); p.status != http.StatusSeeOther {
		t.Fatalf("bob: %d", p.status)
	}
	if _, err := inbox.ResetPassword(context.Background(), e.st, "alice@example.com", "short"); err == nil {
		t.Fatal("short password accepted")
	}
	generated, err := inbox.ResetPassword(context.Background(), e.st, "ALICE@example.com", "")
	if err != nil || len(generated) < pwrule.MinLen {
		t.Fatalf("reset: %q %v", generated, err)
	}
	if p := a.get("/inbox"); p.status != http.StatusSeeOther {
		t.Fatalf("old session after reset: %d", p.status)
	}
	if p := e.browser().signIn(e.alice.Email, generated); p.status != http.StatusSeeOther {
		t.Fatalf("sign in with the new password: %d %s", p.status, p.body)
	}
	if _, err := inbox.ResetPassword(context.Background(), e.st, "nobody@example.com", ""); err == nil {
		t.Fatal("reset of an unknown email")
	}
}

func TestOwnStatusSavedRepliesAndSurveyPage(t *testing.T) {
	e := setup(t, inbox.Config{})
	a := e.signedIn(e.alice)
	if p := a.post("/inbox/me/status", url.Values{"status": {"available"}, "max_open_chats": {"7"}, "next": {"/inbox?view=mine"}}); p.status != http.StatusSeeOther || location(p) != "/inbox?view=mine" {
		t.Fatalf("status: %d %q", p.status, location(p))
	}
	u, _ := e.st.User(context.Background(), e.account, e.alice.ID)
	if u.Status != "available" || u.MaxOpenChats != 7 {
		t.Fatalf("user %+v", u)
	}
	if p := a.post("/inbox/me/status", url.Values{"status": {"asleep"}}); p.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad status: %d", p.status)
	}
	if p := a.post("/inbox/replies", url.Values{"shortcut": {"Bad Shortcut"}, "body": {"x"}}); p.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad shortcut: %d", p.status)
	}
	if p := a.post("/inbox/replies", url.Values{"shortcut": {"/refund"}, "body": {"Your <b>refund</b> is on its way."}}); p.status != http.StatusSeeOther {
		t.Fatalf("saved reply: %d %s", p.status, p.body)
	}
	conv, _ := e.conversation(e.inboxA, "Vera")
	if th := a.get(fmt.Sprintf("/inbox/conversations/%d", conv)); !strings.Contains(th.body, `data-shortcut="refund"`) || !strings.Contains(th.body, `Your &lt;b&gt;refund&lt;/b&gt; is on its way.`) {
		t.Fatalf("saved reply not offered:\n%s", th.body)
	}

	sv := &store.Survey{AccountID: e.account, Name: "CSAT", Delivery: "chat", Question: "How did we do?", Scale: "numeric", AllowComment: true}
	if err := e.st.CreateSurvey(context.Background(), sv); err != nil {
		t.Fatal(err)
	}
	e.db.Exec(`UPDATE conversations SET status = 'closed' WHERE id = $1`, conv)
	if _, _, err := e.st.AnswerSurvey(context.Background(), sv.ID, conv, 5, `<script>alert(3)</script>`, "note"); err != nil {
		t.Fatal(err)
	}
	p := a.get(fmt.Sprintf("/inbox/surveys/%d", sv.ID))
	if p.status != 200 || !strings.Contains(p.body, `id="survey-average">5.00<`) || !strings.Contains(p.body, `id="survey-csat">100.0%<`) ||
		!strings.Contains(p.body, "&lt;script&gt;alert(3)&lt;/script&gt;") || strings.Contains(p.body, "<script>alert(3)") {
		t.Fatalf("survey page: %d\n%s", p.status, p.body)
	}
}

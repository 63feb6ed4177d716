package inbox_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/backend/internal/inbox"
	pwrule "github.com/parleychat/parley/backend/internal/password"
	"github.com/parleychat/parley/backend/internal/store"
)

// addUser adds a user who signs in with the test password.
func (e *env) addUser(account int64, email, role string) *store.User {
	e.t.Helper()
	hash, err := pwrule.Hash(password)
	if err != nil {
		e.t.Fatal(err)
	}
	u := &store.User{AccountID: account, Email: email, Name: strings.Split(email, "@")[0], PasswordHash: hash, Role: role}
	if err := e.st.CreateUser(context.Background(), u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// savedReply is the stored shortcut and text of saved reply id ("" once deleted).
func (e *env) savedReply(id int64) string {
	e.t.Helper()
	var s string
	e.db.Get(&s, `SELECT '/' || shortcut || '=' || body FROM saved_replies WHERE id = $1`, id)
	return s
}

func (e *env) replyID(shortcut string, author *store.User) int64 {
	e.t.Helper()
	var id int64
	if err := e.db.Get(&id, `SELECT id FROM saved_replies WHERE shortcut = $1 AND author_id = $2`, shortcut, author.ID); err != nil {
		e.t.Fatalf("saved reply /%s: %v", shortcut, err)
	}
	return id
}

// composer is the thread's saved-replies picker as b sees it.
func (b *browser) composer(conv int64) string {
	b.e.t.Helper()
	p := b.get(fmt.Sprintf("/inbox/conversations/%d", conv))
	if p.status != http.StatusOK {
		b.e.t.Fatalf("thread: %d %s", p.status, p.body)
	}
	start := strings.Index(p.body, `<select id="saved-replies">`)
	if start < 0 {
		return ""
	}
	return p.body[start : start+strings.Index(p.body[start:], "</select>")]
}

func TestSharedSavedRepliesAcrossTheTeam(t *testing.T) {
	e := setup(t, inbox.Config{})
	e.seatInA(e.bob) // alice's teammate in inbox A, an agent like her
	carol := e.addUser(e.account, "carol@example.com", store.RoleAdmin)
	other := &store.Account{Name: "Other"}
	if err := e.st.CreateAccount(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	dave := e.addUser(other.ID, "dave@other.example", store.RoleAdmin)
	conv, _ := e.conversation(e.inboxA, "Vera")
	a, b, c, d := e.signedIn(e.alice), e.signedIn(e.bob), e.signedIn(carol), e.signedIn(dave)

	for _, f := range []url.Values{
		{"shortcut": {"hi"}, "body": {"Hi, Alice here."}, "visibility": {"personal"}},
		{"shortcut": {"refund"}, "body": {"Your <b>refund</b> is on its way."}, "visibility": {"shared"}},
	} {
		if p := a.post("/inbox/replies", f); p.status != http.StatusSeeOther {
			t.Fatalf("save %v: %d %s", f, p.status, p.body)
		}
	}
	hi, refund := e.replyID("hi", e.alice), e.replyID("refund", e.alice)

	// Bob is offered the shared reply, marked and escaped, and not Alice's personal one.
	pick := b.composer(conv)
	if !strings.Contains(pick, `<option value="Your &lt;b&gt;refund&lt;/b&gt; is on its way." data-shortcut="refund" data-shared>/refund (shared) — Your &lt;b&gt;refund&lt;/b&gt; is on its way.</option>`) ||
		strings.Contains(pick, "Alice here") {
		t.Fatalf("bob's saved replies:\n%s", pick)
	}
	if pick := a.composer(conv); !strings.Contains(pick, `data-shortcut="hi">/hi — Hi, Alice here.`) || !strings.Contains(pick, "/refund (shared)") {
		t.Fatalf("alice's saved replies:\n%s", pick)
	}
	// Picking inserts the option's text; sending it is an ordinary reply.
	if p := b.post(fmt.Sprintf("/inbox/conversations/%d/messages", conv), url.Values{"text": {"Your <b>refund</b> is on its way."}, "client_id": {"r1"}}); p.status != http.StatusSeeOther {
		t.Fatalf("reply with the shared text: %d", p.status)
	}
	var sent string
	e.db.Get(&sent, `SELECT body FROM messages WHERE conversation_id = $1 AND author_id = $2`, conv, e.bob.ID)
	if sent != "Your <b>refund</b> is on its way." {
		t.Fatalf("bob sent %q", sent)
	}
	// On the replies page Bob sees it as Alice's, without Edit or Delete.
	p := b.get("/inbox/replies")
	if !strings.Contains(p.body, `data-scope="shared">Shared by Alice Agent<`) || strings.Contains(p.body, "Alice here") ||
		strings.Contains(p.body, fmt.Sprintf("/inbox/replies/%d/", refund)) {
		t.Fatalf("bob's replies page:\n%s", p.body)
	}

	// Alice edits it from its edit page: Bob's composer shows the new text.
	edit := a.get(fmt.Sprintf("/inbox/replies/%d/edit", refund))
	if edit.status != http.StatusOK || !strings.Contains(edit.body, fmt.Sprintf(`action="/inbox/replies/%d"`, refund)) ||
		!strings.Contains(edit.body, `value="shared" checked`) || !strings.Contains(edit.body, ">Your &lt;b&gt;refund&lt;/b&gt; is on its way.</textarea>") {
		t.Fatalf("edit page: %d\n%s", edit.status, edit.body)
	}
	if p := a.post(fmt.Sprintf("/inbox/replies/%d", refund), url.Values{"shortcut": {"refund"}, "body": {"Refunds take 5 days."}, "visibility": {"shared"}}); p.status != http.StatusSeeOther {
		t.Fatalf("alice edits: %d %s", p.status, p.body)
	}
	if pick := b.composer(conv); !strings.Contains(pick, `data-shortcut="refund" data-shared>/refund (shared) — Refunds take 5 days.`) || strings.Contains(pick, "on its way") {
		t.Fatalf("bob's saved replies after the edit:\n%s", pick)
	}

	// Bob, not admin, may neither edit nor delete it; Alice's personal one is unknown to him.
	for _, try := range []struct {
		method, path string
		status       int
	}{
		{"GET", fmt.Sprintf("/inbox/replies/%d/edit", refund), http.StatusForbidden},
		{"POST", fmt.Sprintf("/inbox/replies/%d", refund), http.StatusForbidden},
		{"POST", fmt.Sprintf("/inbox/replies/%d/delete", refund), http.StatusForbidden},
		{"GET", fmt.Sprintf("/inbox/replies/%d/edit", hi), http.StatusNotFound},
		{"POST", fmt.Sprintf("/inbox/replies/%d", hi), http.StatusNotFound},
		{"POST", fmt.Sprintf("/inbox/replies/%d/delete", hi), http.StatusNotFound},
	} {
		var p page
		if try.method == "GET" {
			p = b.get(try.path)
		} else {
			p = b.post(try.path, url.Values{"shortcut": {"refund"}, "body": {"Bob was here."}, "visibility": {"shared"}})
		}
		want := "Only its author or an admin can change or delete a shared reply."
		if try.status == http.StatusNotFound {
			want = "There is no such saved reply"
		}
		if p.status != try.status || !strings.Contains(p.body, want) {
			t.Fatalf("bob %s %s: %d\n%s", try.method, try.path, p.status, p.body)
		}
	}
	if got := e.savedReply(refund); got != "/refund=Refunds take 5 days." {
		t.Fatalf("shared reply after bob's tries: %q", got)
	}
	if got := e.savedReply(hi); got != "/hi=Hi, Alice here." {
		t.Fatalf("personal reply after bob's tries: %q", got)
	}

	// Another account sees none of them and changes nothing.
	if p := d.get("/inbox/replies"); strings.Contains(p.body, "refund") || strings.Contains(p.body, "Alice here") {
		t.Fatalf("another account's replies page:\n%s", p.body)
	}
	for _, id := range []int64{hi, refund} {
		if p := d.post(fmt.Sprintf("/inbox/replies/%d", id), url.Values{"shortcut": {"x"}, "body": {"Dave."}}); p.status != http.StatusNotFound {
			t.Fatalf("another account edits %d: %d", id, p.status)
		}
		if p := d.post(fmt.Sprintf("/inbox/replies/%d/delete", id), nil); p.status != http.StatusNotFound {
			t.Fatalf("another account deletes %d: %d", id, p.status)
		}
	}

	// Forms without the CSRF token are refused, whoever sends them.
	for _, path := range []string{"/inbox/replies", fmt.Sprintf("/inbox/replies/%d", refund), fmt.Sprintf("/inbox/replies/%d/delete", refund)} {
		if p := a.do("POST", path, url.Values{"shortcut": {"csrf"}, "body": {"No token."}, "visibility": {"shared"}}, nil); p.status != http.StatusForbidden {
			t.Fatalf("%s without CSRF: %d", path, p.status)
		}
	}
	var n int
	e.db.Get(&n, `SELECT count(*) FROM saved_replies`)
	if got := e.savedReply(refund); n != 2 || got != "/refund=Refunds take 5 days." {
		t.Fatalf("after CSRF-less posts: %d replies, %q", n, got)
	}

	// The admin may edit and delete it, but Alice's personal one stays hers.
	if p := c.get(fmt.Sprintf("/inbox/replies/%d/edit", refund)); p.status != http.StatusOK || strings.Contains(p.body, `name="visibility"`) {
		t.Fatalf("admin's edit page: %d\n%s", p.status, p.body)
	}
	if p := c.post(fmt.Sprintf("/inbox/replies/%d", refund), url.Values{"shortcut": {"refund"}, "body": {"Refunds take 2 days."}}); p.status != http.StatusSeeOther {
		t.Fatalf("admin edits: %d %s", p.status, p.body)
	}
	if pick := b.composer(conv); !strings.Contains(pick, "/refund (shared) — Refunds take 2 days.") {
		t.Fatalf("bob's saved replies after the admin's edit:\n%s", pick)
	}
	if p := c.post(fmt.Sprintf("/inbox/replies/%d/delete", hi), nil); p.status != http.StatusNotFound || e.savedReply(hi) == "" {
		t.Fatalf("admin deletes alice's personal reply: %d", p.status)
	}
	if p := c.post(fmt.Sprintf("/inbox/replies/%d/delete", refund), nil); p.status != http.StatusSeeOther || e.savedReply(refund) != "" {
		t.Fatalf("admin deletes: %d", p.status)
	}
	if pick := b.composer(conv); strings.Contains(pick, "refund") {
		t.Fatalf("deleted reply still offered:\n%s", pick)
	}
}

func TestSavedReplyFormsRefuseBadInput(t *testing.T) {
	e := setup(t, inbox.Config{})
	a := e.signedIn(e.alice)
	if p := a.post("/inbox/replies", url.Values{"shortcut": {"thanks"}, "body": {"Thank you!"}, "visibility": {"shared"}}); p.status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", p.status, p.body)
	}
	id := e.replyID("thanks", e.alice)
	edit := fmt.Sprintf("/inbox/replies/%d", id)
	long := strings.Repeat("é", inbox.MaxReplyRunes+1)
	for _, try := range []struct {
		name   string
		form   url.Values
		status int
		says   string
	}{
		{"empty text", url.Values{"shortcut": {"thanks"}, "body": {"  "}}, http.StatusUnprocessableEntity, "Write the reply&#39;s text"},
		{"long text", url.Values{"shortcut": {"thanks"}, "body": {long}}, http.StatusUnprocessableEntity, "The text is 4001 characters long; the limit is 4000."},
		{"empty shortcut", url.Values{"shortcut": {""}, "body": {"x"}}, http.StatusUnprocessableEntity, "A shortcut is 1 to 32"},
		{"long shortcut", url.Values{"shortcut": {strings.Repeat("a", 33)}, "body": {"x"}}, http.StatusUnprocessableEntity, "A shortcut is 1 to 32"},
		{"odd visibility", url.Values{"shortcut": {"thanks"}, "body": {"x"}, "visibility": {"public"}}, http.StatusUnprocessableEntity, "Choose who can use the reply"},
	} {
		for _, path := range []string{"/inbox/replies", edit} {
			p := a.post(path, try.form)
			if p.status != try.status || !strings.Contains(p.body, try.says) {
				t.Fatalf("%s to %s: %d\n%s", try.name, path, p.status, p.body)
			}
		}
	}
	// Refused forms keep what was typed, escaped.
	if p := a.post(edit, url.Values{"shortcut": {"Bad Shortcut"}, "body": {"<script>x()</script>"}}); !strings.Contains(p.body, ">&lt;script&gt;x()&lt;/script&gt;</textarea>") ||
		!strings.Contains(p.body, fmt.Sprintf(`action="%s"`, edit)) {
		t.Fatalf("refilled edit form:\n%s", p.body)
	}
	// A shortcut the team already shares.
	if p := a.post("/inbox/replies", url.Values{"shortcut": {"/Thanks"}, "body": {"Again."}, "visibility": {"shared"}}); p.status != http.StatusConflict ||
		!strings.Contains(p.body, "The team already shares a reply with the shortcut /thanks.") {
		t.Fatalf("taken shortcut: %d\n%s", p.status, p.body)
	}
	for _, path := range []string{"/inbox/replies/999999", "/inbox/replies/999999/delete", "/inbox/replies/abc", "/inbox/replies/abc/delete"} {
		if p := a.post(path, url.Values{"shortcut": {"thanks"}, "body": {"x"}}); p.status != http.StatusNotFound || !strings.Contains(p.body, "There is no such saved reply") {
			t.Fatalf("unknown %s: %d\n%s", path, p.status, p.body)
		}
	}
	var n int
	e.db.Get(&n, `SELECT count(*) FROM saved_replies`)
	if got := e.savedReply(id); n != 1 || got != "/thanks=Thank you!" {
		t.Fatalf("after refused forms: %d replies, %q", n, got)
	}
	// Alice's own shared reply can become personal again, and back.
	if p := a.post(edit, url.Values{"shortcut": {"thanks"}, "body": {"Thanks!"}, "visibility": {"personal"}}); p.status != http.StatusSeeOther {
		t.Fatalf("make personal: %d %s", p.status, p.body)
	}
	if p := a.get("/inbox/replies"); !strings.Contains(p.body, `data-scope="personal">Personal<`) {
		t.Fatalf("personal again:\n%s", p.body)
	}
}

// TestSharedSavedReplyInBrowser: a teammate picks a shared reply in the
// composer, from the list and by /shortcut + Tab, as before sharing existed.
func TestSharedSavedReplyInBrowser(t *testing.T) {
	e := setup(t, inbox.Config{})
	e.seatInA(e.bob)
	a := e.signedIn(e.alice)
	if p := a.post("/inbox/replies", url.Values{"shortcut": {"refund"}, "body": {"Your <b>refund</b> is on its way."}, "visibility": {"shared"}}); p.status != http.StatusSeeOther {
		t.Fatalf("save: %d", p.status)
	}
	a.post("/inbox/replies", url.Values{"shortcut": {"mine"}, "body": {"Alice only."}})
	conv, _ := e.conversation(e.inboxA, "Vera")
	ctx := browserCtx(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/inbox/conversations/%d", e.srv.URL, conv)),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "bob@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`button[data-action="login"]`)),
		chromedp.WaitVisible(chromedp.ID("saved-replies")),
		chromedp.Evaluate[chromedp.Void](`{
			const s = document.getElementById("saved-replies");
			s.value = s.querySelector('[data-shortcut="refund"]').value;
			s.dispatchEvent(new Event("change"));
		}`),
	)
	if err != nil {
		t.Fatalf("pick from the list: %v", err)
	}
	if box := eval[string](ctx, t, `document.getElementById("reply-text").value`); box != "Your <b>refund</b> is on its way." {
		t.Fatalf("after picking: %q", box)
	}
	options := eval[[]string](ctx, t, `[...document.getElementById("saved-replies").options].map((o) => o.textContent)`)
	if len(options) != 2 || options[1] != "/refund (shared) — Your <b>refund</b> is on its way." {
		t.Fatalf("options %q", options)
	}
	err = chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`document.getElementById("reply-text").value = ""`),
		chromedp.SendKeys(chromedp.ID("reply-text"), "Hello! /refund\t"),
	)
	if err != nil {
		t.Fatalf("shortcut + Tab: %v", err)
	}
	if box := eval[string](ctx, t, `document.getElementById("reply-text").value`); box != "Hello! Your <b>refund</b> is on its way." {
		t.Fatalf("after /refund + Tab: %q", box)
	}
}

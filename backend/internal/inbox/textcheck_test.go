package inbox_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parleychat/parley/backend/internal/inbox"
)

// Text that is not text (a NUL character, invalid UTF-8) in a query or a
// form of the inbox gets a page saying which field, never a 500, and
// nothing is stored.
func TestNULAndInvalidUTF8GetAClearPage(t *testing.T) {
	e := setup(t, inbox.Config{})
	e.seatInA(e.alice)
	conv, _ := e.conversation(e.inboxA, "Vera")
	e.say(conv, "hello")
	a := e.signedIn(e.alice)
	thread := fmt.Sprintf("/inbox/conversations/%d", conv)
	for _, bad := range []string{"\xff", "a\x00b"} {
		for _, c := range []struct {
			method, path, field string
			form                url.Values
		}{
			{"GET", "/inbox?q=" + url.QueryEscape(bad), "q", nil},
			{"GET", "/inbox?view=" + url.QueryEscape(bad), "view", nil},
			{"GET", thread + "?before=" + url.QueryEscape(bad), "before", nil},
			{"GET", "/inbox/conversations/" + url.PathEscape(bad), "id", nil},
			{"POST", thread + "/messages", "body", url.Values{"body": {bad}, "client_id": {"c1"}}},
			{"POST", thread + "/ticket", "subject", url.Values{"subject": {bad}, "pipeline": {"support"}, "status": {"new"}, "priority": {"low"}}},
			{"POST", "/inbox/replies", "shortcut", url.Values{"shortcut": {"/x" + bad}, "body": {"x"}}},
			{"POST", "/inbox/account/profile", "name", url.Values{"name": {bad}}},
			{"POST", "/inbox/me/status", "status", url.Values{"status": {bad}}},
		} {
			var p page
			if c.form != nil {
				p = a.post(c.path, c.form)
			} else {
				p = a.get(c.path)
			}
			if p.status != http.StatusBadRequest || !strings.Contains(p.body, `"`+c.field+`"`) || !strings.Contains(p.body, "not text") {
				t.Errorf("%s %s with %q: %d %s", c.method, c.path, bad, p.status, p.body)
			}
		}
		// Signing in, before any session.
		if p := e.browser().signIn(bad+"@example.com", "whatever-password"); p.status != http.StatusBadRequest || !strings.Contains(p.body, `"email"`) {
			t.Errorf("sign-in with %q: %d %s", bad, p.status, p.body)
		}
	}
	var n int
	e.db.Get(&n, `SELECT count(*) FROM messages WHERE conversation_id = $1`, conv)
	if n != 1 {
		t.Fatalf("%d messages: a refused reply was stored", n)
	}
}

package inbox_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/parleychat/parley/backend/internal/inbox"
)

// Looking at a thread (a GET) changes nothing; the page reports what the
// agent saw with a POST that needs the session's CSRF token.
func TestThreadViewIsNotAStateChange(t *testing.T) {
	e := setup(t, inbox.Config{})
	conv, _ := e.conversation(e.inboxA, "Vera")
	e.say(conv, "hello")
	last := e.say(conv, "anyone?")
	path := fmt.Sprintf("/inbox/conversations/%d", conv)
	agentRead := func() int64 {
		_, a, err := e.st.ReadPositions(context.Background(), conv)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := e.signedIn(e.alice)
	if p := a.get(path); p.status != http.StatusOK {
		t.Fatalf("thread: %d", p.status)
	}
	if r := agentRead(); r != 0 {
		t.Fatalf("a GET marked the thread read up to %d", r)
	}
	// A cross-site form cannot mark it: no token, refused.
	if p := a.do("POST", path+"/read", url.Values{"seq": {"2"}}, nil); p.status != http.StatusForbidden || agentRead() != 0 {
		t.Fatalf("read without a token: %d, read %d", p.status, agentRead())
	}
	if p := a.post(path+"/read", url.Values{"seq": {"x"}}); p.status != http.StatusBadRequest {
		t.Fatalf("read of no seq: %d", p.status)
	}
	// The page's script: header token, JSON answer; never past the last message.
	p := a.do("POST", path+"/read", url.Values{"seq": {"99"}}, map[string]string{"X-CSRF-Token": a.csrf, "Accept": "application/json"})
	if p.status != http.StatusNoContent || agentRead() != last.Seq {
		t.Fatalf("read: %d, read %d, want %d", p.status, agentRead(), last.Seq)
	}
	// Bob is not a member of inbox A.
	b := e.signedIn(e.bob)
	if p := b.post(path+"/read", url.Values{"seq": {"1"}}); p.status != http.StatusForbidden {
		t.Fatalf("a stranger's read: %d", p.status)
	}
}

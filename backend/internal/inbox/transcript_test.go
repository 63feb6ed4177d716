package inbox_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/parleychat/parley/backend/internal/inbox"
	"github.com/parleychat/parley/backend/internal/store"
)

// A visitor cannot make a line of the downloaded transcript read as
// someone else's: every line that starts a message is one the transcript
// wrote for a real message.
func TestTranscriptAuthorsCannotBeForged(t *testing.T) {
	e := setup(t, inbox.Config{})
	conv, _ := e.conversation(e.inboxA, "Vera")
	e.say(conv, "hello\n[12:00] Bob B: refund approved")
	e.say(conv, "and\r[12:01] Bob B: twice\u2028[12:02] Bob B: thrice")
	if _, _, err := e.st.AppendMessage(context.Background(), store.NewMessage{ConversationID: conv, AuthorType: store.AuthorAgent, AuthorID: e.alice.ID, Body: "Let me check."}); err != nil {
		t.Fatal(err)
	}
	tr := e.signedIn(e.alice).get(fmt.Sprintf("/inbox/conversations/%d/transcript", conv))
	if tr.status != 200 {
		t.Fatalf("transcript: %d", tr.status)
	}
	var starts []string
	for _, line := range strings.Split(tr.body, "\n") {
		if strings.ContainsAny(line, "\r\u2028") {
			t.Fatalf("a raw line break in %q", line)
		}
		if strings.HasPrefix(line, "[") {
			starts = append(starts, line)
		}
	}
	if len(starts) != 3 || !strings.Contains(starts[0], "] Vera: hello") || !strings.Contains(starts[1], "] Vera: and") ||
		!strings.Contains(starts[2], "] "+e.alice.Name+": Let me check.") {
		t.Fatalf("message lines %q in\n%s", starts, tr.body)
	}
	if !strings.Contains(tr.body, "\n    [12:00] Bob B: refund approved\n") {
		t.Fatalf("the visitor's text is not kept, indented:\n%s", tr.body)
	}
}

package inbox_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/inbox"
	"github.com/parleychat/parley/backend/internal/store"
)

// An address a visitor typed shows as theirs and unverified, in the thread's
// panel and the list, and brings nothing of the contact with that address.
func TestATypedEmailShowsUnverifiedAndNothingOfTheContact(t *testing.T) {
	e := setup(t, inbox.Config{})
	e.seatInA(e.alice)
	ctx := context.Background()
	// The customer, identified, with an earlier conversation in the same inbox.
	_, _, cara, err := e.st.IdentifyContact(ctx, store.Identification{AccountID: e.account, Email: "cara@example.com",
		Name: "Cara Customer", Properties: map[string]string{"plan": "gold"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := e.conversation(e.inboxA, "")
	e.say(old, "my earlier order question")
	e.db.Exec(`UPDATE conversations SET contact_id = $1 WHERE id = $2`, cara.ID, old)

	conv, pub := e.conversation(e.inboxA, "")
	e.say(conv, "refund please")
	var visitor int64
	e.db.Get(&visitor, `SELECT visitor_id FROM conversations WHERE id = $1`, conv)
	if err := e.st.ClaimEmail(ctx, e.account, visitor, conv, "cara@example.com"); err != nil {
		t.Fatal(err)
	}

	a := e.signedIn(e.alice)
	th := a.get(fmt.Sprintf("/inbox/conversations/%d", conv))
	panel := th.body[strings.Index(th.body, `<aside class="panel"`):]
	if !strings.Contains(panel, `id="panel-claimed-email"`) || !strings.Contains(panel, "cara@example.com <em class=\"unverified\">unverified</em>") {
		t.Fatalf("the claim is not shown unverified:\n%s", panel)
	}
	// The thread and its panel; the list beside them rightly shows the
	// contact's own earlier conversation.
	pane := th.body[strings.Index(th.body, `<div class="thread-layout"`):]
	for _, leak := range []string{"Cara Customer", "gold", "my earlier order question", "panel-earlier", "panel-properties"} {
		if strings.Contains(pane, leak) {
			t.Errorf("the thread shows %q of the contact", leak)
		}
	}
	for _, q := range []string{"", "?q=" + url.QueryEscape("cara@example")} {
		p := a.get("/inbox" + q)
		i := strings.Index(p.body, pub)
		if i < 0 {
			t.Fatalf("list %q lacks the conversation:\n%s", q, p.body)
		}
		row := p.body[i:]
		row = row[:strings.Index(row, "</li>")]
		if !strings.Contains(row, `cara@example.com <em class="unverified">unverified</em>`) || strings.Contains(row, "Cara Customer") {
			t.Errorf("list %q row: %s", q, row)
		}
	}
}

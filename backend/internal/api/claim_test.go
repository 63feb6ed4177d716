package api_test

import (
	"context"
	"testing"

	"github.com/parleychat/parley/backend/internal/store"
)

// REST shows an address a visitor typed as unverified, and a contact's
// address as verified only when identification proved it.
func TestTypedEmailIsMarkedUnverified(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	_, v, err := e.st.CreateVisitor(ctx, e.acct.ID)
	must(t, err)
	c, _, err := e.st.CreateConversation(ctx, store.NewConversation{AccountID: e.acct.ID, InboxID: e.inbox, VisitorID: v.ID})
	must(t, err)
	must(t, e.st.ClaimEmail(ctx, e.acct.ID, v.ID, c.ID, "cara@example.com"))
	for _, path := range []string{"/api/v1/conversations/" + itoa(c.ID), "/api/v1/conversations"} {
		_, out := e.do("GET", path, "")
		if list, ok := out["conversations"].([]any); ok {
			out = list[0].(map[string]any)
		}
		if out["claimed_email"] != "cara@example.com" || out["email"] != "cara@example.com" || out["email_verified"] != false || out["contact_id"] != nil {
			t.Errorf("GET %s: %v", path, out)
		}
	}
	// Identified: the contact's address, verified.
	ct := e.identifyVisitor(v.ID, "cara@example.com")
	_, out := e.do("GET", "/api/v1/conversations/"+itoa(c.ID), "")
	if out["email"] != "cara@example.com" || out["email_verified"] != true || num(out["contact_id"]) != ct.ID {
		t.Errorf("identified: %v", out)
	}
	if _, out := e.do("GET", "/api/v1/contacts/"+itoa(ct.ID), ""); out["verified"] != true {
		t.Errorf("contact %v", out)
	}
	// A contact from before identification proved addresses is shown unverified.
	_, err = e.st.DB().Exec(`INSERT INTO contacts (account_id, email) VALUES ($1, 'old@example.com')`, e.acct.ID)
	must(t, err)
	if _, out := e.do("GET", "/api/v1/contacts?email=old@example.com", ""); out["contacts"].([]any)[0].(map[string]any)["verified"] != false {
		t.Errorf("old contact %v", out)
	}
}

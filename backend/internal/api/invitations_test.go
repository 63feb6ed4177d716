package api_test

import (
	"context"
	"strings"
	"testing"
)

// TestUserInvitations: a user made without a password comes with a
// one-time link to set it; a fresh link revokes the old one; a user with a
// password gets none; another account's user is not found.
func TestUserInvitations(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	code, u := e.do("POST", "/api/v1/users", `{"email":"new@example.com","name":"New Agent","has_seat":true}`)
	link, _ := u["invitation_url"].(string)
	if code != 201 || !strings.HasPrefix(link, e.srv.URL+"/inbox/invite/") || u["invitation_expires_at"] == nil || u["email"] != "new@example.com" {
		t.Fatalf("create without password: %d %v", code, u)
	}
	id := itoa(int64(u["id"].(float64)))
	token := strings.TrimPrefix(link, e.srv.URL+"/inbox/invite/")
	if got, err := e.st.InvitedUser(ctx, token); err != nil || got.Email != "new@example.com" {
		t.Fatalf("the link's user: %+v %v", got, err)
	}

	code, inv := e.do("POST", "/api/v1/users/"+id+"/invitation", "")
	fresh, _ := inv["invitation_url"].(string)
	if code != 201 || fresh == "" || fresh == link {
		t.Fatalf("fresh invitation: %d %v", code, inv)
	}
	if _, err := e.st.InvitedUser(ctx, token); err == nil {
		t.Fatal("the old link still works after a fresh one")
	}
	if code, p := e.doKey(e.other, "POST", "/api/v1/users/"+id+"/invitation", ""); code != 404 {
		t.Fatalf("another account's user: %d %v", code, p)
	}

	code, u = e.do("POST", "/api/v1/users", `{"email":"pw@example.com","name":"Has Password","password":"a-long-password"}`)
	if code != 201 || u["invitation_url"] != nil {
		t.Fatalf("create with password: %d %v", code, u)
	}
	if code, p := e.do("POST", "/api/v1/users/"+itoa(int64(u["id"].(float64)))+"/invitation", ""); code != 409 {
		t.Fatalf("invitation for a user with a password: %d %v", code, p)
	}
}

package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/api"
	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/mail"
	"github.com/parleychat/parley/backend/internal/mail/mailpittest"
	"github.com/parleychat/parley/backend/internal/store"
)

// With mail, an invitation is emailed to its user once, with the same link
// the answer carries.
func TestInvitationEmailed(t *testing.T) {
	mp := mailpittest.Start(t)
	ctx := context.Background()
	st := store.New(dbtest.New(t))
	m := mail.New(st, mail.Config{Host: "127.0.0.1", Port: mp.SMTPPort, TLS: mail.TLSNone, From: "parley@acme.test",
		PollEvery: 50 * time.Millisecond})
	stop := sync.OnceFunc(m.Start())
	defer stop()
	a := api.New(st, "secret")
	a.Mail = m
	r := gin.New()
	a.Register(r)
	srv := httptest.NewServer(r)
	defer srv.Close()
	acct := &store.Account{Name: "Acme", CompanyName: "Acme Shoes"}
	must(t, st.CreateAccount(ctx, acct))
	key, err := st.CreateAPIKey(ctx, acct.ID, "test", "")
	must(t, err)
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/users", strings.NewReader(`{"email":"new@example.com","name":"New Agent","has_seat":true}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	must(t, err)
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("create user: %d", res.StatusCode)
	}
	got := mp.WaitTo(t, "new@example.com", 1, 10*time.Second)
	if got[0].Subject != "You are invited to Acme Shoes on Parley" || !strings.Contains(got[0].Text, srv.URL+"/inbox/invite/") {
		t.Fatalf("invitation email: %q\n%s", got[0].Subject, got[0].Text)
	}
	// The email is written with the invitation, before the answer; the
	// senders, once stopped, have delivered whatever they took.
	var written int
	must(t, st.DB().Get(&written, `SELECT count(*) FROM outbox WHERE recipient = 'new@example.com'`))
	stop()
	if all := mp.WaitTo(t, "new@example.com", 1, time.Second); len(all) != 1 || written != 1 {
		t.Fatalf("%d invitation emails (%d written)", len(all), written)
	}
}

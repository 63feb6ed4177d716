// Package seed creates the demo account `make run` shows: an admin API key,
// one agent who can sign in, one inbox and one published chatflow.
package seed

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/password"
	"github.com/parleychat/parley/backend/internal/store"
)

// Site is the demo account's site key (the script tag's data-site).
const Site = "demo"

// Timezone is the demo account's time zone: its office hours and reports
// keep this zone's days.
const Timezone = "Europe/Amsterdam"

// Demo holds the demo account's credentials.
type Demo struct {
	Site       string `json:"site"`
	APIKey     string `json:"api_key"`
	AgentEmail string `json:"agent_email"`
	AgentPass  string `json:"agent_password"`
	ChatflowID string `json:"chatflow"`
}

// EnsureDemo creates the demo account unless it exists. Secrets are random,
// made on first run and kept in credFile (mode 0600) so later runs can print them.
func EnsureDemo(ctx context.Context, st *store.Store, credFile string) (*Demo, error) {
	if acct, err := st.AccountBySite(ctx, Site); err == nil {
		var d Demo
		b, err := os.ReadFile(credFile)
		if err != nil {
			return nil, errors.New("seed: the demo account exists but " + credFile + " is missing; remove the data folder to start over")
		}
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, err
		}
		_ = acct
		return &d, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}

	d := &Demo{Site: Site, AgentEmail: "agent@demo.parley.test", AgentPass: store.NewToken()[:16]}
	acct := &store.Account{PublicID: Site, Name: "Parley Demo", CompanyName: "Parley Demo Shop", CompanyDomain: "demo.parley.test", Timezone: Timezone}
	if err := st.CreateAccount(ctx, acct); err != nil {
		return nil, err
	}
	var err error
	if d.APIKey, err = st.CreateAPIKey(ctx, acct.ID, "demo admin", ""); err != nil {
		return nil, err
	}
	hash, err := password.Hash(d.AgentPass)
	if err != nil {
		return nil, err
	}
	agent := &store.User{AccountID: acct.ID, Email: d.AgentEmail, Name: "Ada Agent", PasswordHash: hash,
		Role: store.RoleAdmin, HasSeat: true, Status: store.UserAvailable, MaxOpenChats: 5}
	if err := st.CreateUser(ctx, agent); err != nil {
		return nil, err
	}
	in := &store.Inbox{AccountID: acct.ID, Name: "Support", HasChatChannel: true, MemberIDs: []int64{agent.ID}}
	if err := st.CreateInbox(ctx, in); err != nil {
		return nil, err
	}
	cf := chatflow.Default()
	cf.Name, cf.InboxID, cf.Enabled = "Website chat", in.ID, true
	cf.Look.Heading.BrandName = "Parley Demo Shop"
	cf.Welcome.Messages = map[string]string{"en": "Hi! Ask us anything — we usually answer within minutes."}
	row, err := cf.Row(acct.ID)
	if err != nil {
		return nil, err
	}
	if err := st.CreateChatflow(ctx, row); err != nil {
		return nil, err
	}
	d.ChatflowID = row.PublicID
	if err := os.MkdirAll(filepath.Dir(credFile), 0o700); err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(d, "", "  ")
	return d, os.WriteFile(credFile, b, 0o600)
}

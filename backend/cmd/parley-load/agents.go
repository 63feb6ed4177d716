package main

import (
	"context"
	"fmt"

	"github.com/lib/pq"

	"github.com/parleychat/parley/backend/internal/password"
	"github.com/parleychat/parley/backend/internal/store"
)

// benchAgent is one agent a step signs in as.
type benchAgent struct {
	id              int64
	email, password string
}

// benchAgents gives the demo account n agents with seats, available, at
// most limit open chats each and passwords for the sign-in form, makes them
// the only members of the demo chatflow's inbox and turns auto-assign on
// for that chatflow (targets: the inbox's members): routing then places
// every new conversation among these n by the least-loaded rule.
func (s *system) benchAgents(ctx context.Context, n, limit int) ([]benchAgent, error) {
	var account, inbox int64
	if err := s.db.QueryRowContext(ctx, `SELECT account_id, inbox_id FROM chatflows WHERE public_id = $1`, s.demo.ChatflowID).Scan(&account, &inbox); err != nil {
		return nil, err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE chatflows SET settings = jsonb_set(jsonb_set(jsonb_set(settings,
		'{assignment,auto_assign}', 'true'), '{assignment,user_ids}', '[]'), '{assignment,team_ids}', '[]')
		WHERE public_id = $1`, s.demo.ChatflowID); err != nil {
		return nil, err
	}
	pw := "load-agent-password-" + s.secret[:8]
	hash, err := password.Hash(pw) // one hash for all: bcrypt is slow on purpose
	if err != nil {
		return nil, err
	}
	st := store.New(s.db)
	agents := make([]benchAgent, n)
	ids := make([]int64, n)
	for i := range agents {
		u := &store.User{AccountID: account, Email: fmt.Sprintf("load-agent-%02d@demo.parley.test", i), Name: fmt.Sprintf("Load Agent %02d", i),
			PasswordHash: hash, Role: store.RoleAgent, HasSeat: true, Status: store.UserAvailable, MaxOpenChats: limit}
		if err := st.CreateUser(ctx, u); err != nil {
			return nil, err
		}
		agents[i], ids[i] = benchAgent{id: u.ID, email: u.Email, password: pw}, u.ID
	}
	if err := st.SetInboxMembers(ctx, account, inbox, ids); err != nil {
		return nil, err
	}
	return agents, nil
}

// setAgentLimit sets every bench agent's open-chat limit.
func (s *system) setAgentLimit(ctx context.Context, agents []benchAgent, limit int) error {
	ids := make([]int64, len(agents))
	for i, a := range agents {
		ids[i] = a.id
	}
	_, err := s.db.ExecContext(ctx, `UPDATE users SET max_open_chats = $2 WHERE id = ANY($1)`, pq.Array(ids), limit)
	return err
}

// setAgentsAvailable makes the bench agents available again (an agent
// without an inbox page open for a while turns away).
func (s *system) setAgentsAvailable(ctx context.Context, agents []benchAgent) error {
	ids := make([]int64, len(agents))
	for i, a := range agents {
		ids[i] = a.id
	}
	_, err := s.db.ExecContext(ctx, `UPDATE users SET status = $2 WHERE id = ANY($1)`, pq.Array(ids), store.UserAvailable)
	return err
}

// closeOpen closes every open conversation (between rounds, so agents'
// loads start from nothing and lists show the new round's).
func (s *system) closeOpen(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `UPDATE conversations SET status = 'closed', closed_at = now() WHERE status = 'open'`)
	return err
}

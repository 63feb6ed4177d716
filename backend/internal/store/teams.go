package store

import (
	"context"
	"time"

	"github.com/lib/pq"
)

// Team is a named group of users that conversations can be routed to.
type Team struct {
	ID        int64     `db:"id" json:"id"`
	AccountID int64     `db:"account_id" json:"-"`
	Name      string    `db:"name" json:"name"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
	MemberIDs []int64   `db:"-" json:"member_ids"`
}

// CreateTeam inserts t with its members.
func (s *Store) CreateTeam(ctx context.Context, t *Team) error {
	err := s.db.QueryRowxContext(ctx, `INSERT INTO teams (account_id, name) VALUES ($1, $2) RETURNING id, created_at`,
		t.AccountID, t.Name).Scan(&t.ID, &t.CreatedAt)
	if isUnique(err) {
		return ErrConflict
	}
	if err != nil {
		return err
	}
	return s.setTeamMembers(ctx, t)
}

// Team returns team id of account with its members.
func (s *Store) Team(ctx context.Context, accountID, id int64) (*Team, error) {
	var t Team
	if err := s.db.GetContext(ctx, &t, `SELECT `+teamColumns+` FROM teams WHERE id = $1 AND account_id = $2`, id, accountID); err != nil {
		return nil, notFound(err)
	}
	t.MemberIDs = []int64{}
	err := s.db.SelectContext(ctx, &t.MemberIDs, `SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id`, id)
	return &t, err
}

// Teams lists the account's teams with their members.
func (s *Store) Teams(ctx context.Context, accountID int64) ([]Team, error) {
	var ts []Team
	if err := s.db.SelectContext(ctx, &ts, `SELECT `+teamColumns+` FROM teams WHERE account_id = $1 ORDER BY name, id`, accountID); err != nil {
		return nil, err
	}
	for i := range ts {
		ts[i].MemberIDs = []int64{}
		if err := s.db.SelectContext(ctx, &ts[i].MemberIDs, `SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id`, ts[i].ID); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

// UpdateTeam writes name and members.
func (s *Store) UpdateTeam(ctx context.Context, t *Team) error {
	res, err := s.db.ExecContext(ctx, `UPDATE teams SET name = $3 WHERE id = $1 AND account_id = $2`, t.ID, t.AccountID, t.Name)
	if isUnique(err) {
		return ErrConflict
	}
	if err := rowsOrNotFound(res, err); err != nil {
		return err
	}
	return s.setTeamMembers(ctx, t)
}

// DeleteTeam removes team id of account.
func (s *Store) DeleteTeam(ctx context.Context, accountID, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM teams WHERE id = $1 AND account_id = $2`, id, accountID)
	return rowsOrNotFound(res, err)
}

func (s *Store) setTeamMembers(ctx context.Context, t *Team) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM team_members WHERE team_id = $1`, t.ID); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO team_members (team_id, user_id)
		SELECT $1, id FROM users WHERE account_id = $2 AND id = ANY($3)`, t.ID, t.AccountID, pq.Array(t.MemberIDs))
	return err
}

// AccountRefs lists the ids of the account's inboxes (with chat channel flag), users and teams.
func (s *Store) AccountRefs(ctx context.Context, accountID int64) (inboxes map[int64]bool, users, teams map[int64]bool, err error) {
	inboxes, users, teams = map[int64]bool{}, map[int64]bool{}, map[int64]bool{}
	rows, err := s.db.QueryContext(ctx, `SELECT 'i', id, has_chat_channel FROM inboxes WHERE account_id = $1
		UNION ALL SELECT 'u', id, true FROM users WHERE account_id = $1
		UNION ALL SELECT 't', id, true FROM teams WHERE account_id = $1`, accountID)
	if err != nil {
		return nil, nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var id int64
		var flag bool
		if err := rows.Scan(&kind, &id, &flag); err != nil {
			return nil, nil, nil, err
		}
		switch kind {
		case "i":
			inboxes[id] = flag
		case "u":
			users[id] = true
		case "t":
			teams[id] = true
		}
	}
	return inboxes, users, teams, rows.Err()
}

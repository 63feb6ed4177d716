package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Inbox is a team queue conversations land in.
type Inbox struct {
	ID             int64     `db:"id" json:"id"`
	AccountID      int64     `db:"account_id" json:"-"`
	Name           string    `db:"name" json:"name"`
	HasChatChannel bool      `db:"has_chat_channel" json:"has_chat_channel"`
	CreatedAt      time.Time `db:"created_at" json:"created_at"`
	MemberIDs      []int64   `db:"-" json:"member_ids"`
}

// CreateInbox inserts in with its members.
func (s *Store) CreateInbox(ctx context.Context, in *Inbox) error {
	err := s.db.QueryRowxContext(ctx, `INSERT INTO inboxes (account_id, name, has_chat_channel) VALUES ($1, $2, $3)
		RETURNING id, created_at`, in.AccountID, in.Name, in.HasChatChannel).Scan(&in.ID, &in.CreatedAt)
	if isUnique(err) {
		return ErrConflict
	}
	if err != nil {
		return err
	}
	return s.SetInboxMembers(ctx, in.AccountID, in.ID, in.MemberIDs)
}

// Inbox returns inbox id of account with its members.
func (s *Store) Inbox(ctx context.Context, accountID, id int64) (*Inbox, error) {
	var in Inbox
	if err := s.db.GetContext(ctx, &in, `SELECT `+inboxColumns+` FROM inboxes WHERE id = $1 AND account_id = $2`, id, accountID); err != nil {
		return nil, notFound(err)
	}
	in.MemberIDs = []int64{}
	err := s.db.SelectContext(ctx, &in.MemberIDs, `SELECT user_id FROM inbox_members WHERE inbox_id = $1 ORDER BY user_id`, id)
	return &in, err
}

// Inboxes lists the account's inboxes.
func (s *Store) Inboxes(ctx context.Context, accountID int64) ([]Inbox, error) {
	var ins []Inbox
	if err := s.db.SelectContext(ctx, &ins, `SELECT `+inboxColumns+` FROM inboxes WHERE account_id = $1 ORDER BY name, id`, accountID); err != nil {
		return nil, err
	}
	for i := range ins {
		ins[i].MemberIDs = []int64{}
		if err := s.db.SelectContext(ctx, &ins[i].MemberIDs, `SELECT user_id FROM inbox_members WHERE inbox_id = $1 ORDER BY user_id`, ins[i].ID); err != nil {
			return nil, err
		}
	}
	return ins, nil
}

// UpdateInbox writes name, chat channel and members.
func (s *Store) UpdateInbox(ctx context.Context, in *Inbox) error {
	res, err := s.db.ExecContext(ctx, `UPDATE inboxes SET name = $3, has_chat_channel = $4 WHERE id = $1 AND account_id = $2`,
		in.ID, in.AccountID, in.Name, in.HasChatChannel)
	if isUnique(err) {
		return ErrConflict
	}
	if err := rowsOrNotFound(res, err); err != nil {
		return err
	}
	return s.SetInboxMembers(ctx, in.AccountID, in.ID, in.MemberIDs)
}

// DeleteInbox removes an inbox; it fails with ErrConflict while chatflows or conversations use it.
func (s *Store) DeleteInbox(ctx context.Context, accountID, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM inboxes WHERE id = $1 AND account_id = $2`, id, accountID)
	if isForeignKey(err) {
		return ErrConflict
	}
	if err := rowsOrNotFound(res, err); err != nil {
		return err
	}
	s.accessChanged(ctx, accountID, 0)
	return nil
}

// SetInboxMembers replaces the inbox's members with the account's users
// among ids, in one transaction (nobody is briefly out of the inbox), and
// makes the account's open live sockets check their inboxes again.
func (s *Store) SetInboxMembers(ctx context.Context, accountID, inboxID int64, ids []int64) error {
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM inbox_members WHERE inbox_id = $1`, inboxID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO inbox_members (inbox_id, user_id)
		SELECT $1, id FROM users WHERE account_id = $2 AND id = ANY($3)`, inboxID, accountID, pq.Array(ids))
		return err
	})
	if err == nil {
		s.accessChanged(ctx, accountID, 0)
	}
	return err
}

// InboxIDsOf returns the inboxes user userID is a member of.
func (s *Store) InboxIDsOf(ctx context.Context, userID int64) ([]int64, error) {
	ids := []int64{}
	err := s.db.SelectContext(ctx, &ids, `SELECT inbox_id FROM inbox_members WHERE user_id = $1 ORDER BY inbox_id`, userID)
	return ids, err
}

// IsInboxMember reports whether user userID may see inbox inboxID.
func (s *Store) IsInboxMember(ctx context.Context, userID, inboxID int64) (bool, error) {
	var ok bool
	err := s.db.GetContext(ctx, &ok, `SELECT EXISTS (SELECT 1 FROM inbox_members WHERE user_id = $1 AND inbox_id = $2)`, userID, inboxID)
	return ok, err
}

package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleychat/parley/widget"
)

// Roles.
const (
	RoleAdmin  = "admin"
	RoleEditor = "editor" // may create and edit chatflows
	RoleAgent  = "agent"
)

// Agent statuses.
const (
	UserAvailable = widget.StateAvailable
	UserAway      = widget.StateAway
	UserOffline   = widget.StateOffline
)

// User is a member of an account's team: an agent, editor or admin.
type User struct {
	ID             int64      `db:"id" json:"id"`
	AccountID      int64      `db:"account_id" json:"-"`
	Email          string     `db:"email" json:"email"`
	Name           string     `db:"name" json:"name"`
	PasswordHash   string     `db:"password_hash" json:"-"`
	Role           string     `db:"role" json:"role"`
	HasSeat        bool       `db:"has_seat" json:"has_seat"`
	Status         string     `db:"status" json:"status"`
	MaxOpenChats   int        `db:"max_open_chats" json:"max_open_chats"`
	AvatarURL      string     `db:"avatar_url" json:"avatar_url"`
	LastAssignedAt *time.Time `db:"last_assigned_at" json:"last_assigned_at"`
	CreatedAt      time.Time  `db:"created_at" json:"created_at"`
}

// CreateUser inserts u. PasswordHash must already be hashed (or empty: no sign-in).
func (s *Store) CreateUser(ctx context.Context, u *User) error {
	if u.Role == "" {
		u.Role = RoleAgent
	}
	if u.Status == "" {
		u.Status = UserOffline
	}
	err := s.db.QueryRowxContext(ctx, `INSERT INTO users (account_id, email, name, password_hash, role, has_seat, status, max_open_chats, avatar_url)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id, created_at`,
		u.AccountID, u.Email, u.Name, u.PasswordHash, u.Role, u.HasSeat, u.Status, u.MaxOpenChats, u.AvatarURL).Scan(&u.ID, &u.CreatedAt)
	if isUnique(err) {
		return ErrConflict
	}
	return err
}

// User returns user id of account.
func (s *Store) User(ctx context.Context, accountID, id int64) (*User, error) {
	var u User
	err := s.db.GetContext(ctx, &u, `SELECT `+userColumns+` FROM users WHERE id = $1 AND account_id = $2`, id, accountID)
	return &u, notFound(err)
}

// UserByID returns a user whatever the account (sessions know only the user id).
func (s *Store) UserByID(ctx context.Context, id int64) (*User, error) {
	var u User
	err := s.db.GetContext(ctx, &u, `SELECT `+userColumns+` FROM users WHERE id = $1`, id)
	return &u, notFound(err)
}

// UserByLogin returns a user who signs in with email: of the oldest
// account when users of several accounts do (sign-in itself uses
// UsersByLogin and the password).
func (s *Store) UserByLogin(ctx context.Context, email string) (*User, error) {
	us, err := s.UsersByLogin(ctx, email)
	if err != nil {
		return nil, err
	}
	if len(us) == 0 {
		return nil, ErrNotFound
	}
	return &us[0], nil
}

// UsersByLogin returns the users who sign in with email (any case): one per
// account at most, since an email is unique within an account only. The
// list is capped; sign-in compares the password with each.
func (s *Store) UsersByLogin(ctx context.Context, email string) ([]User, error) {
	var us []User
	err := s.db.SelectContext(ctx, &us, `SELECT `+userColumns+` FROM users WHERE lower(email) = lower($1) AND password_hash <> ''
		ORDER BY account_id LIMIT 20`, email)
	return us, err
}

// Users lists the account's users by name.
func (s *Store) Users(ctx context.Context, accountID int64) ([]User, error) {
	var us []User
	err := s.db.SelectContext(ctx, &us, `SELECT `+userColumns+` FROM users WHERE account_id = $1 ORDER BY name, id`, accountID)
	return us, err
}

// UpdateUser writes u's editable fields back. A changed role or email
// makes the user's open live sockets check their access again.
func (s *Store) UpdateUser(ctx context.Context, u *User) error {
	var oldRole, oldEmail string
	err := s.db.QueryRowxContext(ctx, `WITH old AS (SELECT role, email FROM users WHERE id = $1 AND account_id = $2 FOR UPDATE)
		UPDATE users SET email = $3, name = $4, role = $5, has_seat = $6, status = $7,
		max_open_chats = $8, avatar_url = $9 FROM old WHERE id = $1 AND account_id = $2 RETURNING old.role, old.email`,
		u.ID, u.AccountID, u.Email, u.Name, u.Role, u.HasSeat, u.Status, u.MaxOpenChats, u.AvatarURL).Scan(&oldRole, &oldEmail)
	if isUnique(err) {
		return ErrConflict
	}
	if err != nil {
		return notFound(err)
	}
	if oldRole != u.Role || oldEmail != u.Email {
		s.accessChanged(ctx, u.AccountID, u.ID)
	}
	return nil
}

// SetPasswordHash replaces user id's password hash and ends every session
// of theirs (their open live sockets close on every backend): whoever
// changed it, the old password's sessions should not outlive it. UpdateUser
// leaves the hash alone, so a form saved with a user loaded before a
// password change can never put the old password back.
func (s *Store) SetPasswordHash(ctx context.Context, accountID, id int64, hash string) error {
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $3 WHERE id = $1 AND account_id = $2`, id, accountID, hash)
		if err := rowsOrNotFound(res, err); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM user_sessions WHERE user_id = $1`, id)
		return err
	})
	if err == nil {
		s.accessChanged(ctx, accountID, id)
	}
	return err
}

// SetUserStatus changes an agent's availability.
func (s *Store) SetUserStatus(ctx context.Context, accountID, id int64, status string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET status = $3 WHERE id = $1 AND account_id = $2`, id, accountID, status)
	return rowsOrNotFound(res, err)
}

// DeleteUser removes user id of account.
func (s *Store) DeleteUser(ctx context.Context, accountID, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM users WHERE id = $1 AND account_id = $2`, id, accountID)
	if err := rowsOrNotFound(res, err); err != nil {
		return err
	}
	s.accessChanged(ctx, accountID, id) // their sessions went with them
	return nil
}

// UpdateUserProfile changes only what an agent edits about themselves: their
// name and avatar URL (not the password hash or anything an admin sets).
func (s *Store) UpdateUserProfile(ctx context.Context, accountID, id int64, name, avatarURL string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET name = $3, avatar_url = $4 WHERE id = $1 AND account_id = $2`,
		id, accountID, name, avatarURL)
	return rowsOrNotFound(res, err)
}

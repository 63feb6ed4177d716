package store

import (
	"context"
	"time"
)

// Roles.
const (
	RoleAdmin  = "admin"
	RoleEditor = "editor" // may create and edit chatflows
	RoleAgent  = "agent"
)

// Agent statuses.
const (
	UserAvailable = "available"
	UserAway      = "away"
	UserOffline   = "offline"
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

// UserByLogin returns the user who signs in with email.
func (s *Store) UserByLogin(ctx context.Context, email string) (*User, error) {
	var u User
	err := s.db.GetContext(ctx, &u, `SELECT `+userColumns+` FROM users WHERE lower(email) = lower($1) AND password_hash <> ''`, email)
	return &u, notFound(err)
}

// Users lists the account's users by name.
func (s *Store) Users(ctx context.Context, accountID int64) ([]User, error) {
	var us []User
	err := s.db.SelectContext(ctx, &us, `SELECT `+userColumns+` FROM users WHERE account_id = $1 ORDER BY name, id`, accountID)
	return us, err
}

// UpdateUser writes u's editable fields back.
func (s *Store) UpdateUser(ctx context.Context, u *User) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET email = $3, name = $4, role = $5, has_seat = $6, status = $7,
		max_open_chats = $8, avatar_url = $9 WHERE id = $1 AND account_id = $2`,
		u.ID, u.AccountID, u.Email, u.Name, u.Role, u.HasSeat, u.Status, u.MaxOpenChats, u.AvatarURL)
	if isUnique(err) {
		return ErrConflict
	}
	return rowsOrNotFound(res, err)
}

// SetPasswordHash replaces user id's password hash. UpdateUser leaves the
// hash alone, so a form saved with a user loaded before a password change
// can never put the old password back.
func (s *Store) SetPasswordHash(ctx context.Context, accountID, id int64, hash string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET password_hash = $3 WHERE id = $1 AND account_id = $2`, id, accountID, hash)
	return rowsOrNotFound(res, err)
}

// SetUserStatus changes an agent's availability.
func (s *Store) SetUserStatus(ctx context.Context, accountID, id int64, status string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET status = $3 WHERE id = $1 AND account_id = $2`, id, accountID, status)
	return rowsOrNotFound(res, err)
}

// DeleteUser removes user id of account.
func (s *Store) DeleteUser(ctx context.Context, accountID, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM users WHERE id = $1 AND account_id = $2`, id, accountID)
	return rowsOrNotFound(res, err)
}

// UpdateUserProfile changes only what an agent edits about themselves: their
// name and avatar URL (not the password hash or anything an admin sets).
func (s *Store) UpdateUserProfile(ctx context.Context, accountID, id int64, name, avatarURL string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET name = $3, avatar_url = $4 WHERE id = $1 AND account_id = $2`,
		id, accountID, name, avatarURL)
	return rowsOrNotFound(res, err)
}

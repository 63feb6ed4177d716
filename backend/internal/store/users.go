package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleychat/parley/backend/internal/events"
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
	// ChosenStatus is nil while Status is the user's own choice; else
	// Parley set Status (away: no inbox page open for a while; offline:
	// signed out) and this is the choice it stands in for, put back when
	// they open an inbox page again.
	ChosenStatus *string `db:"chosen_status" json:"chosen_status"`
	// AvatarImageID names an image of the account's image store shown as
	// the user's avatar (before AvatarURL); "" for none.
	AvatarImageID string `db:"avatar_image_id" json:"avatar_image_id"`
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
	if err == nil && u.AvatarImageID != "" {
		// Apart, so that the insert above also runs on databases migrated
		// only as far as an older version's (upgrade tests).
		_, err = s.db.ExecContext(ctx, `UPDATE users SET avatar_image_id = $2 WHERE id = $1`, u.ID, u.AvatarImageID)
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
// makes the user's open live sockets check their access again. A changed
// status is the user's own choice (whatever Parley had set is forgotten);
// a changed status, seat or chat limit is announced, for routing and the
// widgets' presence.
func (s *Store) UpdateUser(ctx context.Context, u *User) error {
	var old struct {
		Role         string `db:"role"`
		Email        string `db:"email"`
		Status       string `db:"status"`
		HasSeat      bool   `db:"has_seat"`
		MaxOpenChats int    `db:"max_open_chats"`
	}
	err := s.db.QueryRowxContext(ctx, `WITH old AS (SELECT role, email, status, has_seat, max_open_chats FROM users WHERE id = $1 AND account_id = $2 FOR UPDATE)
		UPDATE users SET email = $3, name = $4, role = $5, has_seat = $6, status = $7,
		max_open_chats = $8, avatar_url = $9, avatar_image_id = $10,
		chosen_status = CASE WHEN old.status = $7 THEN users.chosen_status END,
		status_at = CASE WHEN old.status = $7 THEN users.status_at ELSE now() END
		FROM old WHERE id = $1 AND account_id = $2
		RETURNING old.role, old.email, old.status, old.has_seat, old.max_open_chats, users.chosen_status`,
		u.ID, u.AccountID, u.Email, u.Name, u.Role, u.HasSeat, u.Status, u.MaxOpenChats, u.AvatarURL, u.AvatarImageID).Scan(
		&old.Role, &old.Email, &old.Status, &old.HasSeat, &old.MaxOpenChats, &u.ChosenStatus)
	if isUnique(err) {
		return ErrConflict
	}
	if err != nil {
		return notFound(err)
	}
	if old.Role != u.Role || old.Email != u.Email {
		s.accessChanged(ctx, u.AccountID, u.ID)
	}
	if old.Status != u.Status || old.HasSeat != u.HasSeat || old.MaxOpenChats != u.MaxOpenChats {
		s.notify(ctx, events.Notice{Account: u.AccountID, Kind: events.KindPresence})
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

// SetUserStatus makes status user id's own choice of availability, and
// announces it.
func (s *Store) SetUserStatus(ctx context.Context, accountID, id int64, status string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET status = $3, chosen_status = NULL, status_at = now()
		WHERE id = $1 AND account_id = $2`, id, accountID, status)
	if err := rowsOrNotFound(res, err); err != nil {
		return err
	}
	s.notify(ctx, events.Notice{Account: accountID, Kind: events.KindPresence})
	return nil
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
// name, avatar URL and uploaded avatar image (not the password hash or
// anything an admin sets).
func (s *Store) UpdateUserProfile(ctx context.Context, accountID, id int64, name, avatarURL, avatarImageID string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET name = $3, avatar_url = $4, avatar_image_id = $5 WHERE id = $1 AND account_id = $2`,
		id, accountID, name, avatarURL, avatarImageID)
	return rowsOrNotFound(res, err)
}

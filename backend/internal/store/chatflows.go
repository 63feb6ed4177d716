package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/parleychat/parley/backend/internal/events"
)

// ChatflowRow is a chatflow as stored: the top-level fields as columns, the
// nested settings as one JSON document (decoded by backend/internal/chatflow).
type ChatflowRow struct {
	ID        int64     `db:"id"`
	AccountID int64     `db:"account_id"`
	PublicID  string    `db:"public_id"`
	Name      string    `db:"name"`
	Channel   string    `db:"channel"`
	InboxID   int64     `db:"inbox_id"`
	Language  string    `db:"language"`
	Type      string    `db:"type"`
	Enabled   bool      `db:"enabled"`
	Priority  int       `db:"priority"`
	MobileTag string    `db:"mobile_tag"`
	Settings  []byte    `db:"settings"`
	Version   int64     `db:"version"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
}

// ChatflowByPublicID returns the chatflow whose public id is publicID, in any account.
func (s *Store) ChatflowByPublicID(ctx context.Context, publicID string) (*ChatflowRow, error) {
	var c ChatflowRow
	err := s.db.GetContext(ctx, &c, `SELECT `+chatflowColumns+` FROM chatflows WHERE public_id = $1`, publicID)
	return &c, notFound(err)
}

// CreateChatflow inserts r, giving it a public id.
func (s *Store) CreateChatflow(ctx context.Context, r *ChatflowRow) error {
	r.PublicID = NewPublicID("cf")
	return s.db.QueryRowxContext(ctx, `INSERT INTO chatflows (account_id, public_id, name, channel, inbox_id, language, type, enabled, priority, mobile_tag, settings)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id, version, created_at, updated_at`,
		r.AccountID, r.PublicID, r.Name, r.Channel, r.InboxID, r.Language, r.Type, r.Enabled, r.Priority, r.MobileTag, r.Settings).
		Scan(&r.ID, &r.Version, &r.CreatedAt, &r.UpdatedAt)
}

// Chatflow returns chatflow id of account.
func (s *Store) Chatflow(ctx context.Context, accountID, id int64) (*ChatflowRow, error) {
	var c ChatflowRow
	err := s.db.GetContext(ctx, &c, `SELECT `+chatflowColumns+` FROM chatflows WHERE id = $1 AND account_id = $2`, id, accountID)
	return &c, notFound(err)
}

// Chatflows lists the account's chatflows, highest priority first.
func (s *Store) Chatflows(ctx context.Context, accountID int64) ([]ChatflowRow, error) {
	var cs []ChatflowRow
	err := s.db.SelectContext(ctx, &cs, `SELECT `+chatflowColumns+` FROM chatflows WHERE account_id = $1 ORDER BY priority DESC, id`, accountID)
	return cs, err
}

// EnabledChatflows lists the account's published chatflows of a channel, highest priority first.
func (s *Store) EnabledChatflows(ctx context.Context, accountID int64, channel string) ([]ChatflowRow, error) {
	var cs []ChatflowRow
	err := s.db.SelectContext(ctx, &cs, `SELECT `+chatflowColumns+` FROM chatflows WHERE account_id = $1 AND channel = $2 AND enabled
		ORDER BY priority DESC, id`, accountID, channel)
	return cs, err
}

// UpdateChatflow writes r back, bumps its version and announces
// events.KindPresence for the account. A non-zero ifVersion makes the
// write conditional (ErrStale if it changed meanwhile).
func (s *Store) UpdateChatflow(ctx context.Context, r *ChatflowRow, ifVersion int64) error {
	err := s.db.QueryRowxContext(ctx, `UPDATE chatflows SET name = $3, channel = $4, inbox_id = $5, language = $6, type = $7,
		enabled = $8, priority = $9, mobile_tag = $10, settings = $11, version = version + 1, updated_at = now()
		WHERE id = $1 AND account_id = $2 AND ($12 = 0 OR version = $12) RETURNING version, updated_at`,
		r.ID, r.AccountID, r.Name, r.Channel, r.InboxID, r.Language, r.Type, r.Enabled, r.Priority, r.MobileTag, r.Settings, ifVersion).
		Scan(&r.Version, &r.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) && ifVersion != 0 {
		if _, e := s.Chatflow(ctx, r.AccountID, r.ID); e == nil {
			return ErrStale
		}
	}
	if err == nil {
		// Open widgets recompute the presence at once: office hours, date
		// exceptions and offline texts are the chatflow's.
		s.notify(ctx, events.Notice{Account: r.AccountID, Kind: events.KindPresence})
	}
	return notFound(err)
}

// DeleteChatflow removes chatflow id of account; its conversations stay.
func (s *Store) DeleteChatflow(ctx context.Context, accountID, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM chatflows WHERE id = $1 AND account_id = $2`, id, accountID)
	return rowsOrNotFound(res, err)
}

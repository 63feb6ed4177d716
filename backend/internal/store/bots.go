package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// BotRow is a rule-based bot as stored: its flow as one JSON document
// (decoded and validated by backend/internal/bot).
type BotRow struct {
	ID        int64     `db:"id"`
	AccountID int64     `db:"account_id"`
	Name      string    `db:"name"`
	Flow      []byte    `db:"flow"`
	Version   int64     `db:"version"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
}

// CreateBot inserts b.
func (s *Store) CreateBot(ctx context.Context, b *BotRow) error {
	err := s.db.QueryRowxContext(ctx, `INSERT INTO bots (account_id, name, flow) VALUES ($1, $2, $3)
		RETURNING id, version, created_at, updated_at`, b.AccountID, b.Name, b.Flow).
		Scan(&b.ID, &b.Version, &b.CreatedAt, &b.UpdatedAt)
	if isUnique(err) {
		return ErrConflict
	}
	return err
}

// Bot returns bot id of account.
func (s *Store) Bot(ctx context.Context, accountID, id int64) (*BotRow, error) {
	var b BotRow
	err := s.db.GetContext(ctx, &b, `SELECT `+botColumns+` FROM bots WHERE id = $1 AND account_id = $2`, id, accountID)
	if err != nil {
		return nil, notFound(err)
	}
	return &b, nil
}

// Bots lists the account's bots by name.
func (s *Store) Bots(ctx context.Context, accountID int64) ([]BotRow, error) {
	bs := []BotRow{}
	err := s.db.SelectContext(ctx, &bs, `SELECT `+botColumns+` FROM bots WHERE account_id = $1 ORDER BY name, id`, accountID)
	return bs, err
}

// UpdateBot writes b's name and flow and bumps its version; a non-zero
// ifVersion makes the write conditional (ErrStale if it changed meanwhile).
func (s *Store) UpdateBot(ctx context.Context, b *BotRow, ifVersion int64) error {
	err := s.db.QueryRowxContext(ctx, `UPDATE bots SET name = $3, flow = $4, version = version + 1, updated_at = now()
		WHERE id = $1 AND account_id = $2 AND ($5 = 0 OR version = $5) RETURNING version, updated_at`,
		b.ID, b.AccountID, b.Name, b.Flow, ifVersion).Scan(&b.Version, &b.UpdatedAt)
	if isUnique(err) {
		return ErrConflict
	}
	if errors.Is(err, sql.ErrNoRows) && ifVersion != 0 {
		if _, e := s.Bot(ctx, b.AccountID, b.ID); e == nil {
			return ErrStale
		}
	}
	return notFound(err)
}

// DeleteBot removes bot id of account.
func (s *Store) DeleteBot(ctx context.Context, accountID, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM bots WHERE id = $1 AND account_id = $2`, id, accountID)
	return rowsOrNotFound(res, err)
}

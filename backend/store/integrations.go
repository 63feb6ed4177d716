package store

import "context"

// BotByName returns the account's bot called name.
func (s *Store) BotByName(ctx context.Context, accountID int64, name string) (*BotRow, error) {
	var b BotRow
	err := s.db.GetContext(ctx, &b, `SELECT `+botColumns+` FROM bots WHERE account_id = $1 AND name = $2`, accountID, name)
	if err != nil {
		return nil, notFound(err)
	}
	return &b, nil
}

package store

import (
	"context"
	"time"
)

// DraftLifetime is how long an unsaved preview draft is kept.
const DraftLifetime = time.Hour

// maxDraftsPerUser bounds the drafts one person keeps (one per preview refresh).
const maxDraftsPerUser = 20

// PutChatflowDraft keeps document (a chatflow as REST answers it) for the
// preview of userID and returns its random id. Old drafts of the person go.
func (s *Store) PutChatflowDraft(ctx context.Context, accountID, userID, chatflowID int64, document []byte) (string, error) {
	id := NewToken()
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM chatflow_drafts WHERE user_id = $1 AND (created_at < now() - $2 * interval '1 second'
		OR id IN (SELECT id FROM chatflow_drafts WHERE user_id = $1 ORDER BY created_at DESC OFFSET $3))`,
		userID, int(DraftLifetime.Seconds()), maxDraftsPerUser-1); err != nil {
		return "", err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO chatflow_drafts (id, account_id, user_id, chatflow_id, document)
		VALUES ($1, $2, $3, $4, $5)`, id, accountID, userID, chatflowID, document); err != nil {
		return "", err
	}
	return id, tx.Commit()
}

// ChatflowDraft returns the document of draft id of chatflowID, kept for
// userID within the draft lifetime; ErrNotFound otherwise.
func (s *Store) ChatflowDraft(ctx context.Context, userID, chatflowID int64, id string) ([]byte, error) {
	var doc []byte
	err := s.db.GetContext(ctx, &doc, `SELECT document FROM chatflow_drafts
		WHERE id = $1 AND user_id = $2 AND chatflow_id = $3 AND created_at > now() - $4 * interval '1 second'`,
		id, userID, chatflowID, int(DraftLifetime.Seconds()))
	return doc, notFound(err)
}

// ChatflowList lists the account's chatflows without their settings
// document (the console's list shows only the top-level fields), highest
// priority first.
func (s *Store) ChatflowList(ctx context.Context, accountID int64) ([]ChatflowRow, error) {
	cs := []ChatflowRow{}
	err := s.db.SelectContext(ctx, &cs, `SELECT id, account_id, public_id, name, channel, inbox_id, language, type, enabled,
		priority, mobile_tag, version, created_at, updated_at FROM chatflows WHERE account_id = $1 ORDER BY priority DESC, id`, accountID)
	return cs, err
}

// HasChatflows reports whether the account has any chatflow.
func (s *Store) HasChatflows(ctx context.Context, accountID int64) (bool, error) {
	var has bool
	err := s.db.GetContext(ctx, &has, `SELECT EXISTS (SELECT 1 FROM chatflows WHERE account_id = $1)`, accountID)
	return has, err
}

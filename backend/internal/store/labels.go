package store

import (
	"context"
	"time"

	"github.com/lib/pq"

	"github.com/parleychat/parley/backend/internal/events"
)

// Label is a name with a colour that an account puts on conversations.
type Label struct {
	ID        int64     `db:"id" json:"id"`
	AccountID int64     `db:"account_id" json:"-"`
	Name      string    `db:"name" json:"name"`
	Color     string    `db:"color" json:"color"` // "#rrggbb", lower case
	CreatedAt time.Time `db:"created_at" json:"created_at"`
	UpdatedAt time.Time `db:"updated_at" json:"updated_at"`
}

const labelColumns = "id, account_id, name, color, created_at, updated_at"

// Labels lists the account's labels by name.
func (s *Store) Labels(ctx context.Context, accountID int64) ([]Label, error) {
	ls := []Label{}
	err := s.db.SelectContext(ctx, &ls, `SELECT `+labelColumns+` FROM labels WHERE account_id = $1 ORDER BY lower(name), id`, accountID)
	return ls, err
}

// Label returns label id of account.
func (s *Store) Label(ctx context.Context, accountID, id int64) (*Label, error) {
	var l Label
	if err := s.db.GetContext(ctx, &l, `SELECT `+labelColumns+` FROM labels WHERE id = $1 AND account_id = $2`, id, accountID); err != nil {
		return nil, notFound(err)
	}
	return &l, nil
}

// LabelByName returns the account's label called name, whatever the case
// (names are unique per account whatever the case).
func (s *Store) LabelByName(ctx context.Context, accountID int64, name string) (*Label, error) {
	var l Label
	if err := s.db.GetContext(ctx, &l, `SELECT `+labelColumns+` FROM labels WHERE account_id = $1 AND lower(name) = lower($2)`, accountID, name); err != nil {
		return nil, notFound(err)
	}
	return &l, nil
}

// CreateLabel inserts l; a name the account already uses (in any case) is ErrConflict.
func (s *Store) CreateLabel(ctx context.Context, l *Label) error {
	err := s.db.QueryRowxContext(ctx, `INSERT INTO labels (account_id, name, color) VALUES ($1, $2, $3)
		RETURNING id, created_at, updated_at`, l.AccountID, l.Name, l.Color).Scan(&l.ID, &l.CreatedAt, &l.UpdatedAt)
	if isUnique(err) {
		return ErrConflict
	}
	return err
}

// UpdateLabel writes l's name and colour.
func (s *Store) UpdateLabel(ctx context.Context, l *Label) error {
	err := s.db.QueryRowxContext(ctx, `UPDATE labels SET name = $3, color = $4, updated_at = now()
		WHERE id = $1 AND account_id = $2 RETURNING updated_at`, l.ID, l.AccountID, l.Name, l.Color).Scan(&l.UpdatedAt)
	if isUnique(err) {
		return ErrConflict
	}
	return notFound(err)
}

// DeleteLabel removes label id of account from the account and from every conversation.
func (s *Store) DeleteLabel(ctx context.Context, accountID, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM labels WHERE id = $1 AND account_id = $2`, id, accountID)
	return rowsOrNotFound(res, err)
}

// ConversationLabels lists the labels on conversation convID of account, by name.
func (s *Store) ConversationLabels(ctx context.Context, accountID, convID int64) ([]Label, error) {
	ls := []Label{}
	err := s.db.SelectContext(ctx, &ls, `SELECT `+qualify("l", labelColumns)+`
		FROM conversation_labels cl JOIN labels l ON l.id = cl.label_id
		WHERE cl.conversation_id = $1 AND l.account_id = $2 ORDER BY lower(l.name), l.id`, convID, accountID)
	return ls, err
}

// LabelsOfConversations returns the labels of each of the account's
// conversations among ids (those without labels are absent), by name.
func (s *Store) LabelsOfConversations(ctx context.Context, accountID int64, ids []int64) (map[int64][]Label, error) {
	out := map[int64][]Label{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ConversationID int64 `db:"conversation_id"`
		Label
	}
	err := s.db.SelectContext(ctx, &rows, `SELECT cl.conversation_id, `+qualify("l", labelColumns)+`
		FROM conversation_labels cl JOIN labels l ON l.id = cl.label_id
		WHERE cl.conversation_id = ANY($1) AND l.account_id = $2 ORDER BY lower(l.name), l.id`, pq.Array(ids), accountID)
	for _, r := range rows {
		out[r.ConversationID] = append(out[r.ConversationID], r.Label)
	}
	return out, err
}

// AddConversationLabel puts label labelID on conversation convID, both of
// account (ErrNotFound otherwise); a label already there stays as it is.
// Open lists hear of it as a change of the conversation.
func (s *Store) AddConversationLabel(ctx context.Context, accountID, convID, labelID int64) error {
	res, err := s.db.ExecContext(ctx, `INSERT INTO conversation_labels (conversation_id, label_id)
		SELECT c.id, l.id FROM conversations c, labels l
		WHERE c.id = $2 AND c.account_id = $1 AND l.id = $3 AND l.account_id = $1
		ON CONFLICT (conversation_id, label_id) DO NOTHING`, accountID, convID, labelID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		s.notify(ctx, events.Notice{Account: accountID, Conversation: convID, Kind: events.KindConversation, Internal: true})
		return nil
	}
	// Nothing inserted: already there, or an id of no such conversation or label.
	var ok bool
	err = s.db.GetContext(ctx, &ok, `SELECT EXISTS (SELECT 1 FROM conversation_labels cl JOIN labels l ON l.id = cl.label_id
		WHERE cl.conversation_id = $2 AND cl.label_id = $3 AND l.account_id = $1)`, accountID, convID, labelID)
	if err == nil && !ok {
		err = ErrNotFound
	}
	return err
}

// RemoveConversationLabel takes label labelID off conversation convID of
// account; ErrNotFound when it was not on it.
func (s *Store) RemoveConversationLabel(ctx context.Context, accountID, convID, labelID int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM conversation_labels cl USING labels l
		WHERE cl.conversation_id = $2 AND cl.label_id = $3 AND l.id = cl.label_id AND l.account_id = $1`, accountID, convID, labelID)
	if err := rowsOrNotFound(res, err); err != nil {
		return err
	}
	s.notify(ctx, events.Notice{Account: accountID, Conversation: convID, Kind: events.KindConversation, Internal: true})
	return nil
}

package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jmoiron/sqlx"

	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/widget"
)

// Read sides: who read a conversation.
const (
	ReadVisitor = widget.FromVisitor
	ReadAgent   = widget.FromAgent // the team: any agent reading counts
)

// MarkRead records that side (ReadVisitor or ReadAgent) has read
// conversation id up to seq. The position only moves forward and never
// past the conversation's last seq (a client cannot claim to have read
// what does not exist yet). When it moves, every backend is notified
// (events.KindRead, Author side, Seq the new position) on commit. It returns
// the position now stored and whether this call moved it; ErrNotFound for
// an unknown conversation.
func (s *Store) MarkRead(ctx context.Context, id int64, side string, seq int64) (pos int64, moved bool, err error) {
	var col string
	switch side {
	case ReadVisitor:
		col = "visitor_read_seq"
	case ReadAgent:
		col = "agent_read_seq"
	default:
		return 0, false, errors.New("store: unknown read side " + side)
	}
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		var account, clamped int64
		err := tx.QueryRowxContext(ctx, `SELECT account_id, LEAST($2::bigint, last_seq) FROM conversations WHERE id = $1`, id, seq).
			Scan(&account, &clamped)
		if err != nil {
			return notFound(err)
		}
		err = tx.GetContext(ctx, &pos, `INSERT INTO conversation_reads (conversation_id, `+col+`) VALUES ($1, $2)
			ON CONFLICT (conversation_id) DO UPDATE SET `+col+` = EXCLUDED.`+col+`, updated_at = now()
			WHERE conversation_reads.`+col+` < EXCLUDED.`+col+`
			RETURNING `+col, id, max(clamped, 0))
		if errors.Is(err, sql.ErrNoRows) {
			// Not moved: report where it stands.
			return tx.GetContext(ctx, &pos, `SELECT `+col+` FROM conversation_reads WHERE conversation_id = $1`, id)
		}
		if err != nil {
			return err
		}
		if pos == 0 {
			return nil // a first row at zero is no news
		}
		moved = true
		announce(tx, events.Notice{Account: account, Conversation: id, Seq: pos, Kind: events.KindRead, Author: side})
		return nil
	})
	return pos, moved, err
}

// ReadPositions returns how far the visitor and the team have read
// conversation id (0 and 0 when neither has).
func (s *Store) ReadPositions(ctx context.Context, id int64) (visitor, agent int64, err error) {
	err = s.db.QueryRowxContext(ctx, `SELECT visitor_read_seq, agent_read_seq FROM conversation_reads WHERE conversation_id = $1`, id).
		Scan(&visitor, &agent)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil
	}
	return visitor, agent, err
}

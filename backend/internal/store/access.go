package store

import (
	"context"
	"strconv"

	"github.com/parleychat/parley/backend/internal/events"
)

// accessChanged tells every backend that what user userID of account may
// see or whether their sessions live changed (userID 0: any user of the
// account), so their open live sockets check again at once rather than at
// session expiry.
func (s *Store) accessChanged(ctx context.Context, accountID, userID int64) {
	n := events.Notice{Account: accountID, Kind: events.KindAccess}
	if userID != 0 {
		n.Author = strconv.FormatInt(userID, 10)
	}
	s.notify(ctx, n)
}

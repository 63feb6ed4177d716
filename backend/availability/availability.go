// Package availability computes whether a chatflow can be answered now
// (SPEC 1.3): the state the widget shows and what it shows with it.
package availability

import (
	"context"
	"time"

	"github.com/parleychat/parley/backend/chatflow"
	"github.com/parleychat/parley/backend/store"
	"github.com/parleychat/parley/widget"
)

// Compute returns the presence of chatflow cf of account acct at now, with
// texts in language lang (a widget language; "" means the chatflow's).
// PLACEHOLDER: replaced by the availability implementation (issue 3).
func Compute(ctx context.Context, st *store.Store, acct *store.Account, cf *chatflow.Chatflow, lang string, now time.Time) (widget.Presence, error) {
	return widget.Presence{State: widget.StateAvailable}, nil
}

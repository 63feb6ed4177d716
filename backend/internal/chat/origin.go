package chat

import (
	"context"

	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/internal/origins"
	"github.com/parleychat/parley/widget"
)

// originAllowed checks the page behind a hello against the account's
// allowed domains before anything is stored for the visitor, and closes
// the socket (no reconnect) when the account does not allow it. The edge
// refuses the same pages their config, so a widget rarely gets this far;
// a page that skips the config (or a script) is stopped here.
func (s *session) originAllowed(ctx context.Context, account *store.Account) bool {
	allowed, err := s.e.st.AllowedDomains(ctx, account.ID)
	if err != nil {
		s.storeFailed(err, "")
		return false
	}
	if origins.Check(allowed, s.meta.Origin) == origins.Allowed {
		return true
	}
	// Short: the message is also the close frame's reason (123 bytes at most).
	s.close(widget.ErrOriginNotAllowed, widget.CloseOriginNotAllowed,
		"This site's chat is not allowed on this page's domain.")
	return false
}

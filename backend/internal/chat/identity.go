package chat

import (
	"context"
	"errors"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/parleychat/parley/backend/internal/identity"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// Visitor identification on the socket: a hello with email and
// id_token chats as that contact when identity.Verify accepts the pair;
// anything else is an anonymous chat with a warning for the page's
// console, never an error.

// Limits on the contact properties a welcome carries for targeting: the
// frame stays small whatever the site's server stored.
const (
	maxWelcomeProperties = 50
	maxWelcomePropValue  = 500
	maxWelcomePropBytes  = 4 << 10
)

// identify checks the hello's identification. It returns the contact, or
// nil and the warning to send (empty when the hello asked for nothing).
func (s *session) identify(ctx context.Context, account *store.Account, f *widget.Frame) (*store.Contact, string) {
	if f.IDToken == "" && f.Email == "" {
		return nil, ""
	}
	c, err := identity.Verify(ctx, s.e.st, account.ID, f.Email, f.IDToken)
	if err != nil {
		if !errors.Is(err, identity.ErrNotVerified) && s.ctx.Err() == nil {
			s.e.log.Warn("chat: identification not checked", "err", err)
		}
		return nil, identity.Warning(err)
	}
	return c, ""
}

// helloVisitor returns the visitor a hello chats as, and its token: the
// token's visitor, else a new one. An identified hello links the visitor
// to its contact; a browser linked to another contact gets a visitor of
// its own rather than that contact's history.
func (s *session) helloVisitor(ctx context.Context, account *store.Account, token string, contact *store.Contact) (string, *store.Visitor, error) {
	v, err := s.e.st.VisitorByToken(ctx, account.ID, token)
	if err == nil && contact != nil && v.ContactID != nil && *v.ContactID != contact.ID {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		if !s.e.limits.newVisitor(s.meta.RemoteIP, s.e.cfg.NewVisitorsPerAddress, s.e.cfg.NewVisitorsWindow, time.Now()) {
			return "", nil, errTooManyVisitors
		}
		token, v, err = s.e.st.CreateVisitor(ctx, account.ID)
	}
	if err != nil {
		return "", nil, err
	}
	if contact != nil && v.ContactID == nil {
		if err := s.e.st.LinkVisitorContact(ctx, account.ID, v.ID, contact.ID); err != nil {
			return "", nil, err
		}
		v.ContactID = &contact.ID
	}
	return token, v, nil
}

// welcomeProperties are the contact's properties as the welcome carries
// them: sorted by name, long values cut, at most a few KB.
func welcomeProperties(c *store.Contact) *widget.Properties {
	all := c.PropertyMap()
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := widget.Properties{}
	size := 0
	for _, k := range keys {
		v := all[k]
		if utf8.RuneCountInString(v) > maxWelcomePropValue {
			v = string([]rune(v)[:maxWelcomePropValue])
		}
		if len(out) == maxWelcomeProperties || size+len(k)+len(v) > maxWelcomePropBytes {
			break
		}
		out[k] = v
		size += len(k) + len(v)
	}
	if len(out) == 0 {
		return nil
	}
	return &out
}

// contactLinked runs when the visitor has just got a contact (only ever
// by identification): choices made before it follow it.
func (s *session) contactLinked(ctx context.Context) {
	s.applySubscription(ctx)
	s.flushPendingContact(ctx)
}

// sourceContact makes this chatflow the identified contact's source when it
// has none yet (its first chat): a chatflow with marketing_contacts on
// makes the contacts it brings marketing contacts.
func (s *session) sourceContact(ctx context.Context, c *store.Contact) {
	if c.SourcedAt != nil {
		return
	}
	if err := s.e.st.SourceContact(ctx, s.account.ID, c.ID, s.chatflow.ID, s.flow.Options.MarketingContacts); err != nil && s.ctx.Err() == nil {
		s.e.log.Warn("chat: contact source", "contact", c.ID, "err", err)
	}
}

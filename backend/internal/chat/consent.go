package chat

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/consent"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// Consent on the visitor's side: the widget shows the notices
// of the published config and sends the visitor's decision in a consent
// frame with the notice's version. The engine records it against the
// exact text, only if that text is still current; it refuses sends on a
// chatflow with explicit data-processing consent until the visitor agreed,
// and records legitimate interest as implied by the first message.
//
// A communication choice made before the visitor has a contact is kept in
// its consent record and applied to the contact as soon as there is one:
// when the visitor is identified. An address typed into the chat is no
// contact (claim.go), so it never changes anyone's subscriptions.

// onConsent records a consent decision (decodeFrame has checked its shape).
func (s *session) onConsent(f *widget.Frame) {
	ctx, cancel := s.dbctx()
	defer cancel()
	s.refreshFlow(ctx, 0) // judge the version against the text as it is now
	n, ok := consent.Shown(s.language(), s.flow.Options, s.account, f.Kind, f.Version)
	if !ok {
		s.fail(widget.ErrStaleConsent, f.ID, "This consent text is not the current one; fetch the config again and ask again.")
		return
	}
	page := f.Page
	if page == "" {
		page = s.hello.Page
	}
	rec := func() error {
		nc := store.NewConsent{AccountID: s.account.ID, VisitorID: s.visitor.ID, ChatflowID: s.chatflow.ID,
			Kind: f.Kind, Decision: f.Decision, Text: n.Text, Language: s.language(), PageURL: page}
		switch f.Kind {
		case store.ConsentCookie:
			if f.Decision == store.ConsentRefused {
				nc.VisitorID = 0 // a refusal is remembered without an identifier
			}
		case store.ConsentDataProcessing:
			nc.Basis = s.flow.Options.DataConsent.Type
		case store.ConsentCommunication:
			nc.SubscriptionTypeID = s.flow.Options.CommunicationConsent.SubscriptionTypeID
		}
		if s.conv != nil && nc.VisitorID != 0 {
			nc.ConversationID = s.conv.ID
		}
		_, err := s.e.st.RecordConsent(ctx, nc)
		return err
	}
	err := rec()
	if err != nil && s.visitorGone(ctx, err) {
		err = rec() // the decision is this person's, now as a new visitor
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		// The subscription type or chatflow went away after the page loaded.
		s.fail(widget.ErrStaleConsent, f.ID, "This consent is no longer offered; fetch the config again.")
		return
	case err != nil:
		if s.ctx.Err() == nil {
			s.e.log.Warn("chat: consent not recorded", "err", err)
			s.fail(widget.ErrUnavailable, f.ID, "Your choice could not be saved yet; try again.")
		}
		return
	}
	switch f.Kind {
	case store.ConsentDataProcessing:
		s.dataConsent, s.dataConsentVersion, s.dataConsentLang = f.Decision == store.ConsentGranted, n.Version, s.language()
	case store.ConsentCommunication:
		s.applySubscription(ctx)
	}
	s.write(widget.Frame{Type: widget.FrameConsent, ID: f.ID, Kind: f.Kind, Decision: f.Decision, Version: f.Version})
}

// flowMaxAge is how long a session trusts its copy of the chatflow's
// settings before a send reads them again: as long as the edge caches the
// published config, so the widget and the engine agree on the consent asked.
const flowMaxAge = 10 * time.Second

// refreshFlow re-reads the chatflow's settings, and the account's names the
// consent texts are made of, when the session's copy is older than maxAge.
// On failure the copy stays (a deleted chatflow stops the chat elsewhere).
func (s *session) refreshFlow(ctx context.Context, maxAge time.Duration) {
	if time.Since(s.flowAt) < maxAge {
		return
	}
	if c, ok := s.e.flows.get(s.chatflow.ID, maxAge); ok && c.row.AccountID == s.account.ID {
		s.chatflow, s.flow, s.account, s.flowAt = c.row, c.flow, c.account, c.at
		return
	}
	at := time.Now()
	row, err := s.e.st.Chatflow(ctx, s.account.ID, s.chatflow.ID)
	if err != nil {
		return
	}
	flow, err := chatflow.FromRow(row)
	if err != nil {
		return
	}
	if acct, err := s.e.st.Account(ctx, s.account.ID); err == nil {
		s.account = acct
	}
	s.chatflow, s.flow, s.flowAt = row, flow, at
	s.e.flows.put(row.ID, cachedFlow{row: row, flow: flow, account: s.account, at: at})
}

// mayProcess reports whether the visitor's messages may be stored
// (consent.MayProcess), remembering a grant for the session so the hot
// path reads the database only when the chatflow's text may have changed.
func (s *session) mayProcess(ctx context.Context) (bool, error) {
	s.refreshFlow(ctx, flowMaxAge)
	if !consent.Required(s.flow.Options) {
		return true, nil
	}
	if s.dataConsent && consent.Agreed(s.dataConsentLang, s.flow.Options, s.account, s.dataConsentVersion) {
		return true, nil
	}
	p, err := consent.MayProcess(ctx, s.e.st, s.account, s.flow.Options, s.chatflow.ID, s.visitor.ID)
	if err != nil {
		return false, err
	}
	s.dataConsent, s.dataConsentVersion, s.dataConsentLang = p.Allowed, p.Version, p.Language
	return p.Allowed, nil
}

// language is the language the visitor's client speaks: the hello's when
// the chatflow speaks it (a translation it publishes), else the
// chatflow's own. Consent notices are judged and recorded in it.
func (s *session) language() string {
	return s.flow.Speaks(s.hello.Language)
}

// refused answers a frame carrying the visitor's data that mayProcess
// did not allow (err nil) or could not check: nothing was stored.
func (s *session) refused(id string, err error) {
	if err != nil {
		if s.ctx.Err() == nil {
			s.e.log.Warn("chat: consent not checked", "err", err)
			s.fail(widget.ErrUnavailable, id, "Your data could not be saved yet; try again.")
		}
		return
	}
	s.fail(widget.ErrConsentRequired, id, "The visitor must agree to the data-processing notice first.")
}

// conversationStarted records what a new conversation carries over: the
// consents given before it (so agents see them beside it) and, under
// legitimate interest, the consent implied by the first message. For a
// visitor without a contact CreateConversation does both in its own
// transaction (startsWith); this is the contact's path.
func (s *session) conversationStarted(ctx context.Context) {
	if _, err := s.e.st.AttachConsents(ctx, s.account.ID, s.visitor.ID, s.chatflow.ID, s.conv.ID); err != nil {
		s.e.log.Warn("chat: attach consents", "err", err)
	}
	n := s.impliedConsent()
	if n == nil {
		return
	}
	n.ConversationID = s.conv.ID
	if _, err := s.e.st.RecordConsent(ctx, *n); err != nil && s.ctx.Err() == nil {
		s.e.log.Warn("chat: implied consent not recorded", "conversation", s.conv.ID, "err", err)
	}
}

// startsWith lets CreateConversation attach the visitor's earlier consents
// and record the implied one with the conversation it creates, when the
// visitor has no contact; it reports whether it did.
func (s *session) startsWith(nc *store.NewConversation) bool {
	if s.visitor.ContactID != nil {
		return false
	}
	nc.AttachConsents, nc.Consent = true, s.impliedConsent()
	return true
}

// impliedConsent is the data-processing consent a first message implies
// under legitimate interest, or nil.
func (s *session) impliedConsent() *store.NewConsent {
	o := s.flow.Options.DataConsent
	if !o.Enabled || o.Type != widget.ConsentLegitimateInterest {
		return nil
	}
	n := consent.Texts(s.language(), s.flow.Options, s.account).DataProcessing
	if n == nil {
		return nil
	}
	return &store.NewConsent{AccountID: s.account.ID, VisitorID: s.visitor.ID,
		ChatflowID: s.chatflow.ID, Kind: store.ConsentDataProcessing,
		Basis: store.BasisLegitimateInterest, Decision: store.ConsentGranted, Text: n.Text,
		Language: s.language(), PageURL: s.hello.Page}
}

// applySubscription writes the visitor's latest communication choice on
// this chatflow to its contact, if it has one.
func (s *session) applySubscription(ctx context.Context) {
	if s.visitor.ContactID == nil {
		return
	}
	c, err := s.e.st.LatestConsent(ctx, s.account.ID, s.visitor.ID, s.chatflow.ID, store.ConsentCommunication)
	if err != nil || c.SubscriptionTypeID == nil {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.e.log.Warn("chat: communication consent", "err", err)
		}
		return
	}
	status := store.Subscribed
	if c.Decision == store.ConsentRefused {
		status = store.Unsubscribed
	}
	var conv int64
	if s.conv != nil {
		conv = s.conv.ID
	}
	if _, err := s.e.st.SetContactSubscription(ctx, s.account.ID, *s.visitor.ContactID, *c.SubscriptionTypeID, status, conv); err != nil &&
		!errors.Is(err, store.ErrNotFound) {
		s.e.log.Warn("chat: subscription not stored", "err", err)
	}
}

// checkConsent is decodeFrame's check of a consent frame.
func checkConsent(f *widget.Frame, cfg *Config) *frameError {
	switch {
	case len(f.ID) > cfg.MaxIDLen || strings.ContainsRune(f.ID, 0):
		return &frameError{code: widget.ErrBadFrame, message: "The id is too long."}
	case f.Kind != widget.ConsentCookie && f.Kind != widget.ConsentDataProcessing && f.Kind != widget.ConsentCommunication:
		return &frameError{code: widget.ErrBadFrame, id: f.ID, message: "A consent needs a kind: cookie, data_processing or communication."}
	case f.Decision != widget.DecisionGranted && f.Decision != widget.DecisionRefused:
		return &frameError{code: widget.ErrBadFrame, id: f.ID, message: "A consent needs a decision: granted or refused."}
	case f.Version == "" || len(f.Version) > 64:
		return &frameError{code: widget.ErrBadFrame, id: f.ID, message: "A consent needs the version of the notice shown."}
	case utf8.RuneCountInString(f.Page) > store.MaxContextChars || strings.ContainsRune(f.Page, 0):
		return &frameError{code: widget.ErrBadFrame, id: f.ID, message: "The page is too long."}
	}
	return nil
}

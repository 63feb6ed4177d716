package chat

import (
	"context"
	"time"

	"github.com/parleychat/parley/backend/internal/availability"
	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// PresenceFunc computes the availability of chatflow cf of account acct at
// now, its texts in lang (a language the chatflow speaks, cf.Speaks).
type PresenceFunc func(ctx context.Context, st *store.Store, acct *store.Account, cf *chatflow.Chatflow, lang string, now time.Time) (widget.Presence, error)

// computePresence is the default PresenceFunc: availability.Compute.
func computePresence(ctx context.Context, st *store.Store, acct *store.Account, cf *chatflow.Chatflow, lang string, now time.Time) (widget.Presence, error) {
	return availability.Compute(ctx, st, acct, cf, lang, now)
}

func (e *Engine) presence(ctx context.Context, acct *store.Account, cf *chatflow.Chatflow, lang string) (widget.Presence, error) {
	f := e.cfg.Presence
	if f == nil {
		f = computePresence
	}
	return f(ctx, e.st, acct, cf, lang, time.Now())
}

// presenceListener is a session of a hub with the language its hello asked for.
type presenceListener struct {
	s    *session
	lang string
}

// refreshPresence recomputes the presence of every chatflow h's sessions
// show, once per chatflow and language its widgets speak (never per
// session), and offers it to them; each session sends it only if it
// differs from what its visitor was last told.
func (e *Engine) refreshPresence(h *hub) {
	e.mu.Lock()
	byFlow := map[string][]presenceListener{}
	for s := range h.all {
		byFlow[s.flowPublicID] = append(byFlow[s.flowPublicID], presenceListener{s, s.helloLang})
	}
	e.mu.Unlock()
	if len(byFlow) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(e.ctx, e.cfg.DBTimeout)
	defer cancel()
	acct, err := e.st.Account(ctx, h.account)
	if err != nil {
		e.log.Warn("chat: presence: account", "account", h.account, "err", err)
		return
	}
	for id, ss := range byFlow {
		row, err := e.st.ChatflowByPublicID(ctx, id)
		if err != nil {
			e.log.Warn("chat: presence: chatflow", "chatflow", id, "err", err)
			continue
		}
		if row.AccountID != h.account {
			continue // a hello naming another account's chatflow, about to be refused
		}
		cf, err := chatflow.FromRow(row)
		if err != nil {
			continue
		}
		// The chatflow as it is now decides which language each session
		// speaks: a translation taken away falls back to its own.
		byLang := map[string][]*session{}
		for _, l := range ss {
			lang := cf.Speaks(l.lang)
			byLang[lang] = append(byLang[lang], l.s)
		}
		for lang, ss := range byLang {
			p, err := e.presence(ctx, acct, cf, lang)
			if err != nil {
				e.log.Warn("chat: presence", "chatflow", id, "language", lang, "err", err)
				continue
			}
			for _, s := range ss {
				s.offerPresence(p)
			}
		}
	}
}

// offerPresence hands p to the session's goroutine, replacing any presence
// it has not sent yet (only the latest matters).
func (s *session) offerPresence(p widget.Presence) {
	s.liveMu.Lock()
	s.nextPresence = &p
	s.liveMu.Unlock()
	select {
	case s.liveWake <- struct{}{}:
	default:
	}
}

// sendPresence tells the visitor p unless they were told it already.
func (s *session) sendPresence(p widget.Presence) {
	if s.presenceSent != nil && *s.presenceSent == p {
		return
	}
	s.presenceSent = &p
	s.write(widget.Frame{Type: widget.FramePresence, State: p.State, Text: p.Text, BackAt: p.BackAt, Hide: p.Hide})
}

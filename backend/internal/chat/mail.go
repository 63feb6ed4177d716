package chat

import (
	"context"
	"errors"

	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// Mailer is what the chat asks of email (backend/mail.Service): reopen
// links and transcripts on request. With a Mailer, the chat also marks
// messages left while nobody could answer for their confirmation by
// email, in the commit that stores them (confirmsOffline).
type Mailer interface {
	// ResumeConversation returns the conversation a reopen link's token names.
	ResumeConversation(ctx context.Context, token string) (int64, error)
	// SendTranscript queues the conversation's transcript to its visitor's address.
	SendTranscript(ctx context.Context, conv *store.Conversation) error
}

// resumed returns the conversation a hello's resume token names, moved
// to this visitor, or nil when the token is invalid, expired, or names
// another account's or chatflow's conversation (the chat then goes on as
// it would without one).
func (s *session) resumed(ctx context.Context, account *store.Account, cf *store.ChatflowRow, visitor *store.Visitor, token string) *store.Conversation {
	m := s.e.cfg.Mailer
	if token == "" || m == nil {
		return nil
	}
	id, err := m.ResumeConversation(ctx, token)
	if err != nil {
		return nil
	}
	c, err := s.e.st.ResumeConversation(ctx, account.ID, cf.ID, id, visitor.ID)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.e.log.Warn("chat: resume from email", "conversation", id, "err", err)
		}
		return nil
	}
	if c.ContactID != nil && visitor.ContactID == nil {
		visitor.ContactID = c.ContactID
	}
	return c
}

// onTranscript queues the conversation's transcript to the address the
// visitor left, answering transcript once queued.
func (s *session) onTranscript(f *widget.Frame) {
	m := s.e.cfg.Mailer
	if s.conv == nil || m == nil {
		s.fail(widget.ErrNoEmail, f.ID, "There is no conversation to send yet.")
		return
	}
	ctx, cancel := s.dbctx()
	defer cancel()
	err := m.SendTranscript(ctx, s.conv)
	switch {
	case err == nil:
		s.write(widget.Frame{Type: widget.FrameTranscript, ID: f.ID})
	case errors.Is(err, store.ErrMailRateLimited):
		s.fail(widget.ErrRateLimited, f.ID, "Too many emails to this address; try again later.")
	case errors.Is(err, store.ErrNoMailAddress):
		s.fail(widget.ErrNoEmail, f.ID, "Leave an email address first.")
	default:
		if s.ctx.Err() == nil {
			s.e.log.Warn("chat: transcript", "err", err)
			s.fail(widget.ErrUnavailable, f.ID, "The transcript could not be sent yet; try again.")
		}
	}
}

// confirmsOffline says whether what the visitor sends now (a message, or
// the address after one) calls for the confirmation by email of a message
// left while nobody could answer: email is on, the visitor was last told
// the team is away, and this session has not asked yet (the mail job
// sends it once per conversation).
func (s *session) confirmsOffline() bool {
	return s.e.cfg.Mailer != nil && !s.offlineConfirmed && s.presenceSent != nil && widget.Offline(*s.presenceSent)
}

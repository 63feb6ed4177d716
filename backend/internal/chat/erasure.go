package chat

import (
	"context"
	"errors"

	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// After an erasure (store.EraseContact) a live session may still hold the
// deleted visitor and conversation. It must not write for them again: the
// next write that finds them gone starts the session over as a new
// anonymous visitor, told by a fresh welcome with a new token (and no
// conversation), and a conversation deleted under the session is dropped
// as soon as its notice arrives.

// visitorGone reports whether err, from a write for the session's visitor,
// means the visitor was erased; then the session has started over as a new
// anonymous visitor.
func (s *session) visitorGone(ctx context.Context, err error) bool {
	if !errors.Is(err, store.ErrNotFound) {
		return false
	}
	ok, xerr := s.e.st.VisitorExists(ctx, s.account.ID, s.visitor.ID)
	if xerr != nil || ok {
		return false
	}
	token, v, cerr := s.e.st.CreateVisitor(ctx, s.account.ID)
	if cerr != nil {
		if s.ctx.Err() == nil {
			s.e.log.Warn("chat: new visitor after erasure", "err", cerr)
		}
		return false
	}
	s.forgetConversation()
	s.visitor, s.token, s.dataConsent = v, token, false
	s.write(widget.Frame{Type: widget.FrameWelcome, Token: token})
	return true
}

// forgetConversation stops following the session's conversation.
func (s *session) forgetConversation() {
	s.e.unfollow(s)
	s.conv, s.agentReadSent, s.surveyOffered = nil, 0, 0
	s.setLastSent(0)
}

// checkErased runs on a conversation notice: when the followed
// conversation no longer exists it is forgotten, and the visitor with it
// if that was erased too; the widget learns from a new welcome.
func (s *session) checkErased() {
	if s.conv == nil {
		return
	}
	ctx, cancel := s.dbctx()
	defer cancel()
	_, err := s.e.st.ConversationStatus(ctx, s.conv.ID)
	if !errors.Is(err, store.ErrNotFound) {
		return
	}
	if s.visitorGone(ctx, err) {
		return
	}
	s.forgetConversation()
	s.write(widget.Frame{Type: widget.FrameWelcome, Token: s.token})
}

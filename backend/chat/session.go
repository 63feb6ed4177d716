package chat

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleychat/parley/backend/store"
	"github.com/parleychat/parley/edge/link"
	"github.com/parleychat/parley/widget"
)

// session is one visitor socket carried by a link. Its goroutine handles the
// visitor's frames and the bus's wake-ups one at a time, so its state needs
// no lock and its frames go out in order.
type session struct {
	l      *linkConn
	e      *Engine
	id     uint64
	meta   link.Meta
	ctx    context.Context
	cancel context.CancelFunc
	in     chan json.RawMessage
	wake   chan struct{}

	// Owned by the session goroutine.
	hello    *widget.Frame // the accepted hello; nil before
	account  *store.Account
	chatflow *store.ChatflowRow
	visitor  *store.Visitor
	conv     *store.Conversation
	lastSent int64 // highest seq pushed to the visitor
	retry    *time.Timer

	// Guarded by Engine.mu.
	followAccount, followConv int64
}

func newSession(l *linkConn, id uint64, meta *link.Meta) *session {
	s := &session{l: l, e: l.e, id: id, in: make(chan json.RawMessage, l.e.cfg.SessionQueue), wake: make(chan struct{}, 1)}
	if meta != nil {
		s.meta = *meta
	}
	s.ctx, s.cancel = context.WithCancel(l.ctx)
	return s
}

// poke asks the session to read what it has not pushed yet; pokes coalesce.
func (s *session) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *session) run() {
	defer func() {
		s.e.unfollow(s)
		s.l.forget(s)
		if s.retry != nil {
			s.retry.Stop()
		}
	}()
	for {
		select {
		case <-s.ctx.Done():
			return
		case raw := <-s.in:
			if s.ctx.Err() == nil { // a session closed by its own frame handles nothing more
				s.handle(raw)
			}
		case <-s.wake:
			if s.ctx.Err() == nil {
				s.catchUp()
			}
		}
	}
}

// write sends one frame to the visitor.
func (s *session) write(f widget.Frame) {
	b, _ := json.Marshal(f)
	s.l.send(link.Envelope{Session: s.id, Kind: link.Data, Frame: b})
}

// fail sends an error frame; id names the message it concerns, if any.
func (s *session) fail(code, id, message string) {
	s.write(widget.Frame{Type: widget.FrameError, Code: code, ID: id, Message: message})
}

// close sends an error frame, then asks the edge to close the visitor socket
// with code, and ends the session.
func (s *session) close(errCode string, closeCode int, message string) {
	s.fail(errCode, "", message)
	s.l.send(link.Envelope{Session: s.id, Kind: link.Close, Code: closeCode, Reason: message})
	s.cancel()
}

// refuse answers a frame the session had no room for (called by the link's reader).
func (s *session) refuse(raw json.RawMessage) {
	var f widget.Frame
	json.Unmarshal(raw, &f)
	s.fail(widget.ErrRateLimited, f.ID, "Too many messages at once; slow down.")
}

// dbctx bounds one database step so a hung database answers "unavailable", not silence.
func (s *session) dbctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.ctx, s.e.cfg.DBTimeout)
}

func (s *session) handle(raw json.RawMessage) {
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD: refuse it instead.
	if !utf8.Valid(raw) {
		s.fail(widget.ErrBadFrame, "", "The frame is not valid UTF-8.")
		return
	}
	var f widget.Frame
	if err := json.Unmarshal(raw, &f); err != nil {
		s.fail(widget.ErrBadFrame, "", "The frame is not a JSON object.")
		return
	}
	if f.Type != widget.FrameHello && s.hello == nil {
		if f.Type == widget.FramePing { // keep-alives are fine at any time
			s.write(widget.Frame{Type: widget.FramePong})
			return
		}
		s.fail(widget.ErrNeedHello, f.ID, "Say hello first.")
		return
	}
	switch f.Type {
	case widget.FrameHello:
		s.onHello(&f)
	case widget.FrameSend:
		s.onSend(&f)
	case widget.FramePing:
		s.write(widget.Frame{Type: widget.FramePong})
	case widget.FrameTyping, widget.FrameRead:
		// Accepted; typing indicators and read receipts are not relayed yet.
	default:
		s.fail(widget.ErrBadFrame, f.ID, "Unknown frame type.")
	}
}

func (s *session) onHello(f *widget.Frame) {
	if s.hello != nil {
		s.fail(widget.ErrBadFrame, "", "Hello was already said on this connection.")
		return
	}
	if f.V != widget.ProtocolVersion {
		s.close(widget.ErrVersion, widget.CloseBadFrame, "Unsupported protocol version.")
		return
	}
	if f.Site == "" || f.Chatflow == "" {
		s.fail(widget.ErrBadFrame, "", "Hello needs a site and a chatflow.")
		return
	}
	ctx, cancel := s.dbctx()
	defer cancel()

	account, err := s.e.st.AccountBySite(ctx, f.Site)
	if err != nil {
		s.storeFailed(err, "Unknown site.")
		return
	}
	cf, err := s.e.st.ChatflowByPublicID(ctx, f.Chatflow)
	if err == nil && (cf.AccountID != account.ID || !cf.Enabled) {
		err = store.ErrNotFound // another account's or unpublished: the visitor cannot tell the difference
	}
	if err != nil {
		s.storeFailed(err, "Unknown chatflow.")
		return
	}

	token := f.Token
	visitor, err := s.e.st.VisitorByToken(ctx, account.ID, token)
	if errors.Is(err, store.ErrNotFound) {
		token, visitor, err = s.e.st.CreateVisitor(ctx, account.ID)
	}
	if err != nil {
		s.storeFailed(err, "")
		return
	}

	var conv *store.Conversation
	if f.Conversation != "" {
		c, err := s.e.st.ConversationByPublicID(ctx, f.Conversation)
		switch {
		case err == nil && c.AccountID == account.ID && c.VisitorID != visitor.ID:
			s.close(widget.ErrForbidden, widget.CloseForbidden, "This conversation belongs to someone else.")
			return
		case err == nil && c.AccountID == account.ID:
			conv = c
		case err != nil && !errors.Is(err, store.ErrNotFound):
			s.storeFailed(err, "")
			return
		}
		// An unknown conversation (deleted, or another account's) is simply not resumed.
	}
	if conv == nil {
		c, err := s.e.st.OpenConversationOf(ctx, visitor.ID, cf.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.storeFailed(err, "")
			return
		}
		conv = c
	}

	s.hello, s.account, s.chatflow, s.visitor = f, account, cf, visitor
	welcome := widget.Frame{Type: widget.FrameWelcome, Token: token}
	if conv != nil {
		welcome.Conversation, welcome.LastSeq = conv.PublicID, conv.LastSeq
		// What the client saw counts only for the conversation it named.
		// A claim beyond the conversation's end (a restored database, a confused
		// client) is clamped, or later events would be skipped.
		if conv.PublicID == f.Conversation && f.LastSeq > 0 {
			s.lastSent = min(f.LastSeq, conv.LastSeq)
		}
	}
	s.write(welcome)
	if conv != nil {
		s.setConversation(conv)
	}
}

// setConversation makes the session follow conv and pushes what the visitor
// has not seen. Following first, reading second: nothing committed in between is missed.
func (s *session) setConversation(conv *store.Conversation) {
	s.conv = conv
	s.e.follow(s, conv.AccountID, conv.ID)
	s.catchUp()
}

func (s *session) onSend(f *widget.Frame) {
	switch {
	case f.ID == "":
		s.fail(widget.ErrBadFrame, "", "A message needs an id.")
		return
	case len(f.ID) > s.e.cfg.MaxIDLen:
		s.fail(widget.ErrBadFrame, "", "The message id is too long.")
		return
	}
	text := strings.TrimSpace(f.Text)
	switch {
	case text == "":
		s.fail(widget.ErrBadFrame, f.ID, "The message is empty.")
		return
	case strings.ContainsRune(text, 0) || strings.ContainsRune(f.ID, 0):
		s.fail(widget.ErrBadFrame, f.ID, "The message contains a NUL character.")
		return
	case utf8.RuneCountInString(text) > s.e.cfg.MaxTextRunes:
		s.fail(widget.ErrTooLong, f.ID, "The message is too long.")
		return
	}

	ctx, cancel := s.dbctx()
	defer cancel()
	if s.conv != nil {
		status, err := s.e.st.ConversationStatus(ctx, s.conv.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.sendFailed(f.ID, err)
			return
		}
		if err != nil || status != store.StatusOpen {
			// Closed (or deleted): the next send starts a new conversation.
			s.e.unfollow(s)
			s.conv, s.lastSent = nil, 0
			s.fail(widget.ErrConvClosed, f.ID, "This conversation has ended; send again to start a new one.")
			return
		}
	}
	if s.conv == nil {
		conv, _, err := s.e.st.CreateConversation(ctx, store.NewConversation{
			AccountID:  s.account.ID,
			ChatflowID: s.chatflow.ID,
			InboxID:    s.chatflow.InboxID,
			VisitorID:  s.visitor.ID,
			PageURL:    s.hello.Page,
			Referrer:   s.hello.Referrer,
			UserAgent:  s.meta.UserAgent,
		})
		if err != nil {
			s.sendFailed(f.ID, err)
			return
		}
		s.conv = conv
		s.e.follow(s, conv.AccountID, conv.ID)
	}
	msg, _, err := s.e.st.AppendMessage(ctx, store.NewMessage{
		ConversationID: s.conv.ID,
		ClientID:       f.ID,
		AuthorType:     store.AuthorVisitor, // author_id is for users; the conversation names the visitor
		Body:           text,
	})
	if err != nil {
		s.sendFailed(f.ID, err)
		return
	}
	// Only now is the message durable.
	s.write(widget.Frame{Type: widget.FrameAck, ID: f.ID, Seq: msg.Seq, Conversation: s.conv.PublicID})
	// Echo it (and anything before it) at once rather than waiting for the notice.
	s.catchUp()
}

// sendFailed tells the widget its message was not stored, so it keeps it and retries.
func (s *session) sendFailed(id string, err error) {
	if s.ctx.Err() != nil {
		return // the session is gone; nobody to tell
	}
	s.e.log.Warn("chat: send not stored", "err", err)
	s.fail(widget.ErrUnavailable, id, "Your message could not be saved yet; it will be retried.")
}

// storeFailed ends a hello that failed: not found closes with 4404, anything
// else means the database is unreachable and the visitor should come back.
func (s *session) storeFailed(err error, notFound string) {
	if errors.Is(err, store.ErrNotFound) && notFound != "" {
		s.close(widget.ErrNotFound, widget.CloseNotFound, notFound)
		return
	}
	if s.ctx.Err() != nil {
		return
	}
	s.e.log.Warn("chat: hello failed", "err", err)
	s.close(widget.ErrUnavailable, widget.CloseTryAgain, "Chat is unavailable right now; reconnecting.")
}

// catchUp pushes every visible event after lastSent, in order. A failed read
// is retried shortly; lastSent only moves past what was actually queued.
func (s *session) catchUp() {
	if s.conv == nil {
		return
	}
	for {
		ctx, cancel := s.dbctx()
		ms, err := s.e.st.MessagesAfter(ctx, s.conv.ID, s.lastSent, s.e.cfg.ReplayBatch, false)
		cancel()
		if err != nil {
			if s.ctx.Err() == nil {
				s.e.log.Warn("chat: catch-up read failed", "err", err)
				s.scheduleRetry()
			}
			return
		}
		for _, m := range ms {
			s.write(messageFrame(m))
			s.lastSent = m.Seq
		}
		if len(ms) < s.e.cfg.ReplayBatch {
			return
		}
	}
}

func (s *session) scheduleRetry() {
	if s.retry != nil {
		s.retry.Stop()
	}
	s.retry = time.AfterFunc(s.e.cfg.RetryAfter, s.poke)
}

// messageFrame is how a stored message reaches a visitor.
func messageFrame(m store.Message) widget.Frame {
	f := widget.Frame{
		Type: widget.FrameMessage,
		Seq:  m.Seq,
		From: m.AuthorType, // the store's author types are the protocol's
		Name: m.AuthorName,
		Text: m.Body,
		At:   m.CreatedAt.UTC().Format(time.RFC3339),
	}
	if m.ClientID != nil {
		f.ID = *m.ClientID
	}
	return f
}

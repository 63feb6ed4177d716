package chat

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/backend/internal/routing"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/internal/link"
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
	flow     *chatflow.Chatflow // its settings, decoded
	visitor  *store.Visitor
	token    string // the visitor's token, as last told in a welcome
	// heldVisitor is the visitor whose socket count this session holds (limits.go).
	heldVisitor int64
	conv        *store.Conversation
	lastSent    int64 // highest seq pushed to the visitor
	// pushed mirrors lastSent for the hub, which skips pokes for notices the
	// session has already pushed (its own messages, echoed at once).
	pushed atomic.Int64
	// sending is the client id of the message onSend is storing: its
	// notice comes before the session has pushed it, and the hub skips it
	// (echoes) instead of waking the session for a read that finds nothing.
	sending atomic.Pointer[string]
	retry   *time.Timer

	presenceSent       *widget.Presence // what the visitor was last told
	typingNoticed      time.Time        // when the visitor's last typing notice went out
	agentReadSent      int64            // the team's read position last told
	agentNames         map[int64]string // names of agents seen typing
	avatars            map[int64]avatar // agents' avatars shown with their messages (live.go)
	surveyOffered      int64            // the conversation whose survey this session has sent (survey.go)
	closedTold         int64            // the conversation whose closing this session has told (survey.go)
	dataConsent        bool             // the visitor granted explicit data-processing consent (consent.go)
	dataConsentVersion string           // … to the notice of this version
	dataConsentLang    string           // … in this language
	flowAt             time.Time        // when flow was read (consent.go re-reads it)
	offlineConfirmed   bool             // the offline confirmation was marked (mail.go)

	// Handed over by the hub, guarded by liveMu; liveWake says there is some.
	liveMu       sync.Mutex
	liveWake     chan struct{}
	nextPresence *widget.Presence
	notes        []events.Notice // typing and read notices of the followed conversation
	readStale    bool            // notices were lost: re-read the read position

	// Guarded by Engine.mu.
	hubAccount, followConv  int64
	flowPublicID, helloLang string // the hello's chatflow (public id) and language, for presence
}

func newSession(l *linkConn, id uint64, meta *link.Meta) *session {
	s := &session{l: l, e: l.e, id: id, in: make(chan json.RawMessage, l.e.cfg.SessionQueue), wake: make(chan struct{}, 1), liveWake: make(chan struct{}, 1)}
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
		if s.heldVisitor != 0 {
			s.e.limits.releaseVisitor(s.heldVisitor)
			s.e.online.note(s.heldVisitor)
		}
		s.e.leave(s)
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
		case <-s.liveWake:
			if s.ctx.Err() == nil {
				s.onLive()
			}
		}
	}
}

// write sends one frame to the visitor.
func (s *session) write(f widget.Frame) {
	b := encodeFrame(&f)
	s.l.send(link.Envelope{Session: s.id, Kind: link.Data, Frame: b})
}

// writePair sends two frames to the visitor in one link message, which
// the edge writes to the visitor in one write: an ack and the message it
// acknowledges.
func (s *session) writePair(a, b *widget.Frame) {
	fa, fb := encodeFrame(a), encodeFrame(b)
	buf := make([]byte, 0, len(fa)+len(fb)+80)
	buf = s.l.encode(buf, link.Envelope{Session: s.id, Kind: link.Data, Frame: fa})
	buf = append(buf, ',')
	buf = s.l.encode(buf, link.Envelope{Session: s.id, Kind: link.Data, Frame: fb})
	s.l.sendEncoded(outgoing{buf, 2})
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
	f, ferr := decodeFrame(raw, &s.e.cfg)
	if ferr != nil && ferr.structural {
		s.fail(ferr.code, ferr.id, ferr.message)
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
	if ferr != nil {
		s.fail(ferr.code, ferr.id, ferr.message)
		return
	}
	switch f.Type {
	case widget.FrameHello:
		s.onHello(&f)
	case widget.FrameSend:
		s.onSend(&f)
	case widget.FramePing:
		s.write(widget.Frame{Type: widget.FramePong})
	case widget.FrameTyping:
		s.onTyping()
	case widget.FrameRead:
		s.onRead(&f)
	case widget.FrameEmail:
		s.onEmail(&f)
	case widget.FrameSurveyAnswer:
		s.onSurveyAnswer(&f)
	case widget.FrameConsent:
		s.onConsent(&f)
	case widget.FrameTranscript:
		s.onTranscript(&f)
	case widget.FramePush:
		s.onPush(&f)
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
	if !s.originAllowed(ctx, account) {
		return
	}
	// Join the account's hub before reading the chatflow: a change
	// committed after the read is announced after the join and reaches this
	// session, so its first presence cannot go stale unseen. A hello that
	// fails leaves again.
	s.e.join(s, account.ID, f.Chatflow, f.Language)
	defer func() {
		if s.hello == nil {
			s.e.leave(s)
		}
	}()
	cf, err := s.e.st.ChatflowByPublicID(ctx, f.Chatflow)
	if err == nil && (cf.AccountID != account.ID || !cf.Enabled) {
		err = store.ErrNotFound // another account's or unpublished: the visitor cannot tell the difference
	}
	if err != nil {
		s.storeFailed(err, "Unknown chatflow.")
		return
	}

	// Identification (identity.go): a verified hello chats as its contact;
	// anything else chats anonymously, with a warning for the console.
	contact, warning := s.identify(ctx, account, f)
	token, visitor, err := s.helloVisitor(ctx, account, f.Token, contact)
	if errors.Is(err, errTooManyVisitors) {
		s.close(widget.ErrTooManyVisitors, widget.CloseRateLimited, "Too many new visitors from this address; try again later.")
		return
	}
	if err != nil {
		s.storeFailed(err, "")
		return
	}
	if !s.e.limits.holdVisitor(visitor.ID, s.e.cfg.MaxSocketsPerVisitor) {
		s.close(widget.ErrTooManySockets, widget.CloseRateLimited, "This visitor has too many chat windows open; close some and try again.")
		return
	}
	s.heldVisitor = visitor.ID
	s.e.online.note(visitor.ID)

	// A reopen link from an email continues its conversation here.
	conv := s.resumed(ctx, account, cf, visitor, f.Resume)
	if conv == nil && f.Conversation != "" {
		c, err := s.e.st.ConversationByPublicID(ctx, f.Conversation)
		if err == nil && c.AccountID == account.ID && c.VisitorID != visitor.ID && contact != nil &&
			c.ContactID != nil && *c.ContactID == contact.ID && c.ChatflowID != nil && *c.ChatflowID == cf.ID {
			// The identified contact's own conversation, from another page or browser.
			c, err = s.e.st.AdoptContactConversation(ctx, account.ID, contact.ID, cf.ID, visitor.ID, c.ID)
		}
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
	if conv == nil && contact != nil {
		// An identified visitor has no visitor cookie: the conversation follows the contact.
		c, err := s.e.st.AdoptContactConversation(ctx, account.ID, contact.ID, cf.ID, visitor.ID, 0)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.storeFailed(err, "")
			return
		}
		conv = c
	}

	flow, err := chatflow.FromRow(cf)
	if err != nil {
		s.storeFailed(err, "")
		return
	}
	email := ""
	var properties *widget.Properties
	switch {
	case contact != nil:
		email, properties = contact.Email, welcomeProperties(contact)
	case visitor.ContactID != nil:
		if c, err := s.e.st.Contact(ctx, account.ID, *visitor.ContactID); err == nil {
			email = c.Email
		}
	case visitor.ClaimedEmail != "":
		email = visitor.ClaimedEmail // what this visitor typed, told back only to them
	case conv != nil:
		email = conv.ClaimedEmail // typed in this conversation (reopened from its email, say)
	}
	presence, perr := s.e.presence(ctx, account, flow, flow.Speaks(f.Language))
	if perr != nil {
		s.e.log.Warn("chat: presence", "chatflow", cf.ID, "err", perr)
	}

	s.hello, s.account, s.chatflow, s.flow, s.visitor, s.token = f, account, cf, flow, visitor, token
	s.flowAt = time.Now()
	welcome := widget.Frame{Type: widget.FrameWelcome, Token: token, Email: email,
		Identified: contact != nil, Properties: properties, Warning: warning}
	// A visitor who agreed to the current data-processing text on an
	// earlier page is not asked again there.
	if o := flow.Options.DataConsent; o.Enabled && o.Type == widget.ConsentExplicit {
		if ok, err := s.mayProcess(ctx); err == nil && ok {
			welcome.Version = s.dataConsentVersion
		}
	}
	if conv != nil {
		welcome.Conversation, welcome.LastSeq = conv.PublicID, conv.LastSeq
		// What the client saw counts only for the conversation it named.
		// A claim beyond the conversation's end (a restored database, a confused
		// client) is clamped, or later events would be skipped.
		if conv.PublicID == f.Conversation && f.LastSeq > 0 {
			s.setLastSent(min(f.LastSeq, conv.LastSeq))
		}
	}
	if contact != nil {
		// Before the welcome: once the page hears it is identified, the
		// choices made before (a subscription) are the contact's.
		s.sourceContact(ctx, contact)
		s.contactLinked(ctx)
	}
	s.write(welcome)
	if perr == nil {
		s.sendPresence(presence)
	}
	if conv != nil {
		s.setConversation(conv)
		s.refreshRead()
		if conv.Status == store.StatusClosed {
			s.tellClosed()
		}
		s.offerSurvey()
		s.notePage(conv, f.Page)
	}
}

// notePage records the page a hello resumed an open conversation from as
// the visitor's current page, when it is another one than the stored: one
// write per page change, never per message (store.SetConversationPage
// checks the URL and tells the agents). A failure only costs the panel.
func (s *session) notePage(conv *store.Conversation, page string) {
	if conv.Status != store.StatusOpen || page == "" || page == conv.VisitorPage() || !store.ValidPageURL(page) {
		return
	}
	ctx, cancel := s.dbctx()
	defer cancel()
	changed, err := s.e.st.SetConversationPage(ctx, conv.AccountID, conv.ID, page)
	if err != nil {
		if s.ctx.Err() == nil {
			s.e.log.Warn("chat: current page", "conversation", conv.ID, "err", err)
		}
		return
	}
	if changed {
		conv.CurrentPage = page
	}
}

// setConversation makes the session follow conv and pushes what the visitor
// has not seen. Following first, reading second: nothing committed in between is missed.
func (s *session) setConversation(conv *store.Conversation) {
	s.conv, s.agentReadSent = conv, 0
	s.e.follow(s, conv.ID)
	s.catchUp()
}

// onSend stores a visitor message (decodeFrame has checked it and trimmed its text).
func (s *session) onSend(f *widget.Frame) {
	text := f.Text
	ctx, cancel := s.dbctx()
	defer cancel()
	if ok, err := s.mayProcess(ctx); err != nil {
		s.sendFailed(f.ID, err)
		return
	} else if !ok {
		s.refused(f.ID, nil)
		return
	}
	created := false
	if s.conv == nil {
		nc := store.NewConversation{
			AccountID:  s.account.ID,
			ChatflowID: s.chatflow.ID,
			InboxID:    s.chatflow.InboxID,
			VisitorID:  s.visitor.ID,
			PageURL:    s.hello.Page,
			Referrer:   s.hello.Referrer,
			UserAgent:  s.meta.UserAgent,
		}
		started := s.startsWith(&nc)
		conv, isNew, err := s.e.st.CreateConversation(ctx, nc)
		if err != nil && s.visitorGone(ctx, err) {
			s.fail(widget.ErrConvClosed, f.ID, "You are chatting as a new visitor now; send again to start a conversation.")
			return
		}
		if err != nil {
			s.sendFailed(f.ID, err)
			return
		}
		s.conv, created = conv, isNew
		s.agentReadSent = 0
		s.e.follow(s, conv.ID)
		if s.visitor.ContactID != nil {
			// A visitor identified before the conversation began: it is the contact's.
			if err := s.e.st.LinkConversationContact(ctx, conv.ID, s.visitor.ID); err != nil {
				s.e.log.Warn("chat: link contact", "err", err)
			}
		}
		if created && !started {
			s.conversationStarted(ctx)
		}
	}
	// Left while nobody can answer, with an address to confirm it to: the
	// confirmation email is marked in the message's own commit.
	confirm := s.confirmsOffline() && (s.visitor.ContactID != nil || s.conv.ClaimedEmail != "")
	s.sending.Store(&f.ID)
	defer s.sending.Store(nil)
	msg, fresh, err := s.e.st.AppendMessage(ctx, store.NewMessage{
		ConversationID: s.conv.ID,
		ClientID:       f.ID,
		AuthorType:     store.AuthorVisitor, // author_id is for users; the conversation names the visitor
		Body:           text,
		RequireOpen:    true, // checked under the conversation's row lock
		ConfirmOffline: confirm,
	})
	if errors.Is(err, store.ErrConversationClosed) || errors.Is(err, store.ErrNotFound) {
		// Closed (or erased): the next send starts a new conversation; an
		// erased visitor starts over as a new one (erasure.go).
		if !s.visitorGone(ctx, err) {
			s.forgetConversation()
		}
		s.fail(widget.ErrConvClosed, f.ID, "This conversation has ended; send again to start a new one.")
		return
	}
	if err != nil {
		s.sendFailed(f.ID, err)
		return
	}
	// Only now is the message durable.
	ack := widget.Frame{Type: widget.FrameAck, ID: f.ID, Seq: msg.Seq, Conversation: s.conv.PublicID}
	if fresh && confirm {
		s.offlineConfirmed = true
	}
	// Echo it at once rather than waiting for the notice: straight from the
	// stored row when it is the next event (with the ack, in one link
	// message and one write to the visitor), else by reading what came before.
	if msg.Seq == s.lastSent+1 {
		echo := s.visitorFrame(*msg, nil)
		s.writePair(&ack, &echo)
		s.setLastSent(msg.Seq)
	} else {
		s.write(ack)
		s.catchUp()
	}
	// A bot (bots.go) answers new messages; routing waits for its hand-over.
	botRuns := fresh && s.botTurn(ctx, msg, created)
	if created && !botRuns {
		// After the first message, so the thread reads message then assignment.
		// A failure leaves it waiting; the next eligibility change places it.
		if err := routing.RouteNew(ctx, s.e.st, s.conv, s.flow); err != nil {
			s.e.log.Warn("chat: routing failed; trying the waiting conversations again", "conversation", s.conv.ID, "err", err)
			s.e.routeAgain(s.account.ID)
		}
	}
}

// sendFailed tells the widget its message was not stored, so it keeps it,
// and ends the session: a later send already on its way must not be stored
// before this one. The widget reconnects with backoff and resends every
// unacknowledged message in order.
func (s *session) sendFailed(id string, err error) {
	if s.ctx.Err() != nil {
		return // the session is gone; nobody to tell
	}
	s.e.log.Warn("chat: send not stored", "err", err)
	msg := "Your message could not be saved yet; it will be resent."
	s.fail(widget.ErrUnavailable, id, msg)
	s.l.send(link.Envelope{Session: s.id, Kind: link.Close, Code: widget.CloseTryAgain, Reason: msg})
	s.cancel()
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
		atts, bots := s.attachmentsOf(ms), s.botMessagesOf(ms)
		for _, m := range ms {
			f := s.visitorFrame(m, atts)
			withBotMessage(&f, bots[m.ID])
			s.write(f)
			s.setLastSent(m.Seq)
		}
		if len(ms) < s.e.cfg.ReplayBatch {
			return
		}
	}
}

// echoes reports whether n announces the message onSend is storing, which
// it pushes itself once stored (or reads, when something came between).
func (s *session) echoes(n events.Notice) bool {
	m, ok := n.Local.(*store.Message)
	id := s.sending.Load()
	return ok && id != nil && m.ClientID != nil && *m.ClientID == *id && !m.Internal
}

func (s *session) setLastSent(seq int64) {
	s.lastSent = seq
	s.pushed.Store(seq)
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

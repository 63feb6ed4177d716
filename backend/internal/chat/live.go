package chat

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// Typing, read receipts and email capture on the visitor's side.

// maxNotes bounds the typing and read notices waiting for one session;
// beyond it typing notices are dropped (they expire anyway) and the read
// position is re-read instead.
const maxNotes = 32

// onTyping tells the agents that the visitor is typing, at most once every
// TypingEvery; there is nothing to tell before a conversation exists.
func (s *session) onTyping() {
	if s.conv == nil || time.Since(s.typingNoticed) < s.e.cfg.TypingEvery {
		return
	}
	s.typingNoticed = time.Now()
	ctx, cancel := s.dbctx()
	defer cancel()
	s.e.st.Announce(ctx, events.Notice{Account: s.account.ID, Conversation: s.conv.ID,
		Kind: events.KindTyping, Author: store.ReadVisitor})
}

// onRead stores how far the visitor has read; agents learn of it by notice.
func (s *session) onRead(f *widget.Frame) {
	if s.conv == nil {
		return // nothing to have read yet
	}
	ctx, cancel := s.dbctx()
	defer cancel()
	if _, _, err := s.e.st.MarkRead(ctx, s.conv.ID, store.ReadVisitor, f.Seq); err != nil && s.ctx.Err() == nil {
		s.e.log.Warn("chat: read receipt", "err", err)
		s.fail(widget.ErrUnavailable, f.ID, "The read receipt could not be saved.")
	}
}

// onEmail keeps the address the visitor left (decodeFrame has checked it)
// as their unverified claim (claim.go) and confirms it.
func (s *session) onEmail(f *widget.Frame) {
	ctx, cancel := s.dbctx()
	defer cancel()
	if ok, err := s.mayProcess(ctx); err != nil || !ok {
		s.refused(f.ID, err)
		return
	}
	if err := s.claimEmail(ctx, f.Email); err != nil {
		if s.ctx.Err() == nil {
			s.e.log.Warn("chat: email not stored", "err", err)
			s.fail(widget.ErrUnavailable, f.ID, "Your email address could not be saved yet; try again.")
		}
		return
	}
	s.write(widget.Frame{Type: widget.FrameEmail, ID: f.ID, Email: f.Email})
}

// deliver hands a typing or read notice of the followed conversation to
// the session's goroutine (called by the hub, under Engine.mu).
func (s *session) deliver(n events.Notice) {
	s.liveMu.Lock()
	if len(s.notes) < maxNotes {
		s.notes = append(s.notes, n)
	} else if n.Kind == events.KindRead {
		s.readStale = true
	}
	s.liveMu.Unlock()
	s.wakeLive()
}

// resync makes the session re-read everything after notices were lost.
func (s *session) resync() {
	s.liveMu.Lock()
	s.readStale = true
	s.liveMu.Unlock()
	s.wakeLive()
	s.poke()
}

func (s *session) wakeLive() {
	select {
	case s.liveWake <- struct{}{}:
	default:
	}
}

// onLive sends what the hub handed over: presence, typing, receipts.
func (s *session) onLive() {
	s.liveMu.Lock()
	p, notes, stale := s.nextPresence, s.notes, s.readStale
	s.nextPresence, s.notes, s.readStale = nil, nil, false
	s.liveMu.Unlock()
	if p != nil && s.hello != nil {
		s.sendPresence(*p)
	}
	for _, n := range notes {
		if s.conv == nil || n.Conversation != s.conv.ID {
			continue // from a conversation the session has left
		}
		switch {
		case n.Kind == events.KindRead && n.Author == store.ReadAgent:
			s.sendAgentRead(n.Seq)
		case n.Kind == events.KindConversation:
			s.conversationChanged()
		case n.Kind == events.KindTyping && strings.HasPrefix(n.Author, store.ReadAgent+":"):
			id, _ := strconv.ParseInt(strings.TrimPrefix(n.Author, store.ReadAgent+":"), 10, 64)
			s.write(widget.Frame{Type: widget.FrameTyping, From: widget.FromAgent, Name: s.agentName(id)})
		}
	}
	if stale {
		s.refreshRead()
	}
}

// conversationChanged answers a conversation notice: an erasure deletes
// the conversation (erasure.go), a close is told with its survey. A new
// chat's creation and assignment are such notices too, and it is still
// open after them: one read says so, instead of one for each case.
func (s *session) conversationChanged() {
	if s.conv == nil {
		return
	}
	ctx, cancel := s.dbctx()
	c, err := s.e.st.Conversation(ctx, s.account.ID, s.conv.ID)
	cancel()
	if err == nil && c.Status != store.StatusClosed {
		s.closedTold = 0
		return
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return // the database is away: the next notice or hello tells
	}
	s.checkErased()
	s.tellClosed()
	s.offerSurvey()
}

// sendAgentRead tells the visitor how far the team has read, if it is news.
func (s *session) sendAgentRead(seq int64) {
	if seq <= s.agentReadSent {
		return
	}
	s.agentReadSent = seq
	s.write(widget.Frame{Type: widget.FrameRead, From: widget.FromAgent, Seq: seq})
}

// refreshRead reads the team's read position of the conversation from the
// database: on resume, and after lost notices.
func (s *session) refreshRead() {
	if s.conv == nil {
		return
	}
	ctx, cancel := s.dbctx()
	defer cancel()
	_, agent, err := s.e.st.ReadPositions(ctx, s.conv.ID)
	if err != nil {
		if s.ctx.Err() == nil {
			s.e.log.Warn("chat: read positions", "err", err)
		}
		return
	}
	s.sendAgentRead(agent)
}

// agentName is the name the visitor sees for agent id: the brand's when
// the chatflow uses it as the agents' alias, else the agent's own.
func (s *session) agentName(id int64) string {
	if s.flow != nil && s.flow.Look.BrandAlias {
		if n := s.flow.Look.Heading.BrandName; n != "" {
			return n
		}
		if s.account.CompanyName != "" {
			return s.account.CompanyName
		}
		return s.account.Name
	}
	if n, ok := s.agentNames[id]; ok {
		return n
	}
	ctx, cancel := s.dbctx()
	defer cancel()
	u, err := s.e.st.User(ctx, s.account.ID, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.Name == "" {
		return "Someone"
	}
	if err != nil {
		return "Someone" // not cached: the next notice tries again
	}
	if s.agentNames == nil {
		s.agentNames = map[int64]string{}
	}
	s.agentNames[id] = u.Name
	return u.Name
}

// avatarsFresh is how long a session trusts an agent's avatar it looked up.
const avatarsFresh = time.Minute

// agentAvatar is the image URL the visitor sees beside agent id's
// messages: their uploaded image, served by the edge under the site's own
// address (a root-relative path), else their avatar URL, else none.
// Looked up once a minute per agent per session, not per message.
func (s *session) agentAvatar(id int64) string {
	if a, ok := s.avatars[id]; ok && time.Since(a.at) < avatarsFresh {
		return a.url
	}
	ctx, cancel := s.dbctx()
	defer cancel()
	u, err := s.e.st.User(ctx, s.account.ID, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "" // not cached: the next message tries again
	}
	url := ""
	switch {
	case err != nil:
	case u.AvatarImageID != "":
		url = widget.ImagePath(s.account.PublicID, u.AvatarImageID)
	case strings.HasPrefix(u.AvatarURL, "https://"), strings.HasPrefix(u.AvatarURL, "http://"):
		url = u.AvatarURL
	}
	if s.avatars == nil {
		s.avatars = map[int64]avatar{}
	}
	s.avatars[id] = avatar{url: url, at: time.Now()}
	return url
}

// avatar is an agent's avatar URL as a session last looked it up.
type avatar struct {
	url string
	at  time.Time
}

package mail

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parleychat/parley/backend/internal/store"
)

// Email to agents: news of their chats while no inbox page of theirs is
// open (assigned to them, a visitor message in theirs, an unassigned chat
// that waited past Config.WaitingAfter), at once or as an hourly digest as
// each chose on My account; "forgot password" links; invitations.
// Agents' emails are in English: users have no language of their own.

// inboxPresence counts each agent's open inbox sockets on this backend and
// keeps the database's view of it fresh.
type inboxPresence struct {
	mu      sync.Mutex
	open    map[int64]int
	backend string
	dirty   chan struct{}
}

// InboxOpened records an inbox page's live socket of userID; call the
// returned function when it closes. The database learns of a first socket
// at once, so no email goes out for what the agent is looking at.
func (s *Service) InboxOpened(userID int64) (closed func()) {
	p := &s.presence
	p.mu.Lock()
	p.open[userID]++
	first := p.open[userID] == 1
	p.mu.Unlock()
	if first {
		s.syncPresence()
	}
	return func() {
		p.mu.Lock()
		p.open[userID]--
		last := p.open[userID] == 0
		if last {
			delete(p.open, userID)
		}
		p.mu.Unlock()
		if last {
			s.syncPresence()
		}
	}
}

// syncPresence writes this backend's open inboxes to the database.
func (s *Service) syncPresence() {
	p := &s.presence
	p.mu.Lock()
	users := make([]int64, 0, len(p.open))
	for u := range p.open {
		users = append(users, u)
	}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.st.TouchInboxPresence(ctx, p.backend, users); err != nil {
		s.log.Warn("mail: inbox presence", "err", err)
	}
}

// agentJob collects and mails agents' news, and keeps inbox presence fresh.
func (s *Service) agentJob(ctx context.Context) {
	t := time.NewTicker(s.cfg.PollEvery)
	defer t.Stop()
	refresh := time.NewTicker(store.InboxPresenceFresh / 3)
	defer refresh.Stop()
	prune := time.NewTicker(10 * time.Minute)
	defer prune.Stop()
	runs := 0
	for {
		select {
		case <-ctx.Done():
			s.presence.mu.Lock()
			s.presence.open = map[int64]int{}
			s.presence.mu.Unlock()
			s.syncPresence() // this backend's sockets are gone
			return
		case <-refresh.C:
			s.syncPresence()
		case <-prune.C:
			if _, err := s.st.PruneMail(context.WithoutCancel(ctx)); err != nil {
				s.log.Warn("mail: prune", "err", err)
			}
		case <-t.C:
			// Chats of agents with a page open are told past every tenth run.
			runs++
			if _, err := s.agentNews(context.WithoutCancel(ctx), runs%agentTellPresentEvery == 0); err != nil {
				s.log.Warn("mail: agent news", "err", err)
			}
		}
	}
}

// agentTellPresentEvery: every this many runs, the collection also moves
// what was told of the chats of agents with an inbox page open (10 s with
// the default PollEvery; presence counts for store.InboxPresenceFresh).
const agentTellPresentEvery = 10

// AgentNewsOnce collects agents' news and writes the emails due; it
// returns how many it wrote.
func (s *Service) AgentNewsOnce(ctx context.Context) (int, error) {
	return s.agentNews(ctx, true)
}

// agentNews is AgentNewsOnce; tellPresent as in store.CollectAgentNews.
func (s *Service) agentNews(ctx context.Context, tellPresent bool) (int, error) {
	if err := s.st.CollectAgentNews(ctx, s.cfg.WaitingAfter, tellPresent); err != nil {
		return 0, err
	}
	n, err := s.st.DeliverAgentNews(ctx, s.renderAgentNews)
	if n > 0 {
		s.Poke()
	}
	return n, err
}

var newsLabel = map[string]string{
	"assigned": "Assigned to you",
	"message":  "New message",
	"waiting":  "Waiting for an answer",
}

func (s *Service) renderAgentNews(ctx context.Context, to *store.AgentMailTo) (*store.OutboxEmail, error) {
	v := View{Lang: "en", Brand: Brand{Name: "Parley", Accent: "#2f6fed"},
		Footer: "You get these emails while no inbox page of yours is open. Choose at once, hourly or off on My account."}
	seen := map[string]bool{}
	for _, n := range to.News {
		k := n.Kind + ":" + strconv.FormatInt(n.ConversationID, 10)
		if seen[k] {
			continue
		}
		seen[k] = true
		who := n.Who
		if who == "" {
			who = "A visitor"
		}
		line := Line{Author: newsLabel[n.Kind] + " · " + who, Text: n.Last}
		if s.cfg.PublicURL != "" {
			line.Text = strings.TrimSpace(line.Text + "\n" + s.cfg.PublicURL + "/inbox/conversations/" + strconv.FormatInt(n.ConversationID, 10))
		}
		v.Lines = append(v.Lines, line)
	}
	subject := strconv.Itoa(len(v.Lines)) + " conversations need you"
	if len(v.Lines) == 1 {
		subject = v.Lines[0].Author
	}
	v.Intro = "Hello " + to.Name + ", this happened in Parley:"
	if s.cfg.PublicURL != "" {
		v.Button, v.ButtonURL = "Open the inbox", s.cfg.PublicURL+"/inbox"
	}
	text, html, err := render(v)
	if err != nil {
		return nil, err
	}
	return &store.OutboxEmail{AccountID: &to.AccountID, Kind: store.MailAgent, MessageID: s.NewMessageID(), Recipient: to.Email,
		FromName: "Parley", Subject: subject, TextBody: text, HTMLBody: html}, nil
}

// ResetTTL is how long a "forgot password" link works.
const ResetTTL = time.Hour

// ResetLimit throttles "forgot password": per email and per client address, an hour.
var ResetLimit = store.PasswordResetLimit{PerEmail: 3, PerAddress: 20}

// RequestPasswordReset handles "forgot password" for email from address:
// when a user signs in with it (and the throttle allows), a one-time link
// to resetURL(token) is mailed, written with the token. The answer is the
// same whether or not anyone has that address.
func (s *Service) RequestPasswordReset(ctx context.Context, email, address string, resetURL func(token string) string) error {
	err := s.st.RequestPasswordReset(ctx, email, address, ResetTTL, ResetLimit, func(u *store.User, token string) (*store.OutboxEmail, error) {
		v := View{Lang: "en", Brand: Brand{Name: "Parley", Accent: "#2f6fed"},
			Intro:  "Hello " + u.Name + ", someone (we hope you) asked to set a new password for " + u.Email + ". The link works once, for an hour.",
			Button: "Set a new password", ButtonURL: resetURL(token),
			Footer: "If you did not ask, ignore this email: your password stays as it is."}
		text, html, err := render(v)
		if err != nil {
			return nil, err
		}
		return &store.OutboxEmail{AccountID: &u.AccountID, Kind: store.MailPassword, MessageID: s.NewMessageID(), Recipient: u.Email,
			FromName: "Parley", Subject: "Set a new password for Parley", TextBody: text, HTMLBody: html}, nil
	})
	if err == nil {
		s.Poke()
	}
	return err
}

// InvitationEmail renders the email inviting user u to the account named
// accountName through link, for the caller to write in the transaction
// that makes the invitation.
func (s *Service) InvitationEmail(u *store.User, accountName, link string) (*store.OutboxEmail, error) {
	v := View{Lang: "en", Brand: Brand{Name: "Parley", Accent: "#2f6fed"},
		Intro:  "Hello " + u.Name + ", you are invited to answer chats for " + accountName + " in Parley. Choose your password to sign in; the link works once.",
		Button: "Accept the invitation", ButtonURL: link,
		Footer: "If you did not expect this, ignore this email."}
	text, html, err := render(v)
	if err != nil {
		return nil, err
	}
	return &store.OutboxEmail{AccountID: &u.AccountID, Kind: store.MailInvitation, MessageID: s.NewMessageID(), Recipient: u.Email,
		FromName: "Parley", Subject: "You are invited to " + accountName + " on Parley", TextBody: text, HTMLBody: html}, nil
}

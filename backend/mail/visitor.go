package mail

import (
	"context"
	"strconv"
	"time"

	"github.com/parleychat/parley/backend/store"
)

// now is the clock of tokens; a variable so tests can move it.
var now = time.Now

// Emails to visitors. Every one is about the visitor's own conversation
// (the agent's replies, the confirmation of their offline message, its
// transcript) and goes only to the address left in it, at most
// Config.PerAddress an hour. A visitor who refused the communication
// consent gets no transcript at close (they did not ask for it); the
// replies and what they asked for still reach them.

// ErrNoAddress: the conversation has no address to mail.
var ErrNoAddress = store.ErrNoMailAddress

// ErrRateLimited: the address has had its share of email for now.
var ErrRateLimited = store.ErrMailRateLimited

func (s *Service) limit() store.MailLimit {
	return store.MailLimit{Max: s.cfg.PerAddress, Window: s.cfg.Window}
}

// replyJob turns agent replies the visitor left unread into emails, and
// closed conversations into transcripts where the chatflow asks for them.
func (s *Service) replyJob(ctx context.Context) {
	every := min(s.cfg.PollEvery, max(s.cfg.ReplyDelay/4, 50*time.Millisecond))
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.RunDueOnce(context.WithoutCancel(ctx)); err != nil {
			s.log.Warn("mail: due replies", "err", err)
		}
	}
}

// RunDueOnce writes the emails of reply bursts past the delay and of
// conversations closed since the last run; it returns how many it handled.
func (s *Service) RunDueOnce(ctx context.Context) (int, error) {
	n, err := s.st.ProcessDueReplies(ctx, s.cfg.ReplyDelay, 100, s.renderReplies)
	if err != nil {
		return n, err
	}
	m, err := s.st.ProcessClosed(ctx, 100, s.renderClosed)
	if n+m > 0 {
		s.Poke()
	}
	return n + m, err
}

func (s *Service) renderReplies(ctx context.Context, d *store.DueReply) (*store.OutboxEmail, store.MailLimit, error) {
	cc, err := s.conversationContext(ctx, &d.Conversation)
	if err != nil {
		return nil, s.limit(), err
	}
	v := View{Lang: cc.lang, Brand: cc.brand, Intro: t(cc.lang, "reply_intro", "brand", cc.brand.Name),
		Footer: t(cc.lang, "footer", "brand", cc.brand.Name)}
	for _, m := range d.Messages {
		name := m.AuthorName
		if name == "" {
			name = cc.brand.Name
		}
		v.Lines = append(v.Lines, Line{Author: name, Text: m.Body, File: m.HasAttachment})
	}
	if u := s.resumeURL(ctx, &d.Conversation); u != "" {
		v.Button, v.ButtonURL = t(cc.lang, "reply_button"), u
	}
	replyTo := s.replyAddress(ctx, cc.acct, d.Conversation.ID)
	if replyTo != "" {
		v.Hint = t(cc.lang, "reply_by_email")
	}
	return s.email(cc, &d.Conversation, store.MailReply, d.Recipient.Email, replyTo,
		t(cc.lang, "reply_subject", "brand", cc.brand.Name), v, "")
}

func (s *Service) renderClosed(ctx context.Context, d *store.ClosedDue) (*store.OutboxEmail, store.MailLimit, error) {
	cc, err := s.conversationContext(ctx, &d.Conversation)
	if err != nil || cc.flow == nil || !cc.flow.EmailCapture.TranscriptAtClose || d.Recipient.RefusedCommunication || len(d.Messages) == 0 {
		return nil, s.limit(), err
	}
	return s.transcript(ctx, cc, &d.Conversation, d.Recipient.Email, d.Messages,
		"transcript-close:"+strconv.FormatInt(d.Conversation.ID, 10)+":"+strconv.FormatInt(d.Conversation.LastSeq, 10))
}

func (s *Service) transcript(ctx context.Context, cc *conversationContext, conv *store.Conversation, to string, ms []store.Message, dedupe string) (*store.OutboxEmail, store.MailLimit, error) {
	v := View{Lang: cc.lang, Brand: cc.brand, Intro: t(cc.lang, "transcript_intro", "brand", cc.brand.Name),
		Footer: t(cc.lang, "footer", "brand", cc.brand.Name)}
	for _, m := range ms {
		name := m.AuthorName
		switch {
		case m.AuthorType == store.AuthorVisitor:
			name = t(cc.lang, "you")
		case name == "":
			name = cc.brand.Name
		}
		v.Lines = append(v.Lines, Line{Author: name, Text: m.Body, File: m.HasAttachment})
	}
	if conv.Status == store.StatusOpen {
		if u := s.resumeURL(ctx, conv); u != "" {
			v.Button, v.ButtonURL = t(cc.lang, "reply_button"), u
		}
	}
	return s.email(cc, conv, store.MailTranscript, to, s.replyAddress(ctx, cc.acct, conv.ID),
		t(cc.lang, "transcript_subject", "brand", cc.brand.Name), v, dedupe)
}

// email renders v into an outbox row.
func (s *Service) email(cc *conversationContext, conv *store.Conversation, kind, to, replyTo, subject string, v View, dedupe string) (*store.OutboxEmail, store.MailLimit, error) {
	text, html, err := render(v)
	if err != nil {
		return nil, s.limit(), err
	}
	e := &store.OutboxEmail{AccountID: &cc.acct.ID, Kind: kind, MessageID: s.NewMessageID(), Recipient: to,
		FromName: cc.fromName(), ReplyTo: replyTo, Subject: subject, TextBody: text, HTMLBody: html}
	if conv != nil {
		e.ConversationID = &conv.ID
	}
	if dedupe != "" {
		e.DedupeKey = &dedupe
	}
	return e, s.limit(), nil
}

// SendTranscript queues the transcript of conversation conv to its
// visitor's address, as the visitor asked in the chat.
func (s *Service) SendTranscript(ctx context.Context, conv *store.Conversation) error {
	r, err := s.st.ConversationRecipient(ctx, conv.ID)
	if err != nil {
		return err
	}
	if r.Email == "" {
		return ErrNoAddress
	}
	ms, err := s.st.MessagesAfter(ctx, conv.ID, 0, 500, false)
	if err != nil {
		return err
	}
	cc, err := s.conversationContext(ctx, conv)
	if err != nil {
		return err
	}
	e, lim, err := s.transcript(ctx, cc, conv, r.Email, ms, "")
	if err != nil {
		return err
	}
	if _, err := s.st.EnqueueEmail(ctx, e, lim); err != nil {
		return err
	}
	s.Poke()
	return nil
}

// ConfirmOffline queues, once per conversation, the confirmation of a
// message the visitor left while the team was away, quoting it.
func (s *Service) ConfirmOffline(ctx context.Context, conv *store.Conversation) error {
	r, err := s.st.ConversationRecipient(ctx, conv.ID)
	if err != nil {
		return err
	}
	if r.Email == "" {
		return ErrNoAddress
	}
	ms, err := s.st.MessagesAfter(ctx, conv.ID, 0, 50, false)
	if err != nil {
		return err
	}
	cc, err := s.conversationContext(ctx, conv)
	if err != nil {
		return err
	}
	v := View{Lang: cc.lang, Brand: cc.brand, Intro: t(cc.lang, "offline_intro", "email", r.Email),
		Footer: t(cc.lang, "footer", "brand", cc.brand.Name)}
	for _, m := range ms {
		if m.AuthorType == store.AuthorVisitor {
			v.Lines = append(v.Lines, Line{Author: t(cc.lang, "you"), Text: m.Body, File: m.HasAttachment})
		}
	}
	if len(v.Lines) == 0 {
		return nil // nothing left yet; the next message confirms
	}
	if u := s.resumeURL(ctx, conv); u != "" {
		v.Button, v.ButtonURL = t(cc.lang, "reply_button"), u
	}
	replyTo := s.replyAddress(ctx, cc.acct, conv.ID)
	if replyTo != "" {
		v.Hint = t(cc.lang, "reply_by_email")
	}
	e, lim, err := s.email(cc, conv, store.MailOffline, r.Email, replyTo, t(cc.lang, "offline_subject"), v,
		"offline:"+strconv.FormatInt(conv.ID, 10))
	if err != nil {
		return err
	}
	if _, err := s.st.EnqueueEmail(ctx, e, lim); err != nil {
		return err
	}
	s.Poke()
	return nil
}

// ResumeConversation returns the conversation a resume token names.
func (s *Service) ResumeConversation(ctx context.Context, token string) (int64, error) {
	key, err := s.Key(ctx)
	if err != nil {
		return 0, err
	}
	return Verify(key, PurposeResume, token, now())
}

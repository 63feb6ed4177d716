package mail

import (
	"context"
	"strconv"
	"time"

	"github.com/parleychat/parley/backend/internal/store"
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

// replyJob writes the emails the mail_due marks call for: agent replies
// to visitors who are away, offline confirmations, transcripts at close.
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
			s.log.Warn("mail: due emails", "err", err)
		}
	}
}

// RunDueOnce writes the emails of reply bursts whose visitor has been
// away for the delay, of offline messages and of conversations closed
// since the last run; it returns how many marks it handled.
func (s *Service) RunDueOnce(ctx context.Context) (int, error) {
	total := 0
	for _, kind := range []string{store.DueOffline, store.DueReply, store.DueClose} {
		delay := time.Duration(0)
		if kind == store.DueReply {
			delay = s.cfg.ReplyDelay
		}
		n, err := s.st.ProcessDue(ctx, kind, delay, 100, s.renderDue)
		total += n
		if err != nil {
			return total, err
		}
	}
	if total > 0 {
		s.Poke()
	}
	return total, nil
}

// renderDue renders the email a mail_due mark calls for (nil for none).
func (s *Service) renderDue(ctx context.Context, d *store.Due) (*store.OutboxEmail, store.MailLimit, error) {
	cc, err := s.conversationContext(ctx, &d.Conversation)
	if err != nil {
		return nil, s.limit(), err
	}
	id := strconv.FormatInt(d.Conversation.ID, 10)
	switch d.Kind {
	case store.DueReply:
		return s.visitorEmail(ctx, cc, &d.Conversation, store.MailReply, d.Recipient.Email,
			t(cc.lang, "reply_intro", "brand", cc.brand.Name), t(cc.lang, "reply_subject", "brand", cc.brand.Name), d.Messages, "")
	case store.DueOffline:
		return s.visitorEmail(ctx, cc, &d.Conversation, store.MailOffline, d.Recipient.Email,
			t(cc.lang, "offline_intro", "email", d.Recipient.Email), t(cc.lang, "offline_subject"), d.Messages, "offline:"+id)
	case store.DueClose:
		if cc.flow == nil || !cc.flow.EmailCapture.TranscriptAtClose || d.Recipient.RefusedCommunication {
			return nil, s.limit(), nil
		}
		return s.transcript(ctx, cc, &d.Conversation, d.Recipient.Email, d.Messages,
			"transcript-close:"+id+":"+strconv.FormatInt(d.Conversation.LastSeq, 10))
	}
	return nil, s.limit(), nil
}

func (s *Service) transcript(ctx context.Context, cc *conversationContext, conv *store.Conversation, to string, ms []store.Message, dedupe string) (*store.OutboxEmail, store.MailLimit, error) {
	return s.visitorEmail(ctx, cc, conv, store.MailTranscript, to, t(cc.lang, "transcript_intro", "brand", cc.brand.Name),
		t(cc.lang, "transcript_subject", "brand", cc.brand.Name), ms, dedupe)
}

// visitorEmail renders an email about conv to its visitor at to: intro,
// the messages ms (the visitor's own as "you", the team's by the agent's
// name or the brand's), and while the conversation is open a reopen link
// and, with a reply address, the hint that replying works.
func (s *Service) visitorEmail(ctx context.Context, cc *conversationContext, conv *store.Conversation, kind, to, intro, subject string,
	ms []store.Message, dedupe string) (*store.OutboxEmail, store.MailLimit, error) {
	v := View{Lang: cc.lang, Brand: cc.brand, Intro: intro, Footer: t(cc.lang, "footer", "brand", cc.brand.Name)}
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
	replyTo := s.replyAddress(ctx, cc.acct, conv.ID)
	if conv.Status == store.StatusOpen {
		if u := s.resumeURL(ctx, conv); u != "" {
			v.Button, v.ButtonURL = t(cc.lang, "reply_button"), u
		}
		if replyTo != "" {
			v.Hint = t(cc.lang, "reply_by_email")
		}
	}
	text, html, err := render(v)
	if err != nil {
		return nil, s.limit(), err
	}
	e := &store.OutboxEmail{AccountID: &cc.acct.ID, ConversationID: &conv.ID, Kind: kind, MessageID: s.NewMessageID(), Recipient: to,
		FromName: cc.fromName(), ReplyTo: replyTo, Subject: subject, TextBody: text, HTMLBody: html}
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

// ResumeConversation returns the conversation a resume token names.
func (s *Service) ResumeConversation(ctx context.Context, token string) (int64, error) {
	key, err := s.Key(ctx)
	if err != nil {
		return 0, err
	}
	return Verify(key, PurposeResume, token, now())
}

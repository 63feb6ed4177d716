package chat

import (
	"errors"
	"strings"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/backend/internal/survey"
	"github.com/parleychat/parley/widget"
)

// The end of a conversation on the visitor's side: when the followed
// conversation closes the visitor gets a closed frame at once, then, when
// its chatflow links a chat survey, a survey frame; their survey_answer is
// stored once and shows in the agents' thread and on the survey's page.

// tellClosed sends closed when the followed conversation is closed: at
// once when the team closes it (a conversation notice) and on a resume.
// Each closing is told once per session; a reopened conversation that
// closes again is told again.
func (s *session) tellClosed() {
	if s.conv == nil {
		return
	}
	ctx, cancel := s.dbctx()
	defer cancel()
	c, err := s.e.st.Conversation(ctx, s.account.ID, s.conv.ID)
	if err != nil {
		return // erased (checkErased's), or the database is away: the next notice or hello tells
	}
	if c.Status != store.StatusClosed {
		s.closedTold = 0
		return
	}
	if s.closedTold == c.ID {
		return
	}
	s.closedTold = c.ID
	s.write(widget.Frame{Type: widget.FrameClosed, Conversation: c.PublicID, LastSeq: c.LastSeq})
}

// offerSurvey sends the survey of the followed conversation if one is
// waiting for an answer: after a conversation notice (a close) and on
// resume. A session offers it once per conversation; a new socket (a
// reload) offers it again until it is answered.
func (s *session) offerSurvey() {
	if s.conv == nil || s.surveyOffered == s.conv.ID {
		return
	}
	ctx, cancel := s.dbctx()
	defer cancel()
	sv, err := s.e.st.PendingSurvey(ctx, s.conv.ID)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) && s.ctx.Err() == nil {
			s.e.log.Warn("chat: pending survey", "conversation", s.conv.ID, "err", err)
		}
		return
	}
	s.surveyOffered = s.conv.ID
	s.write(widget.Frame{Type: widget.FrameSurvey, Survey: sv.ID, Question: sv.Question, Scale: sv.Scale, AllowComment: sv.AllowComment})
}

// onSurveyAnswer stores the visitor's answer to the followed conversation's survey.
func (s *session) onSurveyAnswer(f *widget.Frame) {
	if s.conv == nil {
		s.fail(widget.ErrNoSurvey, f.ID, "There is no conversation to rate.")
		return
	}
	ctx, cancel := s.dbctx()
	defer cancel()
	if ok, err := s.mayProcess(ctx); err != nil || !ok {
		s.refused(f.ID, err)
		return
	}
	conv, err := s.e.st.Conversation(ctx, s.account.ID, s.conv.ID)
	if err != nil {
		s.surveyFailed(f, err)
		return
	}
	if conv.Status != store.StatusClosed || conv.ChatflowID == nil {
		s.fail(widget.ErrNoSurvey, f.ID, "This conversation has no survey to answer yet.")
		return
	}
	cf, err := s.e.st.Chatflow(ctx, s.account.ID, *conv.ChatflowID)
	if err != nil {
		s.surveyFailed(f, err)
		return
	}
	flowSurvey := surveyOf(cf)
	if flowSurvey == 0 || flowSurvey != f.Survey {
		s.fail(widget.ErrNoSurvey, f.ID, "That survey is not the one of this conversation.")
		return
	}
	sv, err := s.e.st.Survey(ctx, s.account.ID, f.Survey)
	if err == nil && sv.Delivery != store.SurveyDeliveryChat {
		err = store.ErrNotFound
	}
	if err != nil {
		s.surveyFailed(f, err)
		return
	}
	comment, err := survey.CheckAnswer(sv, f.Score, f.Comment)
	if err != nil {
		s.fail(widget.ErrBadAnswer, f.ID, err.Error())
		return
	}
	r, _, err := s.e.st.AnswerSurvey(ctx, sv.ID, conv.ID, f.Score, comment, survey.Note(sv, f.Score, comment))
	if errors.Is(err, store.ErrAnswered) {
		s.fail(widget.ErrNoSurvey, f.ID, "This conversation's survey was already answered.")
		return
	}
	if err != nil && r == nil {
		s.surveyFailed(f, err)
		return
	}
	if err != nil {
		// Stored; only the thread's note failed. The answer counts.
		s.e.log.Warn("chat: survey note", "conversation", conv.ID, "err", err)
	}
	s.surveyOffered = conv.ID
	s.write(widget.Frame{Type: widget.FrameSurveyAnswer, ID: f.ID, Survey: sv.ID, Score: r.Score, Comment: r.Comment})
}

func (s *session) surveyFailed(f *widget.Frame, err error) {
	if errors.Is(err, store.ErrNotFound) {
		s.fail(widget.ErrNoSurvey, f.ID, "This conversation has no survey.")
		return
	}
	if s.ctx.Err() == nil {
		s.e.log.Warn("chat: survey answer", "err", err)
		s.fail(widget.ErrUnavailable, f.ID, "Your answer could not be saved yet; try again.")
	}
}

// surveyOf is the survey id a chatflow row links, 0 for none.
func surveyOf(cf *store.ChatflowRow) int64 {
	flow, err := chatflow.FromRow(cf)
	if err != nil {
		return 0
	}
	return flow.Options.SurveyID
}

// checkSurveyAnswer is decodeFrame's check of a survey_answer: the parts
// that need no database.
func checkSurveyAnswer(f *widget.Frame, cfg *Config) *frameError {
	switch {
	case len(f.ID) > cfg.MaxIDLen || strings.ContainsRune(f.ID, 0):
		return &frameError{code: widget.ErrBadFrame, message: "The id is too long."}
	case f.Survey <= 0:
		return &frameError{code: widget.ErrBadFrame, id: f.ID, message: "Name the survey you answer."}
	case f.Score < survey.MinScore || f.Score > survey.MaxScore:
		return &frameError{code: widget.ErrBadAnswer, id: f.ID, message: survey.ErrScore.Error()}
	}
	return nil
}

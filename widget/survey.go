package widget

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxSurveyComment is the longest survey comment the server takes.
const MaxSurveyComment = 1000

// SurveyAsk is a satisfaction survey the server asked for (a survey frame).
type SurveyAsk struct {
	ID           int64
	Question     string
	Scale        string // ScaleNumeric | ScaleEmoji
	AllowComment bool
}

// Survey state the shell shows.
type SurveyState int

// Survey states.
const (
	SurveyNone    SurveyState = iota // nothing to show
	SurveyAsking                     // show the question
	SurveySending                    // answered, waiting for the server
	SurveyThanked                    // stored: thank the visitor
)

// emojiScale are the faces of the emoji scale, worst (1) to best (5).
var emojiScale = [5]string{"😞", "🙁", "😐", "🙂", "😄"}

// ScoreLabel is what score n's button shows on scale: the number, or its face.
func ScoreLabel(scale string, n int) string {
	if scale == ScaleEmoji && n >= 1 && n <= 5 {
		return emojiScale[n-1]
	}
	return strconv.Itoa(n)
}

// receiveSurvey applies survey and survey_answer frames.
func (s *Session) receiveSurvey(f Frame) {
	switch f.Type {
	case FrameSurvey:
		if s.Survey != nil && s.Survey.ID == f.Survey && s.surveyState != SurveyAsking {
			return // asked again on a resume while the answer is on its way
		}
		s.Survey = &SurveyAsk{ID: f.Survey, Question: f.Question, Scale: f.Scale, AllowComment: f.AllowComment}
		s.surveyState = SurveyAsking
	case FrameSurveyAnswer:
		if s.Survey != nil && s.Survey.ID == f.Survey {
			s.surveyState, s.surveyOut = SurveyThanked, nil
		}
	}
}

// SurveyState returns what to show of the survey.
func (s *Session) SurveyState() SurveyState { return s.surveyState }

// AnswerSurvey sends the visitor's score (1-5) and comment. A score out of
// range or a comment too long is refused with an error to show.
func (s *Session) AnswerSurvey(score int, comment string) (Update, error) {
	if s.Survey == nil || s.surveyState != SurveyAsking {
		return Update{}, textError("err_other")
	}
	comment = strings.TrimSpace(comment)
	if score < 1 || score > 5 {
		s.notice = T("survey_pick")
		return Update{}, textError("survey_pick")
	}
	if !s.Survey.AllowComment {
		comment = ""
	}
	if utf8.RuneCountInString(comment) > MaxSurveyComment {
		s.notice = T("err_bad_answer", "max", strconv.Itoa(MaxSurveyComment))
		return Update{}, textError("err_bad_answer")
	}
	s.notice = ""
	f := Frame{Type: FrameSurveyAnswer, Survey: s.Survey.ID, Score: score, Comment: comment}
	s.surveyOut = &f
	s.surveyState = SurveySending
	var u Update
	if s.state == ConnConnected {
		u.Send = append(u.Send, f)
	}
	return u, nil
}

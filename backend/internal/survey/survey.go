// Package survey holds the rules of satisfaction (CSAT) surveys: what a
// survey may say, what an answer may be, and how an answer reads in the
// conversation's thread. Storage is backend/store; REST is backend/internal/api;
// the widget's side is the survey frames of package widget.
package survey

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
)

// Limits.
const (
	MaxNameRunes     = 200
	MaxQuestionRunes = 500
	MaxCommentRunes  = 1000
	MinScore         = 1
	MaxScore         = 5
)

// Emoji are the faces of the emoji scale, for scores 1 to 5.
var Emoji = [MaxScore]string{"😞", "🙁", "😐", "🙂", "😄"}

// Validate checks a survey before it is stored, field by field.
func Validate(sv *store.Survey) error {
	var e problem.Errors
	text := func(field, v string, max int) {
		switch n := utf8.RuneCountInString(strings.TrimSpace(v)); {
		case !utf8.ValidString(v) || strings.ContainsRune(v, 0):
			e.Add(field, "must be valid text")
		case n == 0:
			e.Add(field, "is required")
		case n > max:
			e.Add(field, "must be at most "+strconv.Itoa(max)+" characters")
		}
	}
	text("name", sv.Name, MaxNameRunes)
	text("question", sv.Question, MaxQuestionRunes)
	if sv.Delivery != store.SurveyDeliveryChat && sv.Delivery != store.SurveyDeliveryEmail {
		e.Add("delivery", `must be "chat" or "email"`)
	}
	if sv.Scale != store.SurveyScaleNumeric && sv.Scale != store.SurveyScaleEmoji {
		e.Add("scale", `must be "numeric" (1-5) or "emoji"`)
	}
	sv.Name, sv.Question = strings.TrimSpace(sv.Name), strings.TrimSpace(sv.Question)
	return e.Err()
}

// Answer errors; their text is for the visitor's client.
var (
	ErrScore      = errors.New("The score must be a whole number from 1 to 5.")
	ErrNoComments = errors.New("This survey takes no comment.")
	ErrComment    = errors.New("The comment is too long or not valid text.")
)

// CheckAnswer validates an answer to sv and returns the comment trimmed.
func CheckAnswer(sv *store.Survey, score int, comment string) (string, error) {
	if score < MinScore || score > MaxScore {
		return "", ErrScore
	}
	comment = strings.TrimSpace(comment)
	if comment != "" && !sv.AllowComment {
		return "", ErrNoComments
	}
	if !utf8.ValidString(comment) || strings.ContainsRune(comment, 0) || utf8.RuneCountInString(comment) > MaxCommentRunes {
		return "", ErrComment
	}
	return comment, nil
}

// ScoreLabel shows a score as the survey's scale does: "4/5" or a face.
func ScoreLabel(scale string, score int) string {
	if score < MinScore || score > MaxScore {
		return "?"
	}
	label := strconv.Itoa(score) + "/5"
	if scale == store.SurveyScaleEmoji {
		return Emoji[score-1] + " (" + label + ")"
	}
	return label
}

// Note is how an answer reads in the thread.
func Note(sv *store.Survey, score int, comment string) string {
	s := "Satisfaction survey “" + sv.Name + "”: " + ScoreLabel(sv.Scale, score)
	if comment != "" {
		s += " — " + comment
	}
	return s
}

// Satisfied reports whether a score counts towards CSAT (4 or 5 of 5).
func Satisfied(score int) bool { return score >= 4 }

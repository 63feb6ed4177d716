package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleychat/parley/widget"
)

// Survey delivery methods and scales.
const (
	SurveyDeliveryChat  = "chat"  // shown in the widget when the conversation closes
	SurveyDeliveryEmail = "email" // not sent by Parley itself; a chatflow cannot link one
	SurveyScaleNumeric  = widget.ScaleNumeric
	SurveyScaleEmoji    = widget.ScaleEmoji
)

// Survey is a satisfaction (CSAT) survey.
type Survey struct {
	ID           int64     `db:"id" json:"id"`
	AccountID    int64     `db:"account_id" json:"-"`
	Name         string    `db:"name" json:"name"`
	Delivery     string    `db:"delivery" json:"delivery"`
	Question     string    `db:"question" json:"question"`
	Scale        string    `db:"scale" json:"scale"`
	AllowComment bool      `db:"allow_comment" json:"allow_comment"`
	CreatedAt    time.Time `db:"created_at" json:"created_at"`
	UpdatedAt    time.Time `db:"updated_at" json:"updated_at"`
}

// CreateSurvey inserts sv.
func (s *Store) CreateSurvey(ctx context.Context, sv *Survey) error {
	err := s.db.GetContext(ctx, sv, `INSERT INTO surveys (account_id, name, delivery, question, scale, allow_comment)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+surveyColumns, sv.AccountID, sv.Name, sv.Delivery, sv.Question, sv.Scale, sv.AllowComment)
	if isUnique(err) {
		return ErrConflict
	}
	return err
}

// Survey returns survey id of account.
func (s *Store) Survey(ctx context.Context, accountID, id int64) (*Survey, error) {
	var sv Survey
	if err := s.db.GetContext(ctx, &sv, `SELECT `+surveyColumns+` FROM surveys WHERE id = $1 AND account_id = $2`, id, accountID); err != nil {
		return nil, notFound(err)
	}
	return &sv, nil
}

// Surveys lists the account's surveys by name.
func (s *Store) Surveys(ctx context.Context, accountID int64) ([]Survey, error) {
	out := []Survey{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+surveyColumns+` FROM surveys WHERE account_id = $1 ORDER BY name, id`, accountID)
	return out, err
}

// UpdateSurvey writes sv's editable fields back.
func (s *Store) UpdateSurvey(ctx context.Context, sv *Survey) error {
	err := s.db.GetContext(ctx, sv, `UPDATE surveys SET name = $3, delivery = $4, question = $5, scale = $6,
		allow_comment = $7, updated_at = now() WHERE id = $1 AND account_id = $2 RETURNING `+surveyColumns,
		sv.ID, sv.AccountID, sv.Name, sv.Delivery, sv.Question, sv.Scale, sv.AllowComment)
	if isUnique(err) {
		return ErrConflict
	}
	return notFound(err)
}

// DeleteSurvey removes survey id and its responses.
func (s *Store) DeleteSurvey(ctx context.Context, accountID, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM surveys WHERE id = $1 AND account_id = $2`, id, accountID)
	return rowsOrNotFound(res, err)
}

// SurveyResponse is one visitor's answer.
type SurveyResponse struct {
	ID             int64     `db:"id" json:"id"`
	SurveyID       int64     `db:"survey_id" json:"survey_id"`
	ConversationID int64     `db:"conversation_id" json:"conversation_id"`
	Score          int       `db:"score" json:"score"`
	Comment        string    `db:"comment" json:"comment"`
	CreatedAt      time.Time `db:"created_at" json:"created_at"`
	VisitorLabel   string    `db:"visitor_label" json:"visitor"` // filled by SurveyResponses
}

// SurveySummary aggregates a survey's responses. CSAT is the share of
// satisfied answers (4 or 5 of 5) in percent, the usual CSAT definition.
type SurveySummary struct {
	Responses int     `db:"responses" json:"responses"`
	Average   float64 `db:"average" json:"average"`
	CSAT      float64 `db:"csat" json:"csat_percent"`
}

// SurveyResponses lists a survey's responses newest first (at most limit)
// with their summary over all of them.
func (s *Store) SurveyResponses(ctx context.Context, accountID, surveyID int64, limit int) ([]SurveyResponse, SurveySummary, error) {
	var sum SurveySummary
	if _, err := s.Survey(ctx, accountID, surveyID); err != nil {
		return nil, sum, err
	}
	out := []SurveyResponse{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+surveyResponseColsR+`,
		COALESCE(NULLIF(ct.name, ''), NULLIF(ct.email, ''), NULLIF(v.name, ''), 'Visitor ' || v.id) AS visitor_label
		FROM survey_responses r JOIN conversations c ON c.id = r.conversation_id
		JOIN visitors v ON v.id = c.visitor_id
		LEFT JOIN contacts ct ON ct.id = COALESCE(c.contact_id, v.contact_id)
		WHERE r.survey_id = $1 ORDER BY r.id DESC LIMIT $2`, surveyID, limit)
	if err != nil {
		return nil, sum, err
	}
	err = s.db.GetContext(ctx, &sum, `SELECT count(*) AS responses, COALESCE(round(avg(score), 2), 0)::float8 AS average,
		COALESCE(round(100.0 * count(*) FILTER (WHERE score >= 4) / NULLIF(count(*), 0), 1), 0)::float8 AS csat
		FROM survey_responses WHERE survey_id = $1`, surveyID)
	return out, sum, err
}

// PendingSurvey returns the survey conversation convID should show: the
// survey its chatflow links (chat delivery) when the conversation is
// closed and not yet answered. ErrNotFound when there is none.
func (s *Store) PendingSurvey(ctx context.Context, convID int64) (*Survey, error) {
	var sv Survey
	err := s.db.GetContext(ctx, &sv, `SELECT `+surveyColumnsSV+` FROM conversations c
		JOIN chatflows cf ON cf.id = c.chatflow_id
		JOIN surveys sv ON sv.account_id = c.account_id AND sv.delivery = 'chat'
			AND sv.id = NULLIF(cf.settings #>> '{options,survey_id}', '')::bigint
		WHERE c.id = $1 AND c.status = 'closed'
		AND NOT EXISTS (SELECT 1 FROM survey_responses r WHERE r.conversation_id = c.id)`, convID)
	if err != nil {
		return nil, notFound(err)
	}
	return &sv, nil
}

// ErrAnswered refuses a second, different answer to a conversation's survey.
var ErrAnswered = errors.New("store: survey already answered")

// AnswerSurvey stores the answer to conversation convID's survey and puts
// it in the thread as a system note (agents only: the visitor gave it). A
// repeat of the stored answer (a client retry) returns it with
// created=false; a different one is ErrAnswered.
func (s *Store) AnswerSurvey(ctx context.Context, surveyID, convID int64, score int, comment, note string) (r *SurveyResponse, created bool, err error) {
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		var out SurveyResponse
		err := tx.GetContext(ctx, &out, `INSERT INTO survey_responses (survey_id, conversation_id, score, comment)
			VALUES ($1, $2, $3, $4) ON CONFLICT (conversation_id) DO NOTHING RETURNING `+surveyResponseColumns+`, '' AS visitor_label`,
			surveyID, convID, score, comment)
		if errors.Is(err, sql.ErrNoRows) {
			if err := tx.GetContext(ctx, &out, `SELECT `+surveyResponseColumns+`, '' AS visitor_label FROM survey_responses WHERE conversation_id = $1`, convID); err != nil {
				return err
			}
			r = &out
			if out.Score != score || out.Comment != comment || out.SurveyID != surveyID {
				return ErrAnswered
			}
			return nil
		}
		if err != nil {
			return err
		}
		r, created = &out, true
		return nil
	})
	if err != nil || !created {
		return r, created, err
	}
	// The note is written after the answer commits: the answer is what matters.
	_, _, err = s.AppendMessage(ctx, NewMessage{ConversationID: convID, ClientID: "survey-answer",
		AuthorType: AuthorSystem, Internal: true, Body: note})
	return r, true, err
}

package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/backend/internal/survey"
)

// MaxSurveyResponses is how many responses one GET of a survey's responses lists.
const MaxSurveyResponses = 500

func (a *API) registerSurveys(v1 *gin.RouterGroup) {
	v1.GET("/surveys", a.listSurveys)
	v1.POST("/surveys", a.createSurvey)
	v1.GET("/surveys/:id", a.getSurvey)
	v1.PATCH("/surveys/:id", a.patchSurvey)
	v1.DELETE("/surveys/:id", a.deleteSurvey)
	v1.GET("/surveys/:id/responses", a.surveyResponses)
}

// surveyInput is the writable part of a survey.
type surveyInput struct {
	Name         string `json:"name"`
	Delivery     string `json:"delivery"`
	Question     string `json:"question"`
	Scale        string `json:"scale"`
	AllowComment *bool  `json:"allow_comment"`
}

func (a *API) listSurveys(c *gin.Context) {
	ss, err := a.st.Surveys(c, account(c).ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"surveys": ss})
}

func (a *API) createSurvey(c *gin.Context) {
	in := surveyInput{Delivery: store.SurveyDeliveryChat, Scale: store.SurveyScaleNumeric}
	if !decodeSurvey(c, a, &in) {
		return
	}
	sv := &store.Survey{AccountID: account(c).ID, AllowComment: true}
	in.apply(sv)
	if !a.saveSurvey(c, sv, true) {
		return
	}
	c.Header("Location", "/api/v1/surveys/"+strconv.FormatInt(sv.ID, 10))
	c.JSON(http.StatusCreated, sv)
}

func (a *API) getSurvey(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	sv, err := a.st.Survey(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, sv)
}

func (a *API) patchSurvey(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	sv, err := a.st.Survey(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	in := surveyInput{Name: sv.Name, Delivery: sv.Delivery, Question: sv.Question, Scale: sv.Scale, AllowComment: &sv.AllowComment}
	if !decodeSurvey(c, a, &in) {
		return
	}
	in.apply(sv)
	if !a.saveSurvey(c, sv, false) {
		return
	}
	c.JSON(http.StatusOK, sv)
}

func (a *API) deleteSurvey(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	if err := a.st.DeleteSurvey(c, account(c).ID, id); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// surveyResponses lists every response (newest first, up to
// MaxSurveyResponses) with the average score and the CSAT percentage.
func (a *API) surveyResponses(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	rs, sum, err := a.st.SurveyResponses(c, account(c).ID, id, MaxSurveyResponses)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"responses": rs, "count": sum.Responses, "average": sum.Average, "csat_percent": sum.CSAT})
}

func decodeSurvey(c *gin.Context, a *API, in *surveyInput) bool {
	b, ok := body(c)
	if !ok {
		return false
	}
	if err := chatflow.DecodeStrict(b, in, "id", "created_at", "updated_at"); err != nil {
		a.fail(c, err)
		return false
	}
	return true
}

func (in surveyInput) apply(sv *store.Survey) {
	sv.Name, sv.Delivery, sv.Question, sv.Scale = in.Name, in.Delivery, in.Question, in.Scale
	if in.AllowComment != nil {
		sv.AllowComment = *in.AllowComment
	}
}

func (a *API) saveSurvey(c *gin.Context, sv *store.Survey, create bool) bool {
	if err := survey.Validate(sv); err != nil {
		a.fail(c, err)
		return false
	}
	var err error
	if create {
		err = a.st.CreateSurvey(c, sv)
	} else {
		err = a.st.UpdateSurvey(c, sv)
	}
	if errors.Is(err, store.ErrConflict) {
		problem.Invalid(c.Writer, "Invalid input", problem.Errors{{Field: "name", Message: "another survey has this name"}})
		return false
	}
	if err != nil {
		a.fail(c, err)
		return false
	}
	return true
}

// checkSurveyLink refuses a chatflow whose options.survey_id names no
// survey of the account, or one not delivered in the chat.
func (a *API) checkSurveyLink(c *gin.Context, cf *chatflow.Chatflow) bool {
	id := cf.Options.SurveyID
	if id == 0 {
		return true
	}
	sv, err := a.st.Survey(c, account(c).ID, id)
	if errors.Is(err, store.ErrNotFound) {
		problem.Invalid(c.Writer, "Invalid input", problem.Errors{{Field: "options.survey_id", Message: "no such survey"}})
		return false
	}
	if err != nil {
		a.fail(c, err)
		return false
	}
	if sv.Delivery != store.SurveyDeliveryChat {
		problem.Invalid(c.Writer, "Invalid input", problem.Errors{{Field: "options.survey_id", Message: "the survey's delivery method must be chat"}})
		return false
	}
	return true
}

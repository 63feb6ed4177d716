package inbox

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/backend/internal/survey"
)

// Surveys: made and edited here, their responses shown with the same
// summary and table as the inbox's survey page.

func (h *Handler) surveySettings(g *gin.RouterGroup) {
	g.GET("/surveys", h.surveysSettingsPage)
	g.POST("/surveys", h.requireCSRF, h.createSurveyForm)
	g.GET("/surveys/:id", h.surveySettingsPage)
	g.POST("/surveys/:id", h.requireCSRF, h.saveSurveyForm)
	g.GET("/surveys/:id/delete", h.confirmDeleteSurvey)
	g.POST("/surveys/:id/delete", h.requireCSRF, h.deleteSurveyForm)
}

type surveyForm struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	Delivery     string `json:"delivery"`
	Question     string `json:"question"`
	Scale        string `json:"scale"`
	AllowComment bool   `json:"allow_comment"`
}

func (s surveyForm) body() map[string]any {
	return map[string]any{"name": s.Name, "delivery": s.Delivery, "question": s.Question, "scale": s.Scale, "allow_comment": s.AllowComment}
}

type surveysSettingsData struct {
	settingsPage
	Surveys    []surveyForm
	Survey     surveyForm // the create or edit form
	Deliveries []string
	Scales     []string
	// The responses, on a survey's page.
	Summary   store.SurveySummary
	Responses []responseRow
}

var surveyFields = []string{"name", "delivery", "question", "scale", "allow_comment"}

func (h *Handler) surveyChoices(d *surveysSettingsData) {
	d.Deliveries = []string{store.SurveyDeliveryChat, store.SurveyDeliveryEmail}
	d.Scales = []string{store.SurveyScaleNumeric, store.SurveyScaleEmoji}
}

func (h *Handler) renderSurveys(c *gin.Context, status int, d surveysSettingsData) {
	var list struct {
		Surveys []surveyForm `json:"surveys"`
	}
	if !h.restGet(c, "/api/v1/surveys", &list) {
		return
	}
	d.Surveys = list.Surveys
	h.surveyChoices(&d)
	h.render(c, status, "settings_surveys.html", d)
}

func (h *Handler) surveysSettingsPage(c *gin.Context) {
	h.renderSurveys(c, http.StatusOK, surveysSettingsData{settingsPage: h.settingsPageFor(c, "surveys", "Surveys"),
		Survey: surveyForm{Delivery: store.SurveyDeliveryChat, Scale: store.SurveyScaleNumeric, AllowComment: true,
			Question: "How would you rate this conversation?"}})
}

func surveyFromForm(c *gin.Context) surveyForm {
	return surveyForm{Name: c.PostForm("name"), Delivery: c.PostForm("delivery"), Question: c.PostForm("question"),
		Scale: c.PostForm("scale"), AllowComment: c.PostForm("allow_comment") != ""}
}

func (h *Handler) createSurveyForm(c *gin.Context) {
	s := surveyFromForm(c)
	r := h.rest(c, http.MethodPost, "/api/v1/surveys", s.body(), 0)
	if r.OK() {
		var made surveyForm
		if err := r.Decode(&made); err != nil {
			h.fail(c, "create survey", err)
			return
		}
		doneRedirect(c, "/inbox/settings/surveys/"+strconv.FormatInt(made.ID, 10), "created")
		return
	}
	d := surveysSettingsData{settingsPage: h.settingsBase(c, "surveys", "Surveys"), Survey: s}
	status := formProblem(r, &d.Errors, nil)
	placeErrors(d.Errors, surveyFields...)
	h.renderSurveys(c, status, d)
}

func surveyPath(c *gin.Context) (string, bool) {
	id := pathInt64(c, "id")
	return "/api/v1/surveys/" + strconv.FormatInt(id, 10), id > 0
}

// renderSurvey shows the edit form (d.Survey) with the survey's responses.
func (h *Handler) renderSurvey(c *gin.Context, status int, path string, d surveysSettingsData) {
	var rs struct {
		Responses []store.SurveyResponse `json:"responses"`
		Count     int                    `json:"count"`
		Average   float64                `json:"average"`
		CSAT      float64                `json:"csat_percent"`
	}
	if !h.restGet(c, path+"/responses", &rs) {
		return
	}
	var saved surveyForm // the scale the answers were given on, not the typed one
	if !h.restGet(c, path, &saved) {
		return
	}
	d.Summary = store.SurveySummary{Responses: rs.Count, Average: rs.Average, CSAT: rs.CSAT}
	for _, r := range rs.Responses {
		d.Responses = append(d.Responses, responseRow{SurveyResponse: r, Label: survey.ScoreLabel(saved.Scale, r.Score)})
	}
	h.surveyChoices(&d)
	h.render(c, status, "settings_survey.html", d)
}

func (h *Handler) surveySettingsPage(c *gin.Context) {
	path, ok := surveyPath(c)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such survey.")
		return
	}
	var s surveyForm
	if !h.restGet(c, path, &s) {
		return
	}
	h.renderSurvey(c, http.StatusOK, path, surveysSettingsData{settingsPage: h.settingsPageFor(c, "surveys", s.Name), Survey: s})
}

func (h *Handler) saveSurveyForm(c *gin.Context) {
	path, ok := surveyPath(c)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such survey.")
		return
	}
	s := surveyFromForm(c)
	r := h.rest(c, http.MethodPatch, path, s.body(), 0)
	if r.OK() {
		doneRedirect(c, "/inbox/settings/surveys/"+strconv.FormatInt(pathInt64(c, "id"), 10), "saved")
		return
	}
	if r.Status == http.StatusNotFound {
		h.restDeny(c, r)
		return
	}
	s.ID = pathInt64(c, "id")
	d := surveysSettingsData{settingsPage: h.settingsBase(c, "surveys", s.Name), Survey: s}
	status := formProblem(r, &d.Errors, nil)
	placeErrors(d.Errors, surveyFields...)
	h.renderSurvey(c, status, path, d)
}

func (h *Handler) confirmDeleteSurvey(c *gin.Context) {
	path, ok := surveyPath(c)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such survey.")
		return
	}
	var s surveyForm
	if !h.restGet(c, path, &s) {
		return
	}
	id := strconv.FormatInt(s.ID, 10)
	h.confirm(c, "surveys", confirmData{What: "the survey " + strconv.Quote(s.Name),
		Action: "/inbox/settings/surveys/" + id + "/delete", Back: "/inbox/settings/surveys/" + id,
		Button: "Delete survey", Detail: "Its responses go with it."})
}

func (h *Handler) deleteSurveyForm(c *gin.Context) {
	path, ok := surveyPath(c)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such survey.")
		return
	}
	h.restDelete(c, path, "/inbox/settings/surveys", "deleted")
}

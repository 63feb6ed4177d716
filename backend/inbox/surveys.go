package inbox

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/store"
	"github.com/parleychat/parley/backend/survey"
)

// MaxSurveyRows is how many responses the survey page lists.
const MaxSurveyRows = 500

type surveysData struct {
	basePage
	Surveys []store.Survey
}

// surveys lists the account's surveys.
func (h *Handler) surveys(c *gin.Context) {
	ss, err := h.st.Surveys(c, user(c).AccountID)
	if err != nil {
		h.fail(c, "surveys", err)
		return
	}
	h.render(c, http.StatusOK, "surveys.html", surveysData{basePage: h.base(c, "Surveys"), Surveys: ss})
}

type responseRow struct {
	store.SurveyResponse
	Label string
}

type surveyData struct {
	basePage
	Survey    *store.Survey
	Summary   store.SurveySummary
	Responses []responseRow
}

// surveyPage shows every response of a survey with its average and CSAT.
func (h *Handler) surveyPage(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		h.deny(c, http.StatusNotFound, "There is no such survey.")
		return
	}
	acct := user(c).AccountID
	sv, err := h.st.Survey(c, acct, id)
	if errors.Is(err, store.ErrNotFound) {
		h.deny(c, http.StatusNotFound, "There is no such survey.")
		return
	}
	if err != nil {
		h.fail(c, "survey", err)
		return
	}
	rs, sum, err := h.st.SurveyResponses(c, acct, id, MaxSurveyRows)
	if err != nil {
		h.fail(c, "survey", err)
		return
	}
	d := surveyData{basePage: h.base(c, sv.Name), Survey: sv, Summary: sum}
	for _, r := range rs {
		d.Responses = append(d.Responses, responseRow{SurveyResponse: r, Label: survey.ScoreLabel(sv.Scale, r.Score)})
	}
	h.render(c, http.StatusOK, "survey.html", d)
}

// ---- saved replies ----

var shortcutRE = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// MaxReplyRunes bounds a saved reply (a reply's own limit applies when sent).
const MaxReplyRunes = 4000

type repliesData struct {
	basePage
	Replies  []store.SavedReply
	Shortcut string
	Body     string
	Error    string
}

func (h *Handler) replies(c *gin.Context) {
	h.renderReplies(c, http.StatusOK, "", "", "")
}

func (h *Handler) renderReplies(c *gin.Context, status int, shortcut, body, msg string) {
	rs, err := h.st.SavedReplies(c, user(c).AccountID)
	if err != nil {
		h.fail(c, "replies", err)
		return
	}
	h.render(c, status, "replies.html", repliesData{basePage: h.base(c, "Saved replies"), Replies: rs, Shortcut: shortcut, Body: body, Error: msg})
}

func (h *Handler) createReply(c *gin.Context) {
	shortcut := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(c.PostForm("shortcut")), "/"))
	body := strings.TrimSpace(c.PostForm("body"))
	switch {
	case !shortcutRE.MatchString(shortcut):
		h.renderReplies(c, http.StatusUnprocessableEntity, shortcut, body, "A shortcut is 1 to 32 lower-case letters, digits, - or _.")
		return
	case body == "" || !utf8.ValidString(body) || utf8.RuneCountInString(body) > MaxReplyRunes:
		h.renderReplies(c, http.StatusUnprocessableEntity, shortcut, body, "Write the reply's text (at most 4000 characters).")
		return
	}
	err := h.st.CreateSavedReply(c, &store.SavedReply{AccountID: user(c).AccountID, Shortcut: shortcut, Body: body})
	if errors.Is(err, store.ErrConflict) {
		h.renderReplies(c, http.StatusConflict, shortcut, body, "The shortcut /"+shortcut+" is taken.")
		return
	}
	if err != nil {
		h.fail(c, "replies", err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/inbox/replies")
}

func (h *Handler) deleteReply(c *gin.Context) {
	id, _ := strconv.ParseInt(c.Param("id"), 10, 64)
	err := h.st.DeleteSavedReply(c, user(c).AccountID, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.fail(c, "replies", err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/inbox/replies")
}

// requireRole lets only the given roles through (403 otherwise): for pages
// that change chatflows, which only admins and editors may do.
func requireRole(roles ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		for _, r := range roles {
			if user(c).Role == r {
				c.Next()
				return
			}
		}
		c.Data(http.StatusForbidden, "text/plain; charset=utf-8", []byte("Only admins and chatflow editors may do this."))
		c.Abort()
	}
}

// RequireChatflowEditor is the gate for inbox pages that change chatflows:
// admins and editors pass, agents get 403.
var RequireChatflowEditor = requireRole(store.RoleAdmin, store.RoleEditor)

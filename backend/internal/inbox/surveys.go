package inbox

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/backend/internal/survey"
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

// Why a saved reply was not changed. Someone else's personal reply reads
// as unknown: its existence is theirs.
const (
	replyNotFound  = "There is no such saved reply: it was deleted, or it is someone else's personal reply."
	replyForbidden = "Only its author or an admin can change or delete a shared reply."
	replyNotAuthor = "Only its author can make a shared reply personal again."
)

type replyRow struct {
	store.SavedReply
	CanEdit bool
}

// repliesData is the saved-replies page: the list, and the form for a new
// reply or for the one being edited, refilled after an error.
type repliesData struct {
	basePage
	Replies     []replyRow
	Refusal     string // why an edit or delete did not happen
	EditID      int64  // 0: the form makes a new reply
	ChooseScope bool   // the form offers personal or shared: only the author may switch
	Shortcut    string
	Body        string
	Shared      bool
	Error       string
}

func (h *Handler) replies(c *gin.Context) {
	h.renderReplies(c, http.StatusOK, repliesData{ChooseScope: true})
}

func (h *Handler) renderReplies(c *gin.Context, status int, d repliesData) {
	u := user(c)
	rs, err := h.st.SavedReplies(c, u.AccountID, u.ID)
	if err != nil {
		h.fail(c, "replies", err)
		return
	}
	d.basePage = h.base(c, "Saved replies")
	for _, r := range rs {
		d.Replies = append(d.Replies, replyRow{SavedReply: r, CanEdit: r.EditableBy(u)})
	}
	h.render(c, status, "replies.html", d)
}

// refuseReply shows the list and why an edit or delete did not happen.
func (h *Handler) refuseReply(c *gin.Context, status int, msg string) {
	h.renderReplies(c, status, repliesData{ChooseScope: true, Refusal: msg})
}

// replyForm reads the posted form into d and answers why it is refused, or
// "". Without a visibility (an admin's form for another's reply) d.Shared stays.
func replyForm(c *gin.Context, d *repliesData) string {
	d.Shortcut = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(c.PostForm("shortcut")), "/"))
	d.Body = strings.TrimSpace(c.PostForm("body"))
	switch c.PostForm("visibility") {
	case "shared":
		d.Shared = true
	case "personal":
		d.Shared = false
	case "":
	default:
		return "Choose who can use the reply: only you, or every agent of the team."
	}
	switch n := utf8.RuneCountInString(d.Body); {
	case !shortcutRE.MatchString(d.Shortcut):
		return "A shortcut is 1 to 32 lower-case letters, digits, - or _."
	case !utf8.ValidString(d.Body):
		return "The text contains characters that are not valid text."
	case d.Body == "":
		return "Write the reply's text (at most 4000 characters)."
	case n > MaxReplyRunes:
		return fmt.Sprintf("The text is %d characters long; the limit is %d.", n, MaxReplyRunes)
	}
	return ""
}

func shortcutTaken(d repliesData) string {
	if d.Shared {
		return "The team already shares a reply with the shortcut /" + d.Shortcut + "."
	}
	return "You already have a personal reply with the shortcut /" + d.Shortcut + "."
}

func (h *Handler) createReply(c *gin.Context) {
	u := user(c)
	d := repliesData{ChooseScope: true}
	if d.Error = replyForm(c, &d); d.Error != "" {
		h.renderReplies(c, http.StatusUnprocessableEntity, d)
		return
	}
	err := h.st.CreateSavedReply(c, &store.SavedReply{AccountID: u.AccountID, Shortcut: d.Shortcut, Body: d.Body, Shared: d.Shared, AuthorID: &u.ID})
	if errors.Is(err, store.ErrConflict) {
		d.Error = shortcutTaken(d)
		h.renderReplies(c, http.StatusConflict, d)
		return
	}
	if err != nil {
		h.fail(c, "replies", err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/inbox/replies")
}

// editableReply loads the :id saved reply for the agent to change, or
// answers why they may not: 404 when they cannot see it, 403 otherwise.
func (h *Handler) editableReply(c *gin.Context) (*store.SavedReply, bool) {
	u := user(c)
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		h.refuseReply(c, http.StatusNotFound, replyNotFound)
		return nil, false
	}
	r, err := h.st.SavedReply(c, u, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.refuseReply(c, http.StatusNotFound, replyNotFound)
		return nil, false
	case err != nil:
		h.fail(c, "replies", err)
		return nil, false
	case !r.EditableBy(u):
		h.refuseReply(c, http.StatusForbidden, replyForbidden)
		return nil, false
	}
	return r, true
}

func editForm(r *store.SavedReply, u *store.User) repliesData {
	return repliesData{EditID: r.ID, ChooseScope: r.AuthorID != nil && *r.AuthorID == u.ID,
		Shortcut: r.Shortcut, Body: r.Body, Shared: r.Shared}
}

func (h *Handler) editReply(c *gin.Context) {
	if r, ok := h.editableReply(c); ok {
		h.renderReplies(c, http.StatusOK, editForm(r, user(c)))
	}
}

func (h *Handler) updateReply(c *gin.Context) {
	r, ok := h.editableReply(c)
	if !ok {
		return
	}
	u := user(c)
	d := editForm(r, u)
	if d.Error = replyForm(c, &d); d.Error != "" {
		h.renderReplies(c, http.StatusUnprocessableEntity, d)
		return
	}
	_, err := h.st.UpdateSavedReply(c, u, r.ID, d.Shortcut, d.Body, d.Shared)
	switch {
	case errors.Is(err, store.ErrConflict):
		d.Error = shortcutTaken(d)
		h.renderReplies(c, http.StatusConflict, d)
	case errors.Is(err, store.ErrNotFound): // deleted meanwhile
		h.refuseReply(c, http.StatusNotFound, replyNotFound)
	case errors.Is(err, store.ErrForbidden) && r.Shared && !d.Shared && r.EditableBy(u):
		d.Error = replyNotAuthor
		h.renderReplies(c, http.StatusForbidden, d)
	case errors.Is(err, store.ErrForbidden):
		h.refuseReply(c, http.StatusForbidden, replyForbidden)
	case err != nil:
		h.fail(c, "replies", err)
	default:
		c.Redirect(http.StatusSeeOther, "/inbox/replies")
	}
}

func (h *Handler) deleteReply(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		h.refuseReply(c, http.StatusNotFound, replyNotFound)
		return
	}
	switch err := h.st.DeleteSavedReply(c, user(c), id); {
	case err == nil:
		c.Redirect(http.StatusSeeOther, "/inbox/replies")
	case errors.Is(err, store.ErrNotFound):
		h.refuseReply(c, http.StatusNotFound, replyNotFound)
	case errors.Is(err, store.ErrForbidden):
		h.refuseReply(c, http.StatusForbidden, replyForbidden)
	default:
		h.fail(c, "replies", err)
	}
}

// requireRole lets only the given roles through (403 otherwise): for pages
// that change chatflows, which only admins and editors may do.
func requireRole(msg string, roles ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		for _, r := range roles {
			if user(c).Role == r {
				c.Next()
				return
			}
		}
		c.Data(http.StatusForbidden, "text/plain; charset=utf-8", []byte(msg))
		c.Abort()
	}
}

// RequireChatflowEditor is the gate for inbox pages that change what
// visitors see: admins and editors pass, agents get 403.
var RequireChatflowEditor = requireRole("Only admins and chatflow editors may do this.", store.RoleAdmin, store.RoleEditor)

// RequireAdmin is the gate for the account's own settings (account, users,
// teams, inboxes, API keys): only admins pass.
var RequireAdmin = requireRole("Only admins may do this.", store.RoleAdmin)

package api

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
)

// Labels: the account's names with a colour (editors and admins make
// them), put on conversations by anyone who works them.
func (a *API) registerLabels(v1 *gin.RouterGroup) {
	v1.GET("/labels", a.listLabels)
	v1.POST("/labels", a.createLabel)
	v1.GET("/labels/:id", a.getLabel)
	v1.PATCH("/labels/:id", a.patchLabel)
	v1.DELETE("/labels/:id", a.deleteLabel)
	v1.GET("/conversations/:id/labels", a.conversationLabels)
	v1.PUT("/conversations/:id/labels/:label_id", a.addConversationLabel)
	v1.DELETE("/conversations/:id/labels/:label_id", a.removeConversationLabel)
}

// MaxLabelName is the longest label name, in characters.
const MaxLabelName = 50

var labelColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

type labelInput struct {
	Name  *string `json:"name"`
	Color *string `json:"color"`
}

// check validates the fields given (all of them when creating) and
// normalises them: the name trimmed, the colour lower case.
func (in *labelInput) check(creating bool) problem.Errors {
	var e problem.Errors
	if in.Name != nil || creating {
		name := ""
		if in.Name != nil {
			name = strings.TrimSpace(*in.Name)
		}
		if msg := labelNameError(name); msg != "" {
			e.Add("name", msg)
		}
		in.Name = &name
	}
	if in.Color != nil || creating {
		if in.Color == nil || !labelColor.MatchString(*in.Color) {
			e.Add("color", `must be a colour as "#rrggbb", e.g. "#2f80ed"`)
		} else {
			c := strings.ToLower(*in.Color)
			in.Color = &c
		}
	}
	return e
}

// labelNameError says what is wrong with a (trimmed) label name, "" when nothing.
func labelNameError(name string) string {
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return "must not be empty"
	case n > MaxLabelName:
		return "must be at most " + strconv.Itoa(MaxLabelName) + " characters"
	case strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return "must not contain line breaks or control characters"
	}
	return ""
}

// labelQuery is a list's ?label= : a label id, or else a label's name.
type labelQuery struct {
	id   int64
	name string
}

// parseLabelQuery reads ?label= : a number is a label id (so a label named
// "42" is found by its id only), anything else a label's name, any case; a
// value that can be neither is named in e.
func parseLabelQuery(c *gin.Context, e *problem.Errors) labelQuery {
	v, given := c.GetQuery("label")
	if !given {
		return labelQuery{}
	}
	if digits := strings.TrimPrefix(v, "-"); digits != "" && strings.Trim(digits, "0123456789") == "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			e.Add("label", "must be a label id or name (GET /labels lists them)")
		}
		return labelQuery{id: n}
	}
	name := strings.TrimSpace(v)
	if !utf8.ValidString(name) {
		e.Add("label", "must be a label id or name (GET /labels lists them)")
	} else if msg := labelNameError(name); msg != "" {
		e.Add("label", "is not a label id, and as a label name it "+msg)
	}
	return labelQuery{name: name}
}

// resolveLabel returns the id of the account's label q names (0 when q is
// empty); false when it answered: 404 for a label the account does not have.
func (a *API) resolveLabel(c *gin.Context, q labelQuery) (int64, bool) {
	if q.id == 0 && q.name == "" {
		return 0, true
	}
	var l *store.Label
	var err error
	if q.id > 0 {
		l, err = a.st.Label(c, account(c).ID, q.id)
	} else {
		l, err = a.st.LabelByName(c, account(c).ID, q.name)
	}
	if errors.Is(err, store.ErrNotFound) {
		problem.Status(c.Writer, http.StatusNotFound, "No such label in this account.")
		return 0, false
	}
	if err != nil {
		a.fail(c, err)
		return 0, false
	}
	return l.ID, true
}

func (a *API) listLabels(c *gin.Context) {
	ls, err := a.st.Labels(c, account(c).ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"labels": ls})
}

func (a *API) decodeLabel(c *gin.Context, creating bool) (labelInput, bool) {
	var in labelInput
	b, ok := body(c)
	if !ok {
		return in, false
	}
	if err := chatflow.DecodeStrict(b, &in); err != nil {
		a.fail(c, err)
		return in, false
	}
	if err := in.check(creating).Err(); err != nil {
		a.fail(c, err)
		return in, false
	}
	return in, true
}

// labelFail answers a duplicate name beside the name field and an
// unknown label as such.
func (a *API) labelFail(c *gin.Context, err error) {
	if errors.Is(err, store.ErrConflict) {
		problem.Write(c.Writer, problem.Problem{Status: http.StatusConflict, Title: "Conflict",
			Detail: "The account already has a label of this name.",
			Errors: problem.Errors{{Field: "name", Message: "is already a label of this account"}}})
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		problem.Status(c.Writer, http.StatusNotFound, "No such label.")
		return
	}
	a.fail(c, err)
}

// createLabel: POST /labels {"name", "color"}.
func (a *API) createLabel(c *gin.Context) {
	in, ok := a.decodeLabel(c, true)
	if !ok {
		return
	}
	l := &store.Label{AccountID: account(c).ID, Name: *in.Name, Color: *in.Color}
	if err := a.st.CreateLabel(c, l); err != nil {
		a.labelFail(c, err)
		return
	}
	c.Header("Location", "/api/v1/labels/"+strconv.FormatInt(l.ID, 10))
	c.JSON(http.StatusCreated, l)
}

func (a *API) getLabel(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	l, err := a.st.Label(c, account(c).ID, id)
	if err != nil {
		a.labelFail(c, err)
		return
	}
	c.JSON(http.StatusOK, l)
}

// patchLabel: PATCH /labels/:id {"name", "color"}, either or both.
func (a *API) patchLabel(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	l, err := a.st.Label(c, account(c).ID, id)
	if err != nil {
		a.labelFail(c, err)
		return
	}
	in, ok := a.decodeLabel(c, false)
	if !ok {
		return
	}
	if in.Name != nil {
		l.Name = *in.Name
	}
	if in.Color != nil {
		l.Color = *in.Color
	}
	if err := a.st.UpdateLabel(c, l); err != nil {
		a.labelFail(c, err)
		return
	}
	c.JSON(http.StatusOK, l)
}

// deleteLabel: DELETE /labels/:id takes the label off every conversation too.
func (a *API) deleteLabel(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	if err := a.st.DeleteLabel(c, account(c).ID, id); err != nil {
		a.labelFail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// labelTarget reads :id (a conversation of the account) and :label_id (a
// label of the account), answering 404 naming which one is unknown.
func (a *API) labelTarget(c *gin.Context) (conv, label int64, ok bool) {
	conv, ok = a.accountConversation(c)
	if !ok {
		return 0, 0, false
	}
	label, _ = strconv.ParseInt(c.Param("label_id"), 10, 64)
	err := store.ErrNotFound
	if label > 0 {
		_, err = a.st.Label(c, account(c).ID, label)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		a.fail(c, err)
		return 0, 0, false
	}
	if err != nil {
		problem.Status(c.Writer, http.StatusNotFound, "No such label in this account.")
		return 0, 0, false
	}
	return conv, label, true
}

// accountConversation reads :id as a conversation of the account.
func (a *API) accountConversation(c *gin.Context) (int64, bool) {
	id, _ := strconv.ParseInt(c.Param("id"), 10, 64)
	err := store.ErrNotFound
	if id > 0 {
		_, err = a.st.Conversation(c, account(c).ID, id)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		a.fail(c, err)
		return 0, false
	}
	if err != nil {
		problem.Status(c.Writer, http.StatusNotFound, "No such conversation.")
		return 0, false
	}
	return id, true
}

// conversationLabels: GET /conversations/:id/labels.
func (a *API) conversationLabels(c *gin.Context) {
	id, ok := a.accountConversation(c)
	if !ok {
		return
	}
	ls, err := a.st.ConversationLabels(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"labels": ls})
}

// addConversationLabel: PUT /conversations/:id/labels/:label_id puts the
// label on the conversation (again is fine) and answers its labels.
func (a *API) addConversationLabel(c *gin.Context) {
	conv, label, ok := a.labelTarget(c)
	if !ok {
		return
	}
	if err := a.st.AddConversationLabel(c, account(c).ID, conv, label); err != nil {
		a.fail(c, err)
		return
	}
	a.conversationLabels(c)
}

// removeConversationLabel: DELETE /conversations/:id/labels/:label_id; 404
// when the label was not on the conversation.
func (a *API) removeConversationLabel(c *gin.Context) {
	conv, label, ok := a.labelTarget(c)
	if !ok {
		return
	}
	err := a.st.RemoveConversationLabel(c, account(c).ID, conv, label)
	if errors.Is(err, store.ErrNotFound) {
		problem.Status(c.Writer, http.StatusNotFound, "The conversation does not have this label.")
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

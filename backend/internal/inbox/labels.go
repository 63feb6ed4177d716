package inbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/store"
)

// Labels in the inbox: chips in a conversation's side panel, put on and
// taken off by plain forms (REST does the work, as the signed-in agent,
// after the usual check that the conversation is in one of their inboxes);
// the list filtered by one (?label=ID) and showing each row's labels; and
// the console page where editors keep the account's set.

func (h *Handler) registerLabels(authed *gin.RouterGroup) {
	authed.POST("/conversations/:id/labels", h.requireCSRF, h.addLabel)
	authed.POST("/conversations/:id/labels/:label_id/remove", h.requireCSRF, h.removeLabel)
}

// panelLabels fills the side panel's chips and the labels it may add.
func (h *Handler) panelLabels(c *gin.Context, p *sidePanel) error {
	all, err := h.st.Labels(c, p.Conv.AccountID)
	if err != nil {
		return err
	}
	if p.Labels, err = h.st.ConversationLabels(c, p.Conv.AccountID, p.Conv.ID); err != nil {
		return err
	}
	on := map[int64]bool{}
	for _, l := range p.Labels {
		on[l.ID] = true
	}
	for _, l := range all {
		if !on[l.ID] {
			p.MoreLabels = append(p.MoreLabels, l)
		}
	}
	return nil
}

// labelPath is the REST path of label labelID on conv.
func labelPath(conv *store.ConversationSummary, labelID string) string {
	return fmt.Sprintf("/api/v1/conversations/%d/labels/%s", conv.ID, labelID)
}

// addLabel puts the posted label_id on the conversation.
func (h *Handler) addLabel(c *gin.Context) {
	conv, ok := h.conversation(c)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(c.PostForm("label_id"), 10, 64)
	if err != nil || id <= 0 {
		h.actionError(c, conv, http.StatusUnprocessableEntity, "Choose a label to add.")
		return
	}
	r := h.rest(c, http.MethodPut, labelPath(conv, strconv.FormatInt(id, 10)), nil, 0)
	if !r.OK() {
		h.labelError(c, conv, r.Status, r.Problem().Detail)
		return
	}
	back(c, conv, "Label added.")
}

// removeLabel takes label :label_id off the conversation.
func (h *Handler) removeLabel(c *gin.Context) {
	conv, ok := h.conversation(c)
	if !ok {
		return
	}
	r := h.rest(c, http.MethodDelete, labelPath(conv, strconv.FormatInt(pathInt64(c, "label_id"), 10)), nil, 0)
	if !r.OK() && r.Status != http.StatusNotFound {
		h.labelError(c, conv, r.Status, r.Problem().Detail)
		return
	}
	// Already off (another agent was quicker): what was asked for holds.
	if r.Status == http.StatusNotFound {
		if _, err := h.st.Label(c, conv.AccountID, pathInt64(c, "label_id")); err != nil {
			h.labelError(c, conv, http.StatusNotFound, "There is no such label (it may have been deleted).")
			return
		}
	}
	back(c, conv, "Label removed.")
}

// labelError shows the thread with REST's reason; an unknown label is a
// 422 on the page (the form was wrong), not a missing page.
func (h *Handler) labelError(c *gin.Context, conv *store.ConversationSummary, status int, msg string) {
	if status == http.StatusNotFound || status < 500 {
		status = http.StatusUnprocessableEntity
	}
	if msg == "" {
		msg = "The label could not be changed; try again."
	}
	h.actionError(c, conv, status, msg)
}

// itemLabel is a label on a live list row.
type itemLabel struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Color string `json:"color"`
}

// fillLabels reads the labels of rows in one query.
func fillLabels(ctx context.Context, st *store.Store, accountID int64, rows []store.ConversationSummary) error {
	if len(rows) == 0 {
		return nil
	}
	ids := make([]int64, len(rows))
	for i := range rows {
		ids[i] = rows[i].ID
	}
	m, err := st.LabelsOfConversations(ctx, accountID, ids)
	for i := range rows {
		rows[i].Labels = m[rows[i].ID]
	}
	return err
}

// listLabels reads the list's label filter and the labels of the rows shown.
func (h *Handler) listLabels(c *gin.Context, d *listData) error {
	u := user(c)
	all, err := h.st.Labels(c, u.AccountID)
	if err != nil {
		return err
	}
	d.LabelOptions = all
	return fillLabels(c, h.st, u.AccountID, d.Conversations)
}

// labelFilter checks the list's label (?label=) is one of the account's,
// naming it for the heading; false when it is not.
func (h *Handler) labelFilter(c *gin.Context, q *listQuery) (bool, error) {
	if q.LabelID == 0 {
		return true, nil
	}
	if q.LabelID < 0 {
		return false, nil
	}
	l, err := h.st.Label(c, user(c).AccountID, q.LabelID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	q.LabelName = l.Name
	return true, nil
}

// noSuchLabel answers a list filtered by a label the account does not have.
const noSuchLabel = "There is no such label; pick one from the list’s label menu."

// The console page: /inbox/settings/labels (editors and admins).

func (h *Handler) labelSettings(g *gin.RouterGroup) {
	g.GET("/labels", h.labelsPage)
	g.POST("/labels", h.requireCSRF, h.createLabelForm)
	g.GET("/labels/:id", h.labelPage)
	g.POST("/labels/:id", h.requireCSRF, h.saveLabelForm)
	g.GET("/labels/:id/delete", h.confirmDeleteLabel)
	g.POST("/labels/:id/delete", h.requireCSRF, h.deleteLabelForm)
}

// labelForm is a label as REST shows it, or as typed.
type labelForm struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Color string `json:"color"`
}

type labelsPageData struct {
	settingsPage
	Labels []labelForm
	Label  labelForm // the create or edit form, refilled after an error
}

var labelFields = []string{"name", "color"}

// defaultLabelColor is the new-label form's colour.
const defaultLabelColor = "#2f80ed"

func (h *Handler) renderLabels(c *gin.Context, status int, d labelsPageData) {
	var list struct {
		Labels []labelForm `json:"labels"`
	}
	if !h.restGet(c, "/api/v1/labels", &list) {
		return
	}
	d.Labels = list.Labels
	h.render(c, status, "settings_labels.html", d)
}

func (h *Handler) labelsPage(c *gin.Context) {
	h.renderLabels(c, http.StatusOK, labelsPageData{settingsPage: h.settingsPageFor(c, "labels", "Labels"), Label: labelForm{Color: defaultLabelColor}})
}

func labelFromForm(c *gin.Context) (labelForm, map[string]any) {
	l := labelForm{Name: c.PostForm("name"), Color: c.PostForm("color")}
	return l, map[string]any{"name": l.Name, "color": l.Color}
}

func (h *Handler) createLabelForm(c *gin.Context) {
	l, body := labelFromForm(c)
	r := h.rest(c, http.MethodPost, "/api/v1/labels", body, 0)
	if r.OK() {
		doneRedirect(c, "/inbox/settings/labels", "created")
		return
	}
	d := labelsPageData{settingsPage: h.settingsBase(c, "labels", "Labels"), Label: l}
	status := formProblem(r, &d.Errors, nil)
	placeErrors(d.Errors, labelFields...)
	h.renderLabels(c, status, d)
}

func labelAPIPath(c *gin.Context) (string, bool) {
	id := pathInt64(c, "id")
	return "/api/v1/labels/" + strconv.FormatInt(id, 10), id > 0
}

func (h *Handler) labelPage(c *gin.Context) {
	path, ok := labelAPIPath(c)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such label.")
		return
	}
	d := labelsPageData{settingsPage: h.settingsPageFor(c, "labels", "Label")}
	if !h.restGet(c, path, &d.Label) {
		return
	}
	d.Title = d.Label.Name
	h.render(c, http.StatusOK, "settings_label.html", d)
}

func (h *Handler) saveLabelForm(c *gin.Context) {
	path, ok := labelAPIPath(c)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such label.")
		return
	}
	l, body := labelFromForm(c)
	l.ID = pathInt64(c, "id")
	r := h.rest(c, http.MethodPatch, path, body, 0)
	if r.OK() {
		doneRedirect(c, "/inbox/settings/labels", "saved")
		return
	}
	if r.Status == http.StatusNotFound || r.Status == http.StatusForbidden {
		h.restDeny(c, r)
		return
	}
	d := labelsPageData{settingsPage: h.settingsBase(c, "labels", "Label"), Label: l}
	status := formProblem(r, &d.Errors, nil)
	placeErrors(d.Errors, labelFields...)
	h.render(c, status, "settings_label.html", d)
}

func (h *Handler) confirmDeleteLabel(c *gin.Context) {
	path, ok := labelAPIPath(c)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such label.")
		return
	}
	var l labelForm
	if !h.restGet(c, path, &l) {
		return
	}
	id := strconv.FormatInt(l.ID, 10)
	h.confirm(c, "labels", confirmData{What: "the label " + strconv.Quote(l.Name),
		Action: "/inbox/settings/labels/" + id + "/delete", Back: "/inbox/settings/labels",
		Button: "Delete label", Detail: "It is taken off every conversation that has it."})
}

func (h *Handler) deleteLabelForm(c *gin.Context) {
	path, ok := labelAPIPath(c)
	if !ok {
		h.deny(c, http.StatusNotFound, "There is no such label.")
		return
	}
	h.restDelete(c, path, "/inbox/settings/labels", "deleted")
}

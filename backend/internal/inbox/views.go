package inbox

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/store"
)

// MaxQueryRunes bounds a search.
const MaxQueryRunes = 200

// listQuery is what the list page shows: a view, an inbox, a search and a page.
type listQuery struct {
	View    string
	InboxID int64
	Query   string
	Before  store.ListCursor
	// LabelID filters by a label of the account (labels.go checks it);
	// LabelName is its name for the heading.
	LabelID   int64
	LabelName string
}

// parseListQuery reads ?view=&inbox=&q=&label=&before= ; anything unknown falls
// back to all open conversations.
func parseListQuery(c *gin.Context) listQuery {
	q := listQuery{View: c.Query("view"), Query: strings.TrimSpace(c.Query("q"))}
	switch q.View {
	case store.ViewUnassigned, store.ViewMine, store.ViewClosed, store.ViewOpen:
	case store.ViewInbox:
		q.InboxID, _ = strconv.ParseInt(c.Query("inbox"), 10, 64)
		if q.InboxID <= 0 {
			q.View = store.ViewOpen
		}
	default:
		q.View = store.ViewOpen
	}
	if r := []rune(q.Query); len(r) > MaxQueryRunes {
		q.Query = string(r[:MaxQueryRunes])
	}
	q.Before = parseCursor(c.Query("before"))
	if v := c.Query("label"); v != "" {
		// Not a label id: refused as an unknown label (labelFilter).
		if q.LabelID, _ = strconv.ParseInt(v, 10, 64); q.LabelID <= 0 {
			q.LabelID = -1
		}
	}
	return q
}

// A cursor travels as "<unix nanoseconds>_<id>".
func parseCursor(s string) store.ListCursor {
	ns, id, ok := strings.Cut(s, "_")
	n, err1 := strconv.ParseInt(ns, 10, 64)
	i, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil || i <= 0 {
		return store.ListCursor{}
	}
	return store.ListCursor{At: time.Unix(0, n).UTC(), ID: i}
}

func formatCursor(c store.ConversationSummary) string {
	return strconv.FormatInt(c.LastMessageAt.UnixNano(), 10) + "_" + strconv.FormatInt(c.ID, 10)
}

// href is the list URL for q with a different view or page.
func (q listQuery) href(view string, inbox int64, before string) string {
	v := url.Values{}
	if view != store.ViewOpen {
		v.Set("view", view)
	}
	if view == store.ViewInbox {
		v.Set("inbox", strconv.FormatInt(inbox, 10))
	}
	if q.Query != "" {
		v.Set("q", q.Query)
	}
	if q.LabelID > 0 {
		v.Set("label", strconv.FormatInt(q.LabelID, 10))
	}
	if before != "" {
		v.Set("before", before)
	}
	if len(v) == 0 {
		return "/inbox"
	}
	return "/inbox?" + v.Encode()
}

// viewTab is one entry of the view menu.
type viewTab struct {
	Key     string // data-view: "unassigned", "mine", "open", "closed", "inbox-<id>"
	Label   string
	Href    string
	Count   int
	Current bool
}

type listData struct {
	basePage
	Heading       string
	Query         listQuery
	Tabs          []viewTab
	Conversations []store.ConversationSummary
	Older         string        // href of the next page; "" when this is the last
	Closed        bool          // the closed view: rows are not removed when closed
	LabelOptions  []store.Label // the label filter's choices
}

// workspaceData is the agent's one page: the list of a view beside the
// open thread (nil on the list's own URL).
type workspaceData struct {
	basePage
	List   *listData
	Thread *threadData
}

// list shows one view of the agent's conversations, with no thread open.
func (h *Handler) list(c *gin.Context) {
	d, status, err := h.listing(c, parseListQuery(c))
	if err != nil {
		h.fail(c, "list", err)
		return
	}
	if d == nil && status == http.StatusNotFound {
		h.deny(c, status, noSuchLabel)
		return
	}
	if d == nil {
		h.deny(c, status, "You are not a member of that inbox.")
		return
	}
	if wantsJSON(c) {
		items := make([]listItem, 0, len(d.Conversations))
		for _, cv := range d.Conversations {
			items = append(items, item(cv, user(c).ID))
		}
		c.JSON(http.StatusOK, gin.H{"items": items, "older": d.Older})
		return
	}
	c.Header("Vary", PartialHeader)
	if c.GetHeader(PartialHeader) == "list" {
		var buf bytes.Buffer
		if err := h.pages["workspace.html"].ExecuteTemplate(&buf, "convlist", d); err != nil {
			h.log.Error("inbox: render", "partial", "convlist", "err", err)
			c.String(http.StatusInternalServerError, "The list could not be shown.")
			return
		}
		c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
		return
	}
	d.basePage = h.base(c, d.Heading)
	h.render(c, http.StatusOK, "workspace.html", workspaceData{basePage: d.basePage, List: d})
}

// listing reads the list part of the workspace for q; a nil list with a
// status is a refusal (an inbox the agent is not a member of).
func (h *Handler) listing(c *gin.Context, q listQuery) (*listData, int, error) {
	u := user(c)
	if ok, err := h.labelFilter(c, &q); err != nil || !ok {
		return nil, http.StatusNotFound, err
	}
	if q.View == store.ViewInbox {
		ok, err := h.st.IsInboxMember(c, u.ID, q.InboxID)
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			return nil, http.StatusForbidden, nil
		}
	}
	cs, err := h.st.ConversationList(c, store.ListFilter{UserID: u.ID, View: q.View, InboxID: q.InboxID,
		Query: q.Query, LabelID: q.LabelID, Before: q.Before, Limit: h.cfg.ListLimit + 1})
	if err != nil {
		return nil, 0, err
	}
	tabs, heading, err := h.tabs(c, u.ID, q)
	if err != nil {
		return nil, 0, err
	}
	d := &listData{Heading: heading, Query: q, Tabs: tabs, Conversations: cs, Closed: q.View == store.ViewClosed}
	if len(cs) > h.cfg.ListLimit {
		d.Conversations = cs[:h.cfg.ListLimit]
		d.Older = q.href(q.View, q.InboxID, formatCursor(d.Conversations[len(d.Conversations)-1]))
	}
	if err := h.listLabels(c, d); err != nil {
		return nil, 0, err
	}
	return d, http.StatusOK, nil
}

// tabs builds the view menu with its counts and names the current view.
func (h *Handler) tabs(c *gin.Context, userID int64, q listQuery) ([]viewTab, string, error) {
	vc, err := h.st.ViewCounts(c, userID)
	if err != nil {
		return nil, "", err
	}
	inboxes, err := h.st.InboxesOf(c, userID)
	if err != nil {
		return nil, "", err
	}
	tabs := []viewTab{
		{Key: store.ViewUnassigned, Label: "Unassigned", Count: vc.Unassigned},
		{Key: store.ViewMine, Label: "Mine", Count: vc.Mine},
		{Key: store.ViewOpen, Label: "All open", Count: vc.Open},
		{Key: store.ViewClosed, Label: "Closed", Count: vc.Closed},
	}
	heading := "All open"
	for i := range tabs {
		tabs[i].Href = q.href(tabs[i].Key, 0, "")
		if tabs[i].Key == q.View {
			tabs[i].Current, heading = true, tabs[i].Label
		}
	}
	for _, in := range inboxes {
		t := viewTab{Key: "inbox-" + strconv.FormatInt(in.ID, 10), Label: in.Name, Count: vc.ByInbox[in.ID],
			Href: q.href(store.ViewInbox, in.ID, ""), Current: q.View == store.ViewInbox && q.InboxID == in.ID}
		if t.Current {
			heading = in.Name
		}
		tabs = append(tabs, t)
	}
	if q.Query != "" {
		heading += ": “" + q.Query + "”"
	}
	if q.LabelName != "" {
		heading += " · label “" + q.LabelName + "”"
	}
	return tabs, heading, nil
}

// counts is the live socket's view-count frame payload.
func countsOf(vc store.ViewCounts) map[string]int {
	m := map[string]int{store.ViewUnassigned: vc.Unassigned, store.ViewMine: vc.Mine, store.ViewOpen: vc.Open, store.ViewClosed: vc.Closed}
	for id, n := range vc.ByInbox {
		m["inbox-"+strconv.FormatInt(id, 10)] = n
	}
	return m
}

// inView reports whether conversation cv belongs in the view the list
// socket follows (the agent's inbox membership is checked by the caller).
func inView(cv *store.ConversationSummary, view string, inbox, userID int64) bool {
	switch view {
	case store.ViewUnassigned:
		return cv.Status == store.StatusOpen && cv.AssigneeID == nil
	case store.ViewMine:
		return cv.Status == store.StatusOpen && cv.AssigneeID != nil && *cv.AssigneeID == userID
	case store.ViewClosed:
		return cv.Status == store.StatusClosed
	case store.ViewInbox:
		return cv.Status == store.StatusOpen && cv.InboxID == inbox
	}
	return cv.Status == store.StatusOpen
}

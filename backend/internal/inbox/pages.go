package inbox

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/store"
)

// basePage is what the layout needs on every page.
type basePage struct {
	Title     string
	CSRF      string      // the session's token (the login form's on the sign-in page)
	User      *store.User // nil on the sign-in page
	OpenChats int         // the agent's open conversations, beside their status
	Statuses  []string
}

func (h *Handler) base(c *gin.Context, title string) basePage {
	u := user(c)
	n, err := h.st.OpenChatCount(c, u.ID)
	if err != nil {
		h.log.Warn("inbox: open chat count", "err", err)
	}
	return basePage{Title: title, CSRF: session(c).CSRFToken, User: u, OpenChats: n,
		Statuses: []string{store.UserAvailable, store.UserAway, store.UserOffline}}
}

// msgView is one message as a thread shows it.
type msgView struct {
	Seq      int64
	From     string // visitor, agent, bot or system
	Name     string
	Text     string
	Internal bool
	At       time.Time
	File     *store.Attachment // the file the message carries, if any
	Avatar   string            // an agent's picture (a path on this origin); "" shows initials
}

type threadData struct {
	basePage
	Conv        *store.ConversationSummary
	Messages    []msgView
	OlderBefore int64 // seq for the "older" link; 0 when the first message is shown
	Latest      bool  // the page ends with the newest message, so it goes live
	LastSeq     int64 // the newest seq shown
	VisitorRead int64 // how far the visitor has read
	SeenSeq     int64 // the message to mark "Seen": the newest the visitor can see and has read; 0 for none
	// The reply form, refilled after an error so nothing typed is lost.
	ClientID string
	Text     string
	Internal bool
	Error    string
	MaxRunes int
	// The side panel, the actions' and the upload's errors, saved replies.
	Panel       *sidePanel
	ActionError string
	FileError   string
	Replies     []store.SavedReply
	MaxFileMB   int64
}

// conversation loads the :id conversation and checks the agent may see it:
// unknown (or another account's) is 404, outside the agent's inboxes 403.
func (h *Handler) conversation(c *gin.Context) (*store.ConversationSummary, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		h.deny(c, http.StatusNotFound, "There is no such conversation.")
		return nil, false
	}
	u := user(c)
	conv, err := h.st.ConversationSummary(c, u.AccountID, id)
	if errors.Is(err, store.ErrNotFound) {
		h.deny(c, http.StatusNotFound, "There is no such conversation.")
		return nil, false
	}
	if err != nil {
		h.fail(c, "conversation", err)
		return nil, false
	}
	ok, err := h.st.IsInboxMember(c, u.ID, conv.InboxID)
	if err != nil {
		h.fail(c, "conversation", err)
		return nil, false
	}
	if !ok {
		h.deny(c, http.StatusForbidden, "This conversation is in an inbox you are not a member of.")
		return nil, false
	}
	return conv, true
}

func (h *Handler) deny(c *gin.Context, status int, msg string) {
	if wantsJSON(c) {
		c.JSON(status, gin.H{"error": msg})
		return
	}
	c.Data(status, "text/plain; charset=utf-8", []byte(msg))
}

// thread shows a conversation: the newest page of messages, or the page
// before ?before=seq.
func (h *Handler) thread(c *gin.Context) {
	conv, ok := h.conversation(c)
	if !ok {
		return
	}
	d, err := h.threadPage(c, conv)
	if err != nil {
		h.fail(c, "thread", err)
		return
	}
	d.ClientID = store.NewToken()
	h.renderThread(c, http.StatusOK, d)
}

// PartialHeader asks GET /inbox/conversations/:id for the thread alone
// (value "thread"), and GET /inbox for the list alone (value "list"): the
// workspace's script swaps it in when the agent switches conversation or
// view, so a switch costs the reads of what changes, not the whole page's.
const PartialHeader = "X-Parley-Partial"

// renderThread answers a thread: the partial a switch fetches, or the
// whole workspace with the list of the view named in the URL beside it.
func (h *Handler) renderThread(c *gin.Context, status int, d threadData) {
	c.Header("Vary", PartialHeader)
	if c.GetHeader(PartialHeader) == "thread" {
		d.CSRF, d.User = session(c).CSRFToken, user(c)
		var buf bytes.Buffer
		if err := h.pages["workspace.html"].ExecuteTemplate(&buf, "threadpane", d); err != nil {
			h.log.Error("inbox: render", "partial", "threadpane", "err", err)
			c.String(http.StatusInternalServerError, "The conversation could not be shown.")
			return
		}
		c.Data(status, "text/html; charset=utf-8", buf.Bytes())
		return
	}
	d.basePage = h.base(c, d.Conv.VisitorLabel)
	l, _, err := h.listing(c, parseListQuery(c))
	if err == nil && l == nil { // an inbox view the agent may not see: the open view instead
		l, _, err = h.listing(c, listQuery{View: store.ViewOpen})
	}
	if err != nil {
		h.fail(c, "thread", err)
		return
	}
	h.render(c, status, "workspace.html", workspaceData{basePage: d.basePage, List: l, Thread: &d})
}

func (h *Handler) threadPage(c *gin.Context, conv *store.ConversationSummary) (threadData, error) {
	d := threadData{Conv: conv, MaxRunes: h.cfg.MaxTextRunes, MaxFileMB: h.cfg.MaxAttachmentBytes >> 20}
	before, err := strconv.ParseInt(c.Query("before"), 10, 64)
	if err != nil || before <= 0 {
		before = math.MaxInt64
	}
	d.Latest = before == math.MaxInt64
	size := h.cfg.ThreadPageSize
	// One extra row says whether an older page exists.
	ms, err := h.st.MessagesBefore(c, conv.ID, before, size+1, true)
	if err != nil {
		return d, err
	}
	if len(ms) > size {
		ms = ms[1:]
		d.OlderBefore = ms[0].Seq
	}
	atts, err := h.attachmentsOf(c, ms)
	if err != nil {
		return d, err
	}
	if d.Panel, err = h.panel(c, conv); err != nil {
		return d, err
	}
	for _, m := range ms {
		v := view(m, conv.VisitorLabel)
		v.File = atts[m.ID]
		if m.AuthorType == store.AuthorAgent && m.AuthorID != nil {
			v.Avatar = d.Panel.avatars[*m.AuthorID]
		}
		d.Messages = append(d.Messages, v)
		d.LastSeq = m.Seq
	}
	if d.Replies, err = h.st.SavedReplies(c, conv.AccountID, user(c).ID); err != nil {
		return d, err
	}
	if d.Latest && d.LastSeq < conv.LastSeq {
		d.LastSeq = conv.LastSeq
	}
	visitorRead, _, err := h.st.ReadPositions(c, conv.ID)
	if err != nil {
		return d, err
	}
	d.VisitorRead = visitorRead
	for _, m := range d.Messages {
		if seenMark(m, visitorRead) {
			d.SeenSeq = m.Seq
		}
	}
	// Showing the page changes nothing (a GET never does): the page's
	// script reports what the agent has seen while the page is visible, by
	// the live socket or POST .../read.
	return d, nil
}

// seenMark reports whether "Seen" may sit under m: a message the visitor
// can see (not an internal note, not their own) that they have read.
func seenMark(m msgView, visitorRead int64) bool {
	return !m.Internal && m.From != store.AuthorVisitor && m.Seq <= visitorRead
}

// view turns a stored message into what the thread shows.
func view(m store.Message, visitor string) msgView {
	v := msgView{Seq: m.Seq, From: m.AuthorType, Text: m.Body, Internal: m.Internal, At: m.CreatedAt}
	switch m.AuthorType {
	case store.AuthorVisitor:
		v.Name = visitor
	case store.AuthorAgent:
		v.Name = m.AuthorName
		if v.Name == "" {
			v.Name = "Agent"
		}
	case store.AuthorBot:
		v.Name = "Bot"
	default:
		v.Name = "Parley"
	}
	return v
}

// maxClientID bounds the idempotency key a form may send.
const maxClientID = 100

// reply stores an agent's message (or internal note) and goes back to the thread.
func (h *Handler) reply(c *gin.Context) {
	conv, ok := h.conversation(c)
	if !ok {
		return
	}
	raw := c.PostForm("text")
	text := strings.TrimSpace(raw)
	internal := c.PostForm("internal") != ""
	clientID := c.PostForm("client_id")
	if clientID == "" || len(clientID) > maxClientID || !utf8.ValidString(clientID) {
		clientID = store.NewToken()
	}
	var problem string
	switch n := utf8.RuneCountInString(text); {
	case !utf8.ValidString(raw):
		problem = "The reply contains characters that are not valid text."
	case n == 0:
		problem = "Write a reply before sending."
	case n > h.cfg.MaxTextRunes:
		problem = fmt.Sprintf("The reply is %d characters long; the limit is %d. Shorten it and send again.", n, h.cfg.MaxTextRunes)
	}
	if problem != "" {
		h.replyError(c, conv, http.StatusUnprocessableEntity, problem, raw, clientID, internal)
		return
	}
	m, _, err := h.st.AppendMessage(c, store.NewMessage{
		ConversationID: conv.ID,
		ClientID:       clientID,
		AuthorType:     store.AuthorAgent,
		AuthorID:       user(c).ID,
		Internal:       internal,
		Body:           text,
	})
	if err != nil {
		h.log.Error("inbox: reply", "conversation", conv.ID, "err", err)
		h.replyError(c, conv, http.StatusInternalServerError, "The reply could not be saved; send it again.", raw, clientID, internal)
		return
	}
	if wantsJSON(c) {
		c.JSON(http.StatusOK, gin.H{"seq": m.Seq, "id": clientID, "conversation": conv.PublicID})
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/inbox/conversations/%d#m%d", conv.ID, m.Seq))
}

// replyError answers a refused reply: JSON for the script, or the thread
// again with the text still in the box and the reason above it.
func (h *Handler) replyError(c *gin.Context, conv *store.ConversationSummary, status int, msg, text, clientID string, internal bool) {
	if wantsJSON(c) {
		c.JSON(status, gin.H{"error": msg})
		return
	}
	d, err := h.threadPage(c, conv)
	if err != nil {
		h.fail(c, "reply", err)
		return
	}
	d.Error, d.Text, d.ClientID, d.Internal = msg, text, clientID, internal
	h.renderThread(c, status, d)
}

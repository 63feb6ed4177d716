package inbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/routing"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/backend/internal/transcript"
)

// Limits of the ticket form.
const (
	maxTicketField     = 200
	maxTicketProps     = 50
	MaxOpenChatsLimit  = 100 // the most open chats an agent may set for themself
	transcriptPageSize = 500
)

// back returns to the thread, or answers the script.
func back(c *gin.Context, conv *store.ConversationSummary, msg string) {
	if wantsJSON(c) {
		c.JSON(http.StatusOK, gin.H{"ok": true, "message": msg})
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/inbox/conversations/%d", conv.ID))
}

// actionError shows the thread again with the reason.
func (h *Handler) actionError(c *gin.Context, conv *store.ConversationSummary, status int, msg string) {
	if wantsJSON(c) {
		c.JSON(status, gin.H{"error": msg})
		return
	}
	d, err := h.threadPage(c, conv)
	if err != nil {
		h.fail(c, "action", err)
		return
	}
	d.ClientID, d.ActionError = store.NewToken(), msg
	h.renderThread(c, status, d)
}

// assign hands the conversation to an agent ("user:ID") or a team ("team:ID").
func (h *Handler) assign(c *gin.Context) {
	conv, ok := h.conversation(c)
	if !ok {
		return
	}
	u := user(c)
	kind, idText, _ := strings.Cut(c.PostForm("assignee"), ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 || (kind != "user" && kind != "team") {
		h.actionError(c, conv, http.StatusUnprocessableEntity, "Choose an agent or a team to assign to.")
		return
	}
	var userID, teamID int64
	if kind == "user" {
		// Only someone who can see the conversation can answer it.
		member, err := h.st.IsInboxMember(c, id, conv.InboxID)
		if err != nil {
			h.fail(c, "assign", err)
			return
		}
		if !member {
			h.actionError(c, conv, http.StatusUnprocessableEntity, "That person is not a member of the "+conv.InboxName+" inbox.")
			return
		}
		userID = id
	} else {
		teamID = id
	}
	err = routing.Assign(c, h.st, u.AccountID, conv.ID, userID, teamID, u.Name)
	switch {
	case errors.Is(err, routing.ErrNoSeat):
		h.actionError(c, conv, http.StatusUnprocessableEntity, "That person has no seat, so they cannot take conversations.")
	case errors.Is(err, routing.ErrUnknownUser), errors.Is(err, routing.ErrUnknownTeam):
		h.actionError(c, conv, http.StatusUnprocessableEntity, "That agent or team no longer exists.")
	case errors.Is(err, routing.ErrClosed):
		h.actionError(c, conv, http.StatusConflict, "The conversation is closed; reopen it first.")
	case err != nil:
		h.fail(c, "assign", err)
	default:
		back(c, conv, "Assigned.")
	}
}

// closeConv closes the conversation; its survey goes to the visitor (backend/internal/chat).
func (h *Handler) closeConv(c *gin.Context) {
	conv, ok := h.conversation(c)
	if !ok {
		return
	}
	if err := routing.Close(c, h.st, user(c).AccountID, conv.ID); err != nil {
		h.fail(c, "close", err)
		return
	}
	back(c, conv, "Closed.")
}

func (h *Handler) reopen(c *gin.Context) {
	conv, ok := h.conversation(c)
	if !ok {
		return
	}
	err := routing.Reopen(c, h.st, user(c).AccountID, conv.ID, user(c).Name)
	if errors.Is(err, routing.ErrNewerOpen) {
		h.actionError(c, conv, http.StatusConflict, "The visitor has started a newer conversation; answer them there.")
		return
	}
	if err != nil {
		h.fail(c, "reopen", err)
		return
	}
	back(c, conv, "Reopened.")
}

// ticket saves the ticket's properties from the side panel. Custom
// properties come as "key=value" lines.
func (h *Handler) ticket(c *gin.Context) {
	conv, ok := h.conversation(c)
	if !ok {
		return
	}
	t, err := h.st.TicketOfConversation(c, user(c).AccountID, conv.ID)
	if errors.Is(err, store.ErrNotFound) {
		h.actionError(c, conv, http.StatusNotFound, "This conversation has no ticket.")
		return
	}
	if err != nil {
		h.fail(c, "ticket", err)
		return
	}
	fields := map[string]*string{"subject": &t.Subject, "pipeline": &t.Pipeline, "status": &t.Status, "priority": &t.Priority, "category": &t.Category}
	for name, p := range fields {
		v := strings.TrimSpace(c.PostForm(name))
		if !utf8.ValidString(v) || utf8.RuneCountInString(v) > maxTicketField || strings.ContainsRune(v, 0) {
			h.actionError(c, conv, http.StatusUnprocessableEntity, "The ticket's "+name+" is too long or not valid text.")
			return
		}
		if v == "" && name != "subject" && name != "category" {
			h.actionError(c, conv, http.StatusUnprocessableEntity, "The ticket's "+name+" cannot be empty.")
			return
		}
		*p = v
	}
	props := map[string]string{}
	for _, line := range strings.Split(c.PostForm("properties"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || utf8.RuneCountInString(k) > 100 || utf8.RuneCountInString(v) > maxTicketField || !utf8.ValidString(line) {
			h.actionError(c, conv, http.StatusUnprocessableEntity, "Write each property as name=value on its own line: “"+line+"” is not.")
			return
		}
		props[k] = v
	}
	if len(props) > maxTicketProps {
		h.actionError(c, conv, http.StatusUnprocessableEntity, fmt.Sprintf("A ticket may have at most %d properties.", maxTicketProps))
		return
	}
	t.Properties, _ = json.Marshal(props)
	if err := h.st.UpdateTicket(c, t); err != nil {
		h.fail(c, "ticket", err)
		return
	}
	back(c, conv, "Ticket saved.")
}

// status changes the agent's own availability and chat limit, then gives
// waiting conversations to whoever can now take them.
func (h *Handler) status(c *gin.Context) {
	u := user(c)
	st := c.PostForm("status")
	if !slices.Contains([]string{store.UserAvailable, store.UserAway, store.UserOffline}, st) {
		h.deny(c, http.StatusUnprocessableEntity, "Choose available, away or offline.")
		return
	}
	if v := strings.TrimSpace(c.PostForm("max_open_chats")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > MaxOpenChatsLimit {
			h.deny(c, http.StatusUnprocessableEntity, fmt.Sprintf("The chat limit must be a number from 0 to %d.", MaxOpenChatsLimit))
			return
		}
		u.MaxOpenChats = n
	}
	u.Status = st
	if err := h.st.UpdateUser(c, u); err != nil {
		h.fail(c, "status", err)
		return
	}
	if _, err := routing.RouteWaiting(c, h.st, u.AccountID); err != nil {
		h.log.Warn("inbox: route waiting", "err", err)
	}
	if wantsJSON(c) {
		c.JSON(http.StatusOK, gin.H{"status": u.Status, "max_open_chats": u.MaxOpenChats})
		return
	}
	c.Redirect(http.StatusSeeOther, safeNext(c.PostForm("next")))
}

// transcript downloads the conversation as the visitor saw it: no internal
// notes, agents under the brand name when the chatflow uses it as alias,
// each message's author unambiguous (backend/transcript).
func (h *Handler) transcript(c *gin.Context) {
	conv, ok := h.conversation(c)
	if !ok {
		return
	}
	u := user(c)
	alias := ""
	if row, err := h.conversationRow(c, conv); err == nil && row.ChatflowID != nil {
		if cf, err := h.st.Chatflow(c, u.AccountID, *row.ChatflowID); err == nil {
			if flow, err := chatflow.FromRow(cf); err == nil && flow.Look.BrandAlias {
				alias = flow.Look.Heading.BrandName
				if alias == "" {
					if acct, err := h.st.Account(c, u.AccountID); err == nil {
						alias = cmp(acct.CompanyName, acct.Name)
					}
				}
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Conversation %s with %s (%s)\n", conv.PublicID, transcript.OneLine(conv.VisitorLabel), transcript.OneLine(conv.InboxName))
	fmt.Fprintf(&b, "Started %s UTC\n\n", conv.CreatedAt.UTC().Format("2006-01-02 15:04"))
	var after int64
	for {
		ms, err := h.st.MessagesAfter(c, conv.ID, after, transcriptPageSize, false)
		if err != nil {
			h.fail(c, "transcript", err)
			return
		}
		atts, err := h.attachmentsOf(c, ms)
		if err != nil {
			h.fail(c, "transcript", err)
			return
		}
		for _, m := range ms {
			v := view(m, conv.VisitorLabel)
			if m.AuthorType == store.AuthorAgent && alias != "" {
				v.Name = alias
			}
			text := m.Body
			if a := atts[m.ID]; a != nil {
				text = fmt.Sprintf("[file: %s, %d bytes] %s", a.Filename, a.Size, text)
			}
			transcript.WriteMessage(&b, m.CreatedAt.UTC().Format("2006-01-02 15:04:05"), v.Name, text)
			after = m.Seq
		}
		if len(ms) < transcriptPageSize {
			break
		}
	}
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="transcript-%s.txt"`, conv.PublicID))
	c.Header("X-Content-Type-Options", "nosniff")
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(b.String()))
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (h *Handler) conversationRow(c *gin.Context, conv *store.ConversationSummary) (*store.Conversation, error) {
	return h.st.Conversation(c, conv.AccountID, conv.ID)
}

// sidePanel is what the thread shows beside the messages.
type sidePanel struct {
	Conv       *store.Conversation
	Device     string
	Contact    *store.Contact
	Properties []kv
	Consents   []store.Consent
	Earlier    []store.EarlierConversation
	Ticket     *store.Ticket
	TicketKV   string // the custom properties as name=value lines
	Agents     []store.User
	Teams      []store.Team
	// Online: the visitor has the widget open on a page now (or had a
	// moment ago: a page change closes one socket and opens the next).
	Online     bool
	avatars    map[int64]string // agents' pictures by user id, for their messages
	Labels     []store.Label    // on the conversation (labels.go)
	MoreLabels []store.Label    // the account's others, to add
}

type kv struct{ Key, Value string }

func sortedKV(m map[string]string) []kv {
	out := make([]kv, 0, len(m))
	for k, v := range m {
		out = append(out, kv{k, v})
	}
	slices.SortFunc(out, func(a, b kv) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// panel loads the side panel of conv.
func (h *Handler) panel(c *gin.Context, conv *store.ConversationSummary) (*sidePanel, error) {
	u := user(c)
	row, err := h.conversationRow(c, conv)
	if err != nil {
		return nil, err
	}
	p := &sidePanel{Conv: row, Device: device(row.UserAgent)}
	if row.ContactID != nil {
		if ct, err := h.st.Contact(c, u.AccountID, *row.ContactID); err == nil {
			p.Contact = ct
			p.Properties = sortedKV(ct.PropertyMap())
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	if p.Consents, err = h.st.Consents(c, u.AccountID, store.ConsentFilter{ConversationID: row.ID, Limit: 20}); err != nil {
		return nil, err
	}
	if p.Earlier, err = h.st.EarlierConversations(c, u.ID, row, 10); err != nil {
		return nil, err
	}
	if t, err := h.st.TicketOfConversation(c, u.AccountID, row.ID); err == nil {
		p.Ticket = t
		if m, err := t.PropertyMap(); err == nil {
			var lines []string
			for _, e := range sortedKV(m) {
				lines = append(lines, e.Key+"="+e.Value)
			}
			p.TicketKV = strings.Join(lines, "\n")
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	in, err := h.st.Inbox(c, u.AccountID, row.InboxID)
	if err != nil {
		return nil, err
	}
	users, err := h.st.Users(c, u.AccountID)
	if err != nil {
		return nil, err
	}
	p.avatars = map[int64]string{}
	for _, a := range users {
		if slices.Contains(in.MemberIDs, a.ID) {
			p.Agents = append(p.Agents, a)
		}
		if src := avatarSrc(a.AvatarURL); src != "" {
			p.avatars[a.ID] = src
		}
	}
	if p.Online, err = h.st.VisitorConnected(c, row.VisitorID, visitorGrace); err != nil {
		return nil, err
	}
	if p.Teams, err = h.st.Teams(c, u.AccountID); err != nil {
		return nil, err
	}
	if err := h.panelLabels(c, p); err != nil {
		return nil, err
	}
	return p, nil
}

// visitorGrace is how long after their last widget socket closed a
// visitor still counts as on the site: a page change closes one and opens
// the next within it.
const visitorGrace = 10 * time.Second

// avatarSrc keeps an avatar URL the page may load: a path on this origin
// (the page's policy loads images from nowhere else); "" for anything else.
func avatarSrc(u string) string {
	if strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//") && !strings.ContainsAny(u, "\\ \"'<>") {
		return u
	}
	return ""
}

// device names the visitor's device from their user agent, roughly.
func device(ua string) string {
	l := strings.ToLower(ua)
	kind := "Desktop"
	switch {
	case ua == "":
		return "Unknown"
	case strings.Contains(l, "ipad") || strings.Contains(l, "tablet"):
		kind = "Tablet"
	case strings.Contains(l, "mobi") || strings.Contains(l, "iphone") || strings.Contains(l, "android"):
		kind = "Mobile"
	}
	browser := ""
	switch {
	case strings.Contains(l, "edg/"):
		browser = "Edge"
	case strings.Contains(l, "chrome/") || strings.Contains(l, "chromium") || strings.Contains(l, "headlesschrome"):
		browser = "Chrome"
	case strings.Contains(l, "firefox/"):
		browser = "Firefox"
	case strings.Contains(l, "safari/"):
		browser = "Safari"
	}
	if browser != "" {
		return kind + " · " + browser
	}
	return kind
}

// stampDate renders a date for the side panel.
func stampDate(t time.Time) string { return t.UTC().Format("Jan 2, 2006") }

package inbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/backend/internal/store"
)

// The live socket's protocol (JSON text frames) is documented in
// PROTOCOL.md; protocol_doc_test.go fails when that and this file disagree.
// One socket per agent page carries everything the page shows: the list,
// the open thread and the agent's alerts.

// Frame types a page sends (the server also sends list, alerts, typing and
// read frames, of its own shape).
const (
	liveSubscribe   = "subscribe"
	liveUnsubscribe = "unsubscribe"
	liveList        = "list"
	liveAlerts      = "alerts"
	liveTyping      = "typing"
	liveRead        = "read"
)

// Frame types the server sends.
const (
	liveMessage = "message"
	liveRows    = "rows"
	liveCounts  = "counts"
	livePage    = "page"
	liveVisitor = "visitor"
	liveViewing = "viewing"
	liveError   = "error"
)

// Query parameters of the socket's handshake.
const (
	// paramBatch "1": the page reads a message holding several frames as
	// a JSON array (a page from before it never asks, and gets one frame
	// per message).
	paramBatch = "batch"
)

// CloseSessionEnded is the close code when the agent's session expires;
// the page then goes to the sign-in form.
const CloseSessionEnded websocket.StatusCode = 4401

// CloseAccessEnded is the close code when the agent may no longer see the
// followed conversation (removed from its inbox); the page reloads and
// shows why.
const CloseAccessEnded websocket.StatusCode = 4403

// errClosed ends the socket's loop after it was closed with a reason.
var errClosed = errors.New("inbox: live socket closed")

// Live socket limits.
const (
	liveReadLimit    = 4 << 10
	liveWriteTimeout = 10 * time.Second
	// liveDrainEvents and liveFlushBytes bound what one write gathers:
	// the events already waiting after the one that woke the loop, and the
	// bytes queued (a catch-up flushes as it goes).
	liveDrainEvents = 64
	liveFlushBytes  = 64 << 10
	livePingEvery   = 30 * time.Second
	livePollEvery   = time.Second     // only without a bus
	liveBatch       = 200             // messages read per query when catching up
	liveTypingEvery = 2 * time.Second // least time between two typing notices of one socket
	liveCountsEvery = 500 * time.Millisecond
	// liveItemsEvery gathers the account's row updates (rowFeed): a busy
	// conversation costs its row one read per interval, not one per message,
	// whatever the number of pages.
	liveItemsEvery = 200 * time.Millisecond
	// liveRowsPerFlush caps the rows an account's feed reads per
	// liveItemsEvery (500 a second): when more chats change than that,
	// each waits its turn, so neither the reads nor a list page's frames
	// grow with the number of busy chats.
	liveRowsPerFlush = 100
	// liveBusyEvery is the least time between two reads of one
	// conversation's row: a chat whose messages come faster has its row
	// (preview, unread count) sent once a second, the first change after a
	// quiet spell within liveItemsEvery.
	liveBusyEvery = time.Second
	// liveViewingEvery repeats "viewing" while a thread is followed: a
	// page that vanishes without a word stops counting after a few misses.
	liveViewingEvery = 20 * time.Second
	// liveResyncEvery spaces the re-reads of a page that keeps missing
	// notices (a burst of new chats faster than its socket takes them):
	// one at once, the next after this interval, whatever was missed
	// meanwhile. Re-reading on every overflow made each re-read the cause
	// of the next.
	liveResyncEvery = time.Second
)

// clientFrame is what the page sends.
type clientFrame struct {
	Type         string `json:"type"`
	Conversation int64  `json:"conversation,omitempty"`
	LastSeq      int64  `json:"last_seq,omitempty"`
	Seq          int64  `json:"seq,omitempty"`   // read
	View         string `json:"view,omitempty"`  // list
	Inbox        int64  `json:"inbox,omitempty"` // list, view "inbox"
	Query        string `json:"q,omitempty"`     // list: a search
	Label        int64  `json:"label,omitempty"` // list: only conversations with this label

	bad string // set instead when the frame was refused: why
}

// errBadFrame is a frame the page should never send; the answer is an error frame.
type errBadFrame string

func (e errBadFrame) Error() string { return string(e) }

// decodeClientFrame decodes and checks one frame from the page: a known
// type with the fields it needs. The returned error's text is for the page.
func decodeClientFrame(b []byte) (clientFrame, error) {
	var f clientFrame
	if !utf8.Valid(b) {
		return f, errBadFrame("The frame is not valid UTF-8.")
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return clientFrame{}, errBadFrame("The frame is not a JSON object of the live protocol.")
	}
	switch f.Type {
	case liveAlerts, liveUnsubscribe:
		return f, nil
	case liveList:
		if utf8.RuneCountInString(f.Query) > MaxQueryRunes {
			return f, errBadFrame("The search is too long.")
		}
		return f, nil
	case liveSubscribe, liveTyping:
		if f.Conversation <= 0 {
			return f, errBadFrame("Name the conversation.")
		}
		if f.LastSeq < 0 {
			return f, errBadFrame("last_seq cannot be negative.")
		}
		return f, nil
	case liveRead:
		if f.Conversation <= 0 || f.Seq <= 0 {
			return f, errBadFrame("A read receipt needs the conversation and the seq read.")
		}
		return f, nil
	}
	return f, errBadFrame("Unknown request.")
}

// serverFrame is what the server pushes; one flat shape like the visitor protocol.
type serverFrame struct {
	Type         string         `json:"type"`
	Conversation int64          `json:"conversation,omitempty"`
	Seq          int64          `json:"seq,omitempty"`
	ID           string         `json:"id,omitempty"`
	From         string         `json:"from,omitempty"`
	Name         string         `json:"name,omitempty"`
	Text         string         `json:"text,omitempty"`
	Internal     bool           `json:"internal,omitempty"`
	At           string         `json:"at,omitempty"`
	Items        []listItem     `json:"items,omitempty"`
	Removed      []string       `json:"removed,omitempty"`     // rows: public ids that left the list
	AlertItems   []listItem     `json:"alert_items,omitempty"` // rows: rows off the list, for the alerts
	Message      string         `json:"message,omitempty"`
	Counts       map[string]int `json:"counts,omitempty"`
	File         *fileView      `json:"file,omitempty"`   // message: its attachment
	Page         string         `json:"page,omitempty"`   // page: the visitor's page now
	Start        string         `json:"start,omitempty"`  // page: the page the conversation started on
	State        string         `json:"state,omitempty"`  // viewing: "viewing" or "left"; visitor: "online" or "gone"
	Avatar       string         `json:"avatar,omitempty"` // message: the agent's picture, a path on this origin
}

// listItem is one conversation of the list, for the script to build with textContent.
type listItem struct {
	ID       int64  `json:"id"`
	PublicID string `json:"public_id"`
	Href     string `json:"href"`
	Label    string `json:"label"`
	Claim    string `json:"claim,omitempty"` // the address the visitor typed, shown marked unverified
	Inbox    string `json:"inbox"`
	Preview  string `json:"preview"`
	Note     bool   `json:"note"` // the preview is an internal note
	At       string `json:"at"`   // last activity, RFC 3339
	When     string `json:"when"` // the same, as the list shows it
	Unread   bool   `json:"unread"`
	Assignee string `json:"assignee"`
	// UnreadCount is how many visitor messages wait to be read.
	UnreadCount int    `json:"unread_count"`
	AssigneeID  int64  `json:"assignee_id,omitempty"`
	Status      string `json:"status"`
	// Alert: the chat concerns the page's agent, open and theirs or
	// nobody's yet; its page rings when UnreadCount grows.
	Alert bool `json:"alert"`
	// Labels are the conversation's labels (labels.go); omitted without any.
	Labels []itemLabel `json:"labels,omitempty"`
}

func item(c store.ConversationSummary, userID int64) listItem {
	it := listItem{
		ID: c.ID, PublicID: c.PublicID, Href: "/inbox/conversations/" + strconv.FormatInt(c.ID, 10),
		Label: c.VisitorLabel, Claim: c.ClaimedEmail, Inbox: c.InboxName, Preview: preview(c.LastBody), Note: c.LastInternal,
		At: c.LastMessageAt.UTC().Format(time.RFC3339), When: when(c.LastMessageAt),
		Unread: c.Unread(), Assignee: c.AssigneeName,
		UnreadCount: c.UnreadMessages(), Status: c.Status,
		Alert: c.Status == store.StatusOpen && (c.AssigneeID == nil || *c.AssigneeID == userID),
	}
	if c.AssigneeID != nil {
		it.AssigneeID = *c.AssigneeID
	}
	for _, l := range c.Labels {
		it.Labels = append(it.Labels, itemLabel{ID: l.ID, Name: l.Name, Color: l.Color})
	}
	return it
}

// originPatterns keeps coder/websocket's same-origin check and adds the
// configured hosts and the public host a reverse proxy (the edge) reports in
// X-Forwarded-Host. A browser cannot set that header on a WebSocket
// handshake, so a cross-site page still fails the check.
func (h *Handler) originPatterns(r *http.Request) []string {
	ps := append([]string(nil), h.cfg.OriginPatterns...)
	if fh := strings.TrimSpace(strings.Split(r.Header.Get("X-Forwarded-Host"), ",")[0]); fh != "" &&
		!strings.ContainsAny(fh, "*?[]\\/ ") {
		ps = append(ps, fh)
	}
	return ps
}

// live is the agent pages' WebSocket.
func (h *Handler) live(c *gin.Context) {
	u, sess := user(c), session(c)
	secret, _ := c.Cookie(SessionCookie)
	conn, err := websocket.Accept(c.Writer, c.Request, &websocket.AcceptOptions{OriginPatterns: h.originPatterns(c.Request)})
	if err != nil {
		return // Accept has answered (403 for a foreign origin)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(liveReadLimit)
	AgentSockets.Inc()
	defer AgentSockets.Dec()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	frames := make(chan clientFrame)
	go func() {
		defer cancel()
		for {
			typ, b, err := conn.Read(ctx)
			if err != nil {
				return
			}
			f, err := decodeClientFrame(b)
			if typ != websocket.MessageText {
				err = errBadFrame("Only text frames are accepted.")
			}
			if err != nil {
				f = clientFrame{bad: err.Error()}
			}
			select {
			case frames <- f:
			case <-ctx.Done():
				return
			}
		}
	}()

	var notices <-chan events.Notice
	var sub *events.Subscription
	var poll <-chan time.Time
	if h.bus != nil {
		sub = h.bus.Subscribe(u.AccountID)
		defer sub.Close()
		notices = sub.C
	} else {
		t := time.NewTicker(livePollEvery)
		defer t.Stop()
		poll = t.C
	}
	// One timer for the ping, the viewing repeat and the session's end: a
	// parked loop costs the fewer channels, and the timer heap fewer
	// entries, on every message.
	now := time.Now()
	nextPing, nextViewing := now.Add(livePingEvery), now.Add(liveViewingEvery)
	tick := time.NewTimer(time.Until(earliest(nextPing, nextViewing, sess.ExpiresAt)))
	defer tick.Stop()

	if h.cfg.Mail != nil {
		defer h.cfg.Mail.InboxOpened(u.ID)() // no email news while a page is open
	}
	if h.cfg.Presence != nil {
		defer h.cfg.Presence.Opened(u.ID)() // an agent with no page open turns away
	}
	rows := h.rows.join(u.AccountID)
	defer h.rows.leave(u.AccountID, rows)
	s := newLiveState(h, conn, u, secret, sub, rows, c.Query(paramBatch) == "1")
	defer s.watchdog.Stop()
	defer s.follow(0) // other agents' pages stop showing this one as viewing
	if err := s.loadInboxes(ctx); err != nil {
		h.log.Error("inbox: live", "err", err)
		conn.Close(websocket.StatusInternalError, "try again")
		return
	}
	pace := events.Pacer{Every: liveResyncEvery} // re-reads after lost notices or rows
	defer pace.Stop()
	onFrame := func(f clientFrame) error {
		err := s.handle(ctx, f)
		s.narrow()
		return err
	}
	onNotice := func(n events.Notice) error {
		if sub.Missed() && pace.Now() {
			return s.resync(ctx)
		}
		return s.notice(ctx, n) // shown now; a pending re-read follows
	}
	onRows := func(b rowBatch) error {
		if rows.missed.Swap(false) && pace.Now() {
			return s.resync(ctx)
		}
		return s.sendBatch(ctx, b)
	}
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case f := <-frames:
			err = onFrame(f)
		case n := <-notices:
			err = onNotice(n)
		case <-pace.C():
			pace.Fired()
			err = s.resync(ctx)
		case <-poll:
			err = s.resync(ctx)
		case b := <-rows.C:
			err = onRows(b)
		case id := <-rows.Typing:
			err = s.rowTyping(ctx, id)
		case <-tick.C:
			now := time.Now()
			if !now.Before(sess.ExpiresAt) {
				conn.Close(CloseSessionEnded, "session ended")
				return
			}
			if !now.Before(nextViewing) {
				s.announceViewing(ctx, false)
				nextViewing = now.Add(liveViewingEvery)
			}
			if !now.Before(nextPing) {
				pctx, pcancel := context.WithTimeout(ctx, liveWriteTimeout)
				err = conn.Ping(pctx)
				pcancel()
				nextPing = now.Add(livePingEvery)
			}
			tick.Reset(time.Until(earliest(nextPing, nextViewing, sess.ExpiresAt)))
		}
		// Whatever else is ready now goes out in the same write: no
		// waiting, only what is already queued.
	drain:
		for range liveDrainEvents {
			if err != nil || s.out.Len() >= liveFlushBytes {
				break
			}
			select {
			case f := <-frames:
				err = onFrame(f)
			case n := <-notices:
				err = onNotice(n)
			case b := <-rows.C:
				err = onRows(b)
			case id := <-rows.Typing:
				err = s.rowTyping(ctx, id)
			default:
				break drain
			}
		}
		if err == nil {
			err = s.flush()
		}
		if err != nil {
			if errors.Is(err, errClosed) {
				return
			}
			if ctx.Err() == nil && websocket.CloseStatus(err) == -1 && !errors.Is(err, context.Canceled) {
				h.log.Warn("inbox: live", "user", u.ID, "err", err)
			}
			return
		}
	}
}

// earliest is the first of some times.
func earliest(ts ...time.Time) time.Time {
	first := ts[0]
	for _, t := range ts[1:] {
		if t.Before(first) {
			first = t
		}
	}
	return first
}

// liveState is one socket's view: which inboxes its agent sees and what
// the page follows.
type liveState struct {
	h       *Handler
	conn    *websocket.Conn
	user    *store.User
	secret  string // the session's cookie secret, to check it is still live
	inboxes map[int64]bool
	sub     *events.Subscription // nil without a bus
	rows    *rowSub              // the account's row feed (rows.go)
	thread  int64                // followed conversation; 0 for none
	inboxOf int64                // the followed conversation's inbox
	last    int64                // the last seq sent for it
	visitor string
	list    bool
	alerts  bool            // the page rings for the agent's chats (every inbox page)
	known   map[int64]int64 // conversations the page was sent a row of, to their inbox
	// shown are the rows of the page's live list (at most ListLimit, as
	// rendered): a changed row is sent when it is or becomes one of them,
	// and the row it pushes below the last goes as removed.
	shown map[int64]shownRow
	// ringing are the conversations the page counts as alerts (open, the
	// agent's or nobody's, with unread messages): a row off the list is
	// sent for the alerts while it is one, and once when it stops.
	ringing map[int64]bool
	view    string // the list's view, inbox and search
	inbox   int64
	query   string
	label   int64 // the list's label filter

	typingNoticed time.Time             // when this socket's last typing notice went out
	visitorRead   int64                 // the visitor's read position last sent
	page          string                // the visitor's page the thread page shows
	agents        map[int64]*store.User // colleagues seen typing, viewing or writing

	// Frames are encoded into out as they are made and written by flush,
	// once the loop has nothing more ready: several at once go in one
	// message (a JSON array) when the page asked with ?batch=1, one write
	// and one read on each hop for all of them.
	batch    bool
	out      bytes.Buffer  // out[0] is reserved for a batch's '['; each frame ends with '\n'
	ends     []int         // where each frame in out ends
	enc      *json.Encoder // encodes into out
	watchdog *time.Timer   // closes the socket when a write outlasts liveWriteTimeout
}

func newLiveState(h *Handler, conn *websocket.Conn, u *store.User, secret string, sub *events.Subscription, rows *rowSub, batch bool) *liveState {
	s := &liveState{h: h, conn: conn, user: u, secret: secret, sub: sub, rows: rows, batch: batch}
	s.out.WriteByte('[')
	s.enc = json.NewEncoder(&s.out)
	// A write without a deadline (a context with one costs a timer and
	// two registrations per frame); this timer, armed around each write,
	// ends one that hangs.
	s.watchdog = time.AfterFunc(time.Hour, func() { conn.CloseNow() })
	s.watchdog.Stop()
	return s
}

// recheck reads the session, the user and their inboxes again. A session
// that ended closes the socket (CloseSessionEnded); a followed thread whose
// inbox is no longer the agent's closes it with CloseAccessEnded. Either way
// it answers errClosed.
func (s *liveState) recheck(ctx context.Context) error {
	sess, err := s.h.st.SessionBySecret(ctx, s.secret)
	var u *store.User
	if err == nil && sess.UserID != s.user.ID {
		err = store.ErrNotFound
	}
	if err == nil {
		u, err = s.h.st.UserByID(ctx, sess.UserID)
	}
	if errors.Is(err, store.ErrNotFound) {
		return s.close(CloseSessionEnded, "session ended")
	}
	if err != nil {
		return err
	}
	s.user = u
	if err := s.loadInboxes(ctx); err != nil {
		return err
	}
	if s.thread != 0 && !s.inboxes[s.inboxOf] {
		return s.close(CloseAccessEnded, "no longer a member of the conversation's inbox")
	}
	return nil
}

func (s *liveState) loadInboxes(ctx context.Context) error {
	ids, err := s.h.st.InboxIDsOf(ctx, s.user.ID)
	if err != nil {
		return err
	}
	s.inboxes = map[int64]bool{}
	for _, id := range ids {
		s.inboxes[id] = true
	}
	return nil
}

// write queues frame f for the next flush (at once when the queue is
// past liveFlushBytes).
func (s *liveState) write(_ context.Context, f serverFrame) error {
	if b, ok := appendFrame(s.out.AvailableBuffer(), &f); ok {
		s.out.Write(b)
	} else if err := s.enc.Encode(f); err != nil {
		return err
	}
	s.ends = append(s.ends, s.out.Len())
	if s.out.Len() >= liveFlushBytes {
		return s.flush()
	}
	return nil
}

// flush writes the queued frames: one as it is, several as one JSON array
// for a page that reads batches, else one message each.
func (s *liveState) flush() error {
	if len(s.ends) == 0 {
		return nil
	}
	b := s.out.Bytes()
	var err error
	switch {
	case len(s.ends) == 1:
		err = s.send(b[1:s.ends[0]])
	case s.batch:
		for i, end := range s.ends {
			b[end-1] = ',' // the encoder's newline
			if i == len(s.ends)-1 {
				b[end-1] = ']'
			}
		}
		err = s.send(b)
	default:
		start := 1
		for _, end := range s.ends {
			if err = s.send(b[start:end]); err != nil {
				break
			}
			start = end
		}
	}
	s.out.Truncate(1)
	s.ends = s.ends[:0]
	if s.out.Cap() > 4*liveFlushBytes {
		s.out = bytes.Buffer{} // not kept after a burst of big frames
		s.out.WriteByte('[')
	}
	return err
}

// send writes one message, within liveWriteTimeout.
func (s *liveState) send(b []byte) error {
	s.watchdog.Reset(liveWriteTimeout)
	err := s.conn.Write(context.Background(), websocket.MessageText, b)
	if !s.watchdog.Stop() && err == nil {
		err = errors.New("inbox: live write timed out")
	}
	return err
}

// close sends what is queued, then closes the socket with code.
func (s *liveState) close(code websocket.StatusCode, reason string) error {
	s.flush()
	s.conn.Close(code, reason)
	return errClosed
}

func (s *liveState) handle(ctx context.Context, f clientFrame) error {
	if f.bad != "" {
		return s.write(ctx, serverFrame{Type: liveError, Message: f.bad})
	}
	switch f.Type {
	case liveSubscribe:
		s.follow(0) // the check below is about the new thread
		if err := s.recheck(ctx); err != nil {
			return err
		}
		conv, err := s.h.st.ConversationSummary(ctx, s.user.AccountID, f.Conversation)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !s.inboxes[conv.InboxID]) {
			return s.write(ctx, serverFrame{Type: liveError, Message: "You cannot follow that conversation."})
		}
		if err != nil {
			return err
		}
		s.inboxOf, s.last, s.visitor, s.visitorRead = conv.InboxID, max(f.LastSeq, 0), conv.VisitorLabel, 0
		s.follow(conv.ID)
		if err := s.catchUp(ctx); err != nil {
			return err
		}
		if err := s.sendVisitorRead(ctx); err != nil {
			return err
		}
		// Whether the visitor is there is on the page as rendered;
		// KindVisitor notices bring the changes.
		return s.sendPage(ctx, true)
	case liveUnsubscribe:
		s.follow(0)
		return nil
	case liveAlerts:
		if err := s.recheck(ctx); err != nil {
			return err
		}
		s.alerts = true
		s.rows.want.Store(true) // before the read: no change after it is missed
		return s.sendAlerts(ctx)
	case liveTyping, liveRead:
		if f.Conversation != s.thread || s.thread == 0 {
			return s.write(ctx, serverFrame{Type: liveError, Message: "Subscribe to the conversation first."})
		}
		if f.Type == liveRead {
			_, _, err := s.h.st.MarkRead(ctx, s.thread, store.ReadAgent, f.Seq)
			return err
		}
		if time.Since(s.typingNoticed) < liveTypingEvery {
			return nil
		}
		s.typingNoticed = time.Now()
		s.h.st.Announce(ctx, events.Notice{Account: s.user.AccountID, Conversation: s.thread,
			Kind: events.KindTyping, Author: store.ReadAgent + ":" + strconv.FormatInt(s.user.ID, 10)})
		return nil
	case liveList:
		if err := s.recheck(ctx); err != nil {
			return err
		}
		s.list, s.view, s.inbox, s.query, s.label = true, f.View, f.Inbox, strings.TrimSpace(f.Query), f.Label
		s.rows.want.Store(true) // before the read: no change after it is missed
		if err := s.sendList(ctx); err != nil {
			return err
		}
		return s.sendCounts(ctx)
	default:
		return s.write(ctx, serverFrame{Type: liveError, Message: "Unknown request."})
	}
}

// notice reacts to one change.
func (s *liveState) notice(ctx context.Context, n events.Notice) error {
	if n.Kind == events.KindAccess {
		if n.Author != "" && n.Author != strconv.FormatInt(s.user.ID, 10) {
			return nil
		}
		if err := s.recheck(ctx); err != nil {
			return err
		}
		if s.list {
			if err := s.sendList(ctx); err != nil {
				return err
			}
			return s.sendCounts(ctx)
		}
		return nil
	}
	if n.Conversation != 0 && n.Conversation == s.thread {
		switch n.Kind {
		case events.KindViewing:
			return s.viewing(ctx, n)
		case events.KindVisitor:
			return s.sendVisitor(ctx)
		case events.KindTyping:
			return s.typing(ctx, n.Author)
		case events.KindRead:
			if n.Author == store.ReadVisitor {
				return s.sendVisitorRead(ctx)
			}
			// The team read it: its row below.
		case events.KindConversation:
			if err := s.sendPage(ctx, false); err != nil {
				return err
			}
		}
	}
	// Rows of the list change with the account's row feed (rows.go).
	if n.Conversation != 0 && s.thread == n.Conversation && n.Kind == events.KindMessage && n.Seq > s.last {
		if m, ok := n.Local.(*store.Message); ok && m.Seq == s.last+1 && !m.HasAttachment && m.AuthorType != store.AuthorAgent {
			// The next message, written by this process: sent as it was
			// stored, without reading it back (an agent's needs their name,
			// a file its attachment row: those are read).
			if err := s.sendMessage(ctx, *m, nil); err != nil {
				return err
			}
		} else if err := s.catchUp(ctx); err != nil {
			return err
		}
	}
	return nil
}

// rowTyping shows that the visitor types in a chat of the list, in its row.
func (s *liveState) rowTyping(ctx context.Context, id int64) error {
	if !s.list || id == s.thread {
		return nil // the followed thread's typing comes with its notices
	}
	if in, ok := s.known[id]; ok && s.inboxes[in] {
		return s.write(ctx, serverFrame{Type: liveTyping, Conversation: id, From: store.ReadVisitor})
	}
	return nil
}

// sendCounts pushes the numbers beside the views.
func (s *liveState) sendCounts(ctx context.Context) error {
	vc, err := s.h.st.ViewCounts(ctx, s.user.ID)
	if err != nil {
		return err
	}
	return s.write(ctx, serverFrame{Type: liveCounts, Counts: countsOf(vc)})
}

// resync re-reads everything after notices may have been lost.
func (s *liveState) resync(ctx context.Context) error {
	if err := s.recheck(ctx); err != nil {
		return err
	}
	if s.thread != 0 {
		if err := s.catchUp(ctx); err != nil {
			return err
		}
		if err := s.sendVisitorRead(ctx); err != nil {
			return err
		}
		if err := s.sendPage(ctx, false); err != nil {
			return err
		}
	}
	if s.list {
		cs, err := s.listRows(ctx)
		if err != nil {
			return err
		}
		if s.alerts && s.listIsOpen() {
			return s.writeAlerts(ctx, cs) // the same rows: not read twice
		}
	}
	if s.alerts {
		return s.sendAlerts(ctx)
	}
	return nil
}

// catchUp sends the followed thread's messages after the last one sent,
// agents' notes included.
func (s *liveState) catchUp(ctx context.Context) error {
	for {
		ms, err := s.h.st.MessagesAfter(ctx, s.thread, s.last, liveBatch, true)
		if err != nil {
			return err
		}
		atts, err := s.h.attachmentsOf(ctx, ms)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if err := s.sendMessage(ctx, m, atts[m.ID]); err != nil {
				return err
			}
		}
		if len(ms) < liveBatch {
			return nil
		}
	}
}

// sendMessage sends one message of the followed thread and moves past it.
func (s *liveState) sendMessage(ctx context.Context, m store.Message, file *store.Attachment) error {
	v := view(m, s.visitor)
	f := serverFrame{Type: liveMessage, Conversation: s.thread, Seq: m.Seq, From: v.From, Name: v.Name,
		Text: v.Text, Internal: v.Internal, At: m.CreatedAt.UTC().Format(time.RFC3339), File: fileOf(file)}
	if m.ClientID != nil {
		f.ID = *m.ClientID
	}
	if m.AuthorType == store.AuthorAgent && m.AuthorID != nil {
		if u := s.agent(ctx, *m.AuthorID); u != nil {
			f.Avatar = avatarSrc(u.AvatarURL)
		}
	}
	if err := s.write(ctx, f); err != nil {
		return err
	}
	s.last = m.Seq
	return nil
}

func (s *liveState) sendList(ctx context.Context) error {
	_, err := s.listRows(ctx)
	return err
}

// listRows sends the page's list and returns its rows.
func (s *liveState) listRows(ctx context.Context) ([]store.ConversationSummary, error) {
	view, inbox := s.view, s.inbox
	if view == store.ViewInbox && !s.inboxes[inbox] {
		return nil, s.write(ctx, serverFrame{Type: liveError, Message: "You are not a member of that inbox."})
	}
	cs, err := s.h.st.ConversationList(ctx, store.ListFilter{UserID: s.user.ID, View: view, InboxID: inbox, Query: s.query, LabelID: s.label, Limit: s.h.cfg.ListLimit})
	if err == nil {
		err = fillLabels(ctx, s.h.st, s.user.AccountID, cs)
	}
	if err != nil {
		return nil, err
	}
	items := make([]listItem, 0, len(cs))
	s.shown = map[int64]shownRow{}
	for _, c := range cs {
		items = append(items, item(c, s.user.ID))
		s.know(c.ID, c.InboxID)
		s.shown[c.ID] = shownRow{at: c.LastMessageAt, publicID: c.PublicID}
	}
	return cs, s.write(ctx, serverFrame{Type: liveList, Items: items})
}

// listIsOpen reports whether the page's list is what sendAlerts reads:
// every open chat of the agent's inboxes, unfiltered.
func (s *liveState) listIsOpen() bool {
	return (s.view == "" || s.view == store.ViewOpen) && s.query == "" && s.label == 0
}

// know remembers that the page was sent conversation id's row.
func (s *liveState) know(id, inbox int64) {
	if s.known == nil {
		s.known = map[int64]int64{}
	}
	s.known[id] = inbox
}

// sendAlerts sends where the agent's alerts stand: the open chats of their
// inboxes, theirs or nobody's, with unread visitor messages. The page
// rings for growth from there.
func (s *liveState) sendAlerts(ctx context.Context) error {
	cs, err := s.h.st.ConversationList(ctx, store.ListFilter{UserID: s.user.ID, View: store.ViewOpen, Limit: s.h.cfg.ListLimit})
	if err != nil {
		return err
	}
	return s.writeAlerts(ctx, cs)
}

// writeAlerts sends the alerts of the open list cs.
func (s *liveState) writeAlerts(ctx context.Context, cs []store.ConversationSummary) error {
	items := []listItem{}
	s.ringing = map[int64]bool{}
	for _, c := range cs {
		if it := item(c, s.user.ID); it.Alert && it.UnreadCount > 0 {
			items = append(items, it)
			s.ringing[c.ID] = true
		}
	}
	return s.write(ctx, serverFrame{Type: liveAlerts, Items: items})
}

// follow makes conversation id the followed thread (0: none) and tells the
// other agents' pages: the old thread's that this agent left, the new
// one's that they are viewing it.
func (s *liveState) follow(id int64) {
	if s.thread == id {
		return
	}
	if s.thread != 0 {
		s.announceViewing(context.Background(), true)
	}
	s.thread = id
	s.announceViewing(context.Background(), false)
}

// announceViewing says that this agent views the followed thread, or left it.
func (s *liveState) announceViewing(ctx context.Context, left bool) {
	if s.thread == 0 {
		return
	}
	n := events.Notice{Account: s.user.AccountID, Conversation: s.thread, Kind: events.KindViewing,
		Author: store.ReadAgent + ":" + strconv.FormatInt(s.user.ID, 10)}
	if left {
		n.Seq = 1
	}
	s.h.st.Announce(ctx, n)
}

// viewing tells the page that another agent views (or left) its thread.
func (s *liveState) viewing(ctx context.Context, n events.Notice) error {
	id, ok := s.agentOf(n.Author)
	if !ok {
		return nil
	}
	name, ok := s.agentName(ctx, id)
	if !ok {
		return nil
	}
	state := "viewing"
	if n.Seq == 1 {
		state = "left"
	}
	return s.write(ctx, serverFrame{Type: liveViewing, Conversation: s.thread, From: store.ReadAgent, Name: name, State: state})
}

// sendVisitor tells the page whether the followed thread's visitor has the
// widget open on a page now, and which.
func (s *liveState) sendVisitor(ctx context.Context) error {
	conv, err := s.h.st.Conversation(ctx, s.user.AccountID, s.thread)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	online, err := s.h.st.VisitorConnected(ctx, conv.VisitorID, 0)
	if err != nil {
		return err
	}
	state := "gone"
	if online {
		state = "online"
	}
	return s.write(ctx, serverFrame{Type: liveVisitor, Conversation: s.thread, State: state, Page: conv.VisitorPage(), Start: conv.PageURL})
}

// narrow limits the bus subscription to the followed thread's notices
// and the account's own: the list's rows come from the row feed, which
// hears the rest of the account once for every page.
func (s *liveState) narrow() {
	if s.sub == nil {
		return
	}
	if s.thread == 0 {
		s.sub.Only(events.OnlyAccount)
		return
	}
	s.sub.Only(s.thread)
}

// sendBatch pushes what the account's row feed read: the rows of this
// page among the changed ones, in one rows frame, and its view counts.
func (s *liveState) sendBatch(ctx context.Context, b rowBatch) error {
	f := serverFrame{Type: liveRows, Items: make([]listItem, 0, len(b.rows))}
	live := s.list && s.query == "" && s.label == 0 // a search's or a label's rows are not kept live
	var placed map[int64]int                        // rows of f.Items, by conversation
	for i := range b.rows {
		c := &b.rows[i]
		if !s.inboxes[c.InboxID] {
			continue
		}
		it := item(*c, s.user.ID)
		if live && inView(c, s.view, s.inbox, s.user.ID) {
			if placed == nil {
				placed = map[int64]int{}
			}
			placed[c.ID] = len(f.Items)
			f.Items = append(f.Items, it)
			s.know(c.ID, c.InboxID)
			if s.shown == nil {
				s.shown = map[int64]shownRow{}
			}
			s.shown[c.ID] = shownRow{at: c.LastMessageAt, publicID: c.PublicID}
			continue
		}
		if r, ok := s.shown[c.ID]; ok { // left the view
			delete(s.shown, c.ID)
			f.Removed = append(f.Removed, r.publicID)
		}
		if s.alerts && (s.ringing[c.ID] || it.Alert && it.UnreadCount > 0) {
			f.AlertItems = append(f.AlertItems, it)
		}
	}
	// Rows pushed below the list's last are removed, as a page loaded now
	// would not show them; one changed in this batch is not sent at all
	// (a row of the page that went below it was already in shown).
	for _, id := range s.overflow() {
		r := s.shown[id]
		delete(s.shown, id)
		if i, ok := placed[id]; ok {
			it := f.Items[i]
			f.Items[i].ID = 0 // dropped below
			if s.alerts && (s.ringing[id] || it.Alert && it.UnreadCount > 0) {
				f.AlertItems = append(f.AlertItems, it)
			}
		}
		f.Removed = append(f.Removed, r.publicID)
	}
	items := f.Items[:0]
	for _, it := range f.Items {
		if it.ID != 0 {
			items = append(items, it)
		}
	}
	f.Items = items
	if s.alerts {
		for _, it := range f.Items {
			s.ring(it)
		}
		for _, it := range f.AlertItems {
			s.ring(it)
		}
	}
	if len(f.Items)+len(f.Removed)+len(f.AlertItems) > 0 {
		if err := s.write(ctx, f); err != nil {
			return err
		}
	}
	if b.counts != nil && s.list {
		return s.write(ctx, serverFrame{Type: liveCounts, Counts: viewCounts(b.counts, s.inboxes, s.user.ID)})
	}
	return nil
}

// shownRow is one row of the page's live list: where it sorts, and what
// removes it.
type shownRow struct {
	at       time.Time
	publicID string
}

// overflow returns the rows of shown below the list's last (ListLimit),
// in the list's order (newest activity first, then the higher id).
func (s *liveState) overflow() []int64 {
	limit := s.h.cfg.ListLimit
	if len(s.shown) <= limit {
		return nil
	}
	type entry struct {
		id int64
		at time.Time
	}
	es := make([]entry, 0, len(s.shown))
	for id, r := range s.shown {
		es = append(es, entry{id, r.at})
	}
	slices.SortFunc(es, func(a, b entry) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		switch {
		case a.id > b.id:
			return -1
		case a.id < b.id:
			return 1
		}
		return 0
	})
	ids := make([]int64, 0, len(es)-limit)
	for _, e := range es[limit:] {
		ids = append(ids, e.id)
	}
	return ids
}

// ring records whether the page counts row it as an alert after it was sent.
func (s *liveState) ring(it listItem) {
	if it.Alert && it.UnreadCount > 0 {
		if s.ringing == nil {
			s.ringing = map[int64]bool{}
		}
		s.ringing[it.ID] = true
	} else {
		delete(s.ringing, it.ID)
	}
}

// sendVisitorRead pushes how far the visitor has read the followed thread,
// when it moved since last told. It reads the position rather than trusting
// a notice's, so a late notice never moves "Seen" back.
func (s *liveState) sendVisitorRead(ctx context.Context) error {
	visitor, _, err := s.h.st.ReadPositions(ctx, s.thread)
	if err != nil || visitor <= s.visitorRead {
		return err
	}
	s.visitorRead = visitor
	return s.write(ctx, serverFrame{Type: liveRead, Conversation: s.thread, From: store.ReadVisitor, Seq: visitor})
}

// sendPage tells the thread page the visitor's current page when it moved
// since last told. Right after subscribe it is sent whenever the visitor
// has left the page the conversation started on, since the thread may have
// been rendered before that; a visitor who never moved is what the page shows.
func (s *liveState) sendPage(ctx context.Context, subscribed bool) error {
	conv, err := s.h.st.Conversation(ctx, s.user.AccountID, s.thread)
	if errors.Is(err, store.ErrNotFound) {
		return nil // erased; the thread has nothing more to show
	}
	if err != nil {
		return err
	}
	if conv.InboxID != s.inboxOf {
		// Moved to another inbox: followed only while the agent is a member.
		s.inboxOf = conv.InboxID
		if !s.inboxes[conv.InboxID] {
			return s.close(CloseAccessEnded, "the conversation moved to an inbox you are not a member of")
		}
	}
	page := conv.VisitorPage()
	if subscribed && conv.CurrentPage == "" || !subscribed && page == s.page {
		s.page = page
		return nil
	}
	s.page = page
	return s.write(ctx, serverFrame{Type: livePage, Conversation: s.thread, Page: page, Start: conv.PageURL})
}

// typing tells the page who is typing in the followed thread: the visitor,
// or another agent (an agent's own typing is not news to them).
func (s *liveState) typing(ctx context.Context, author string) error {
	if author == store.ReadVisitor {
		return s.write(ctx, serverFrame{Type: liveTyping, Conversation: s.thread, From: store.ReadVisitor, Name: "Visitor"})
	}
	id, ok := s.agentOf(author)
	if !ok {
		return nil
	}
	name, ok := s.agentName(ctx, id)
	if !ok {
		return nil
	}
	return s.write(ctx, serverFrame{Type: liveTyping, Conversation: s.thread, From: store.ReadAgent, Name: name})
}

// agentOf reads a notice's "agent:ID" author; another agent's only (an
// agent's own typing or viewing is no news to them).
func (s *liveState) agentOf(author string) (int64, bool) {
	idText, ok := strings.CutPrefix(author, store.ReadAgent+":")
	id, err := strconv.ParseInt(idText, 10, 64)
	return id, ok && err == nil && id != s.user.ID
}

// agentName is a colleague's name, read once per socket; false when it
// cannot be read (an indicator is not worth ending the socket).
func (s *liveState) agentName(ctx context.Context, id int64) (string, bool) {
	u := s.agent(ctx, id)
	if u == nil {
		return "", false
	}
	return u.Name, true
}

// agent reads a user of the account once per socket; nil when it cannot.
func (s *liveState) agent(ctx context.Context, id int64) *store.User {
	if u, ok := s.agents[id]; ok {
		return u
	}
	u, err := s.h.st.User(ctx, s.user.AccountID, id)
	if err != nil {
		return nil
	}
	if s.agents == nil {
		s.agents = map[int64]*store.User{}
	}
	s.agents[id] = u
	return u
}

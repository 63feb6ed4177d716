package inbox

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/backend/internal/store"
)

// rowFeed reads the rows of changed conversations once for every live
// socket of an account in this process. It hears the account's notices
// itself, on one bus subscription, so a page's socket hears only its
// followed thread's: ten list pages cost one subscription and one read of
// the changed rows every liveItemsEvery (and at most every
// liveCountsEvery one count of the account's conversations), not ten, and
// a page busy writing cannot fall behind on the account's traffic. Each
// socket then sends its page, in one frame, the rows of its list among
// them (live.go).
type rowFeed struct {
	st  *store.Store
	log *slog.Logger
	bus *events.Bus // nil: no notices, the sockets poll

	mu       sync.Mutex
	accounts map[int64]*accountFeed
}

type accountFeed struct {
	subs    map[*rowSub]struct{}
	pending map[int64]pendingRow
	// read is when rows were last read, for those read within
	// liveBusyEvery: a busy conversation's row waits for its turn.
	read       map[int64]time.Time
	wakeAt     time.Time // when the next flush is due (wakeBy); zero: none
	flushed    time.Time // when the last flush ran
	countsDue  bool      // the counts changed since they were last read
	countsNext time.Time // when the counts may be read again

	notices *events.Subscription // the account's notices; nil without a bus
	stop    chan struct{}        // closed when the last socket leaves
}

// pendingRow is a changed conversation whose row is yet to be read.
type pendingRow struct {
	since time.Time // when it first changed since its last read
	moved bool      // the change may move it between views (status, inbox, assignee)
}

// rowBatch is what a socket receives: changed rows, and the account's
// counts when they were read again.
type rowBatch struct {
	rows   []store.ConversationSummary
	counts []store.ConversationCount
}

// rowSub is one socket's end of the feed.
type rowSub struct {
	C      chan rowBatch // when full, batches are dropped and missed is set
	missed atomic.Bool   // the socket re-reads its list
	// Typing names conversations whose visitor types, for the rows of
	// the list; dropped when full (it is shown for a few seconds only).
	Typing chan int64
	// want: the socket shows a list or alerts. A page without either is
	// handed no rows, so it does not wake for them.
	want atomic.Bool
}

func newRowFeed(st *store.Store, log *slog.Logger, bus *events.Bus) *rowFeed {
	return &rowFeed{st: st, log: log, bus: bus, accounts: map[int64]*accountFeed{}}
}

func (f *rowFeed) join(account int64) *rowSub {
	s := &rowSub{C: make(chan rowBatch, 16), Typing: make(chan int64, 16)}
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.accounts[account]
	if a == nil {
		a = &accountFeed{subs: map[*rowSub]struct{}{}, pending: map[int64]pendingRow{}, read: map[int64]time.Time{},
			stop: make(chan struct{})}
		f.accounts[account] = a
		if f.bus != nil {
			a.notices = f.bus.SubscribeBuffered(account, events.WholeAccountBuffer)
			go f.listen(account, a)
		}
	}
	a.subs[s] = struct{}{}
	return s
}

func (f *rowFeed) leave(account int64, s *rowSub) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.accounts[account]; a != nil {
		delete(a.subs, s)
		if len(a.subs) == 0 {
			delete(f.accounts, account)
			close(a.stop)
			if a.notices != nil {
				a.notices.Close()
			}
		}
	}
}

// listen hears the account's notices until the last socket leaves: a
// message, a conversation change or the team reading a chat changes its
// row; a visitor typing shows in it.
func (f *rowFeed) listen(account int64, a *accountFeed) {
	for {
		var n events.Notice
		select {
		case <-a.stop:
			return
		case n = <-a.notices.C:
		}
		if a.notices.Missed() {
			f.missed(a)
		}
		switch {
		case n.Conversation == 0:
		case n.Kind == events.KindTyping && n.Author == store.ReadVisitor:
			f.typing(a, n.Conversation)
		case n.Kind == events.KindMessage, n.Kind == events.KindConversation,
			n.Kind == events.KindRead && n.Author == store.ReadAgent:
			f.touch(account, n.Conversation, n.Kind == events.KindConversation)
		}
	}
}

// missed tells every socket of a to re-read: notices of the account were lost.
func (f *rowFeed) missed(a *accountFeed) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range a.subs {
		s.missed.Store(true)
		select { // wake it so it looks
		case s.C <- rowBatch{}:
		default:
		}
	}
}

// typing hands a visitor's typing in conversation id to the sockets.
func (f *rowFeed) typing(a *accountFeed, id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range a.subs {
		if !s.want.Load() {
			continue
		}
		select {
		case s.Typing <- id:
		default:
		}
	}
}

// touch says conversation id of account changed: its row is read with the
// others of the next interval, and, when counts says the change may move
// it between views (status, inbox, assignee: not a message or a read),
// the counts after it.
func (f *rowFeed) touch(account, id int64, counts bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.accounts[account]
	if a == nil {
		return
	}
	p, ok := a.pending[id]
	if !ok {
		p.since = time.Now()
	}
	p.moved = p.moved || counts
	a.pending[id] = p
	a.countsDue = a.countsDue || counts
	f.wakeBy(account, a, time.Now().Add(liveItemsEvery))
}

// wakeBy makes sure a flush of account runs by t; f.mu is held. A later
// flush already scheduled is superseded (its timer finds itself stale).
func (f *rowFeed) wakeBy(account int64, a *accountFeed, t time.Time) {
	// Flushes are liveItemsEvery apart at least: the reads per second are
	// bounded (liveRowsPerFlush each), however the changes come.
	if next := a.flushed.Add(liveItemsEvery); t.Before(next) {
		t = next
	}
	if !a.wakeAt.IsZero() && !t.Before(a.wakeAt) {
		return
	}
	a.wakeAt = t
	time.AfterFunc(time.Until(t), func() { f.flush(account, t) })
}

// flush reads the pending rows (and the counts when due) and hands them to
// every socket of the account.
func (f *rowFeed) flush(account int64, due time.Time) {
	f.mu.Lock()
	a := f.accounts[account]
	if a == nil || !a.wakeAt.Equal(due) { // gone, or superseded by an earlier flush
		f.mu.Unlock()
		return
	}
	a.wakeAt, a.flushed = time.Time{}, time.Now()
	now := time.Now()
	for id, at := range a.read {
		if now.Sub(at) >= liveBusyEvery {
			delete(a.read, id)
		}
	}
	// Rows read less than liveBusyEvery ago stay pending until their turn.
	ids := make([]int64, 0, min(len(a.pending), liveRowsPerFlush))
	var wake time.Time // when the next flush is due; zero: none
	for id := range a.pending {
		if at, busy := a.read[id]; busy {
			if due := at.Add(liveBusyEvery); wake.IsZero() || due.Before(wake) {
				wake = due
			}
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) > liveRowsPerFlush {
		// More chats changed than a flush reads: moves between views
		// first, then the longest waiting; the rest at the next flush.
		slices.SortFunc(ids, func(x, y int64) int {
			px, py := a.pending[x], a.pending[y]
			if px.moved != py.moved {
				if px.moved {
					return -1
				}
				return 1
			}
			return px.since.Compare(py.since)
		})
		ids = ids[:liveRowsPerFlush]
		if due := now.Add(liveItemsEvery); wake.IsZero() || due.Before(wake) {
			wake = due
		}
	}
	for _, id := range ids {
		a.read[id] = now
		delete(a.pending, id)
	}
	readCounts := a.countsDue && !now.Before(a.countsNext)
	if readCounts {
		a.countsDue, a.countsNext = false, now.Add(liveCountsEvery)
	} else if a.countsDue {
		// Counted a moment ago: count again once the interval is over;
		// rows changing meanwhile still go out every liveItemsEvery.
		if due := now.Add(min(liveItemsEvery, a.countsNext.Sub(now))); wake.IsZero() || due.Before(wake) {
			wake = due
		}
	}
	if !wake.IsZero() {
		f.wakeBy(account, a, wake)
	}
	wanted := false
	for s := range a.subs {
		wanted = wanted || s.want.Load()
	}
	f.mu.Unlock()
	if !wanted {
		// No page shows a list or alerts yet: each reads its rows after
		// saying it wants them, so these changes are in that read.
		return
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b rowBatch
	var err error
	if len(ids) > 0 {
		b.rows, err = f.st.ConversationSummaries(ctx, account, ids)
	}
	if err == nil {
		err = fillLabels(ctx, f.st, account, b.rows)
	}
	if err == nil && readCounts {
		b.counts, err = f.st.ConversationCounts(ctx, account)
	}
	if err != nil {
		f.log.Warn("inbox: live rows", "account", account, "err", err)
		b = rowBatch{} // the sockets re-read for themselves
	}
	if len(b.rows) == 0 && b.counts == nil && err == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if a = f.accounts[account]; a == nil {
		return
	}
	for s := range a.subs {
		if !s.want.Load() {
			continue
		}
		if err != nil {
			s.missed.Store(true)
		}
		select {
		case s.C <- b:
		default:
			s.missed.Store(true)
		}
	}
}

// viewCounts are one agent's view counts out of the account's counts.
func viewCounts(cs []store.ConversationCount, inboxes map[int64]bool, userID int64) map[string]int {
	m := map[string]int{store.ViewUnassigned: 0, store.ViewMine: 0, store.ViewOpen: 0, store.ViewClosed: 0}
	for id := range inboxes {
		m["inbox-"+strconv.FormatInt(id, 10)] = 0
	}
	for _, c := range cs {
		if !inboxes[c.InboxID] {
			continue
		}
		if c.Status == store.StatusClosed {
			m[store.ViewClosed] += c.N
			continue
		}
		if c.Status != store.StatusOpen {
			continue
		}
		m[store.ViewOpen] += c.N
		m["inbox-"+strconv.FormatInt(c.InboxID, 10)] += c.N
		switch c.AssigneeID {
		case 0:
			m[store.ViewUnassigned] += c.N
		case userID:
			m[store.ViewMine] += c.N
		}
	}
	return m
}

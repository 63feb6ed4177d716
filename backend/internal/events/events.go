// Package events fans conversation changes out to every backend.
//
// The store announces each change after its transaction commits
// (store.Announce, or the notices a store transaction queued): the bus hands
// it to this process's subscribers at once and, batched, to the other
// backends. A notice carries no message text: a subscriber reads what it has
// not seen from the database (by sequence number), so a lost or late notice
// can delay an event but never lose or reorder one.
//
// Between processes the notices travel over PostgreSQL's LISTEN/NOTIFY by
// default; Notify is only the store's fallback when no bus is set (tests).
package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/jmoiron/sqlx"
)

// Channel is the PostgreSQL notification channel.
const Channel = "parley_events"

// Notice kinds.
const (
	KindMessage      = "message"      // a new message or note; Seq is its sequence number
	KindConversation = "conversation" // assignment, status or other conversation change
	KindPresence     = "presence"     // an agent's availability changed
	KindTyping       = "typing"       // someone is typing (Author says who)
	KindRead         = "read"         // a side read up to Seq (Author: "visitor" or "agent")
	// KindAccess: a user's sessions, password, role or inbox memberships
	// changed (Author is the user's id; empty for every user of the
	// account). Open agent sockets check their session and inboxes again.
	KindAccess = "access"
	// KindViewing: an agent's page opened (Seq 0) or left (Seq 1) the
	// conversation's thread (Author "agent:ID"); repeated while open.
	KindViewing = "viewing"
	// KindVisitor: the conversation's visitor opened their first widget
	// socket or closed their last (read who is there from the database).
	KindVisitor = "visitor"
	// KindResync: notices of the account may have been lost between
	// backends (a NATS node died with them); subscribers re-read. The bus
	// turns it into Missed and never hands it on as such.
	KindResync = "resync"
)

// Notice says that something changed.
type Notice struct {
	Account      int64  `json:"a"`
	Conversation int64  `json:"c,omitempty"`
	Seq          int64  `json:"s,omitempty"`
	Kind         string `json:"k"`
	Author       string `json:"w,omitempty"`
	// Internal marks a change the visitor never sees (an internal note,
	// an assignment, a conversation's creation): the visitor's chat
	// session skips it instead of reading for nothing; agents' pages take
	// it like any other.
	Internal bool `json:"i,omitempty"`
	// Local is what the writer already holds (a *store.Message for a new
	// message), handed to this process's subscribers so they can skip a
	// read; it never travels to other backends.
	Local any `json:"-"`
}

// Notify sends n with a NOTIFY of its own on ex: the store's fallback when
// it has no bus. Everything else announces through the store.
func Notify(ctx context.Context, ex sqlx.ExecerContext, n Notice) error {
	b, _ := json.Marshal(n)
	_, err := ex.ExecContext(ctx, `SELECT pg_notify($1, $2)`, Channel, string(b))
	return err
}

// Bus receives notices for this process and hands them to subscribers.
type Bus struct {
	remote transport // carries batches between processes

	mu   sync.Mutex
	subs map[int64]map[*Subscription]struct{} // by account
	// A notice of a conversation visits the subscriptions not narrowed to
	// one (wide, by account) and that conversation's (narrowed, by account
	// and conversation), not every page of the account; each is in subs too.
	wide     map[int64]map[*Subscription]struct{}
	narrowed map[int64]map[int64]map[*Subscription]struct{}
	origin   string // tells this process's batches apart
	// own is how this process's batches begin on the wire (encode: the
	// origin is the first field, hex, never escaped).
	own   []byte
	queue chan Notice // notices waiting for the sender
	// Resync fires after the transport reconnects, when notices may have been missed.
	resync []func()
}

// transport carries notices to and from the other backends.
type transport interface {
	// send hands a batch of this process's notices to the other backends.
	send(notices []Notice)
	// watch and unwatch say that this process gained its first subscriber
	// of an account, or lost its last: a transport that can route by
	// account then receives only what this process needs.
	watch(account int64)
	unwatch(account int64)
	close() error
}

// Subscription receives the notices of one account.
type Subscription struct {
	C       chan Notice // buffered; when full, notices are dropped and Missed is set
	bus     *Bus
	account int64
	mu      sync.Mutex
	missed  bool
	only    atomic.Int64 // see Only
	visible atomic.Bool  // see SkipInternal
}

// Only narrows the subscription to notices of one conversation and those
// of the whole account (conversation 0); 0 widens it to everything again,
// OnlyAccount narrows it to the account's own. A page that follows one
// thread then wakes for that thread's events only, and cannot fall behind
// on the rest of the account's traffic.
func (s *Subscription) Only(conversation int64) {
	if s.only.Load() == conversation {
		return
	}
	b := s.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, open := b.subs[s.account][s]; open {
		b.unindex(s)
		s.only.Store(conversation)
		b.index(s)
	} else {
		s.only.Store(conversation)
	}
}

// index puts s among the wide subscriptions or the narrowed ones of its
// conversation; unindex takes it out. Both with b.mu held.
func (b *Bus) index(s *Subscription) {
	o := s.only.Load()
	if o <= 0 {
		if b.wide[s.account] == nil {
			b.wide[s.account] = map[*Subscription]struct{}{}
		}
		b.wide[s.account][s] = struct{}{}
		return
	}
	byConv := b.narrowed[s.account]
	if byConv == nil {
		byConv = map[int64]map[*Subscription]struct{}{}
		b.narrowed[s.account] = byConv
	}
	if byConv[o] == nil {
		byConv[o] = map[*Subscription]struct{}{}
	}
	byConv[o][s] = struct{}{}
}

func (b *Bus) unindex(s *Subscription) {
	o := s.only.Load()
	if o <= 0 {
		delete(b.wide[s.account], s)
		if len(b.wide[s.account]) == 0 {
			delete(b.wide, s.account)
		}
		return
	}
	byConv := b.narrowed[s.account]
	delete(byConv[o], s)
	if len(byConv[o]) == 0 {
		delete(byConv, o)
	}
	if len(byConv) == 0 {
		delete(b.narrowed, s.account)
	}
}

// SkipInternal narrows the subscription to notices a visitor may see
// (not Internal): a visitors' hub never receives, and cannot fall behind
// on, the notes and assignments of a burst of new chats.
func (s *Subscription) SkipInternal() { s.visible.Store(true) }

// OnlyAccount is the Only that keeps the notices of the whole account
// (conversation 0) and no conversation's.
const OnlyAccount int64 = -1

// Missed reports (and clears) whether notices were dropped since the last call;
// a subscriber that sees true re-reads its state from the database.
func (s *Subscription) Missed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.missed
	s.missed = false
	return m
}

// Close stops the subscription.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	if m := s.bus.subs[s.account]; m != nil {
		if _, open := m[s]; open {
			s.bus.unindex(s)
		}
		delete(m, s)
		if len(m) == 0 {
			delete(s.bus.subs, s.account)
			s.bus.remote.unwatch(s.account)
		}
	}
}

// Listen starts a Bus that carries notices between backends over
// PostgreSQL's LISTEN/NOTIFY on dsn. Close stops it.
func Listen(dsn string) (*Bus, error) {
	return Open(dsn, "")
}

// Open starts a Bus: over NATS when busURL is a nats:// address (several
// cluster nodes separated by commas), else over LISTEN/NOTIFY on dsn.
// NATS that cannot be reached at start is logged and retried; the backend
// runs meanwhile, its sockets served from the database.
func Open(dsn, busURL string) (*Bus, error) {
	b := &Bus{subs: map[int64]map[*Subscription]struct{}{}, wide: map[int64]map[*Subscription]struct{}{},
		narrowed: map[int64]map[int64]map[*Subscription]struct{}{}, origin: randomOrigin()}
	b.own = []byte(`{"o":"` + b.origin + `"`)
	var err error
	if busURL != "" {
		b.remote, err = dialNATS(b, busURL)
	} else {
		b.remote, err = listenPG(b, dsn)
	}
	if err != nil {
		return nil, err
	}
	b.queue = make(chan Notice, sendQueue)
	go b.sendLoop()
	return b, nil
}

// receive delivers notices that came from other backends.
func (b *Bus) receive(notices []Notice) {
	from := 0 // notices[from:i] are still to publish, together
	for i, n := range notices {
		if n.Kind == KindResync {
			b.publish(notices[from:i])
			from = i + 1
			b.missedAccount(n.Account)
		}
	}
	b.publish(notices[from:])
}

// missedAccount tells the subscribers of one account to re-read.
func (b *Bus) missedAccount(account int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs[account] {
		s.mu.Lock()
		s.missed = true
		s.mu.Unlock()
		select { // wake the subscriber so it looks
		case s.C <- Notice{Account: account, Kind: KindConversation}:
		default:
		}
	}
}

// Publish delivers n to this process's subscribers (NOTIFY does this for every process).
func (b *Bus) Publish(n Notice) { b.publish([]Notice{n}) }

// publish delivers ns in order, under one hold of the lock.
func (b *Bus) publish(ns []Notice) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, n := range ns {
		if n.Conversation == 0 { // the account's own: for everyone
			for s := range b.subs[n.Account] {
				s.deliver(n)
			}
			continue
		}
		for s := range b.wide[n.Account] {
			if s.only.Load() != OnlyAccount {
				s.deliver(n)
			}
		}
		for s := range b.narrowed[n.Account][n.Conversation] {
			s.deliver(n)
		}
	}
}

// deliver hands n to s, or marks it missed when its buffer is full.
func (s *Subscription) deliver(n Notice) {
	if n.Internal && s.visible.Load() {
		return
	}
	select {
	case s.C <- n:
	default:
		s.mu.Lock()
		s.missed = true
		s.mu.Unlock()
	}
}

func (b *Bus) missedAll() {
	b.mu.Lock()
	var fns []func()
	for _, m := range b.subs {
		for s := range m {
			s.mu.Lock()
			s.missed = true
			s.mu.Unlock()
			select { // wake the subscriber so it looks
			case s.C <- Notice{Account: s.account, Kind: KindConversation}:
			default:
			}
		}
	}
	fns = append(fns, b.resync...)
	b.mu.Unlock()
	for _, f := range fns {
		f()
	}
}

// OnResync registers fn to run after the transport reconnects.
func (b *Bus) OnResync(fn func()) {
	b.mu.Lock()
	b.resync = append(b.resync, fn)
	b.mu.Unlock()
}

// Subscribe returns a subscription to account's notices.
func (b *Bus) Subscribe(account int64) *Subscription {
	return b.SubscribeBuffered(account, 256)
}

// WholeAccountBuffer is the buffer for a subscription that hears a whole
// busy account (the chat hub, the inbox's row feed): several batches of
// messages, each announced at once (up to 256), fit in it while its
// goroutine waits for a core, so a loaded machine does not make it miss
// and re-read everything.
const WholeAccountBuffer = 2048

// SubscribeBuffered is Subscribe with a buffer of n notices.
func (b *Bus) SubscribeBuffered(account int64, n int) *Subscription {
	s := &Subscription{C: make(chan Notice, n), bus: b, account: account}
	b.mu.Lock()
	if b.subs[account] == nil {
		b.subs[account] = map[*Subscription]struct{}{}
		b.remote.watch(account)
	}
	b.subs[account][s] = struct{}{}
	b.index(s)
	b.mu.Unlock()
	return s
}

// Close stops receiving and sending.
func (b *Bus) Close() error {
	return b.remote.close()
}

func randomOrigin() string {
	var r [8]byte
	rand.Read(r[:])
	return hex.EncodeToString(r[:])
}

// String renders a notice for logs.
func (n Notice) String() string {
	return n.Kind + ":" + strconv.FormatInt(n.Account, 10) + "/" + strconv.FormatInt(n.Conversation, 10) + "#" + strconv.FormatInt(n.Seq, 10)
}

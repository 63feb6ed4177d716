package chat_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/availability"
	"github.com/parleychat/parley/backend/internal/chat"
	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// notices follows the account's bus notices of kind, as an agent's page would.
func (w *world) notices(t *testing.T, kind string) <-chan events.Notice {
	t.Helper()
	bus, err := events.Listen(w.dsn)
	must(t, err)
	t.Cleanup(func() { bus.Close() })
	sub := bus.Subscribe(w.account.ID)
	t.Cleanup(sub.Close)
	out := make(chan events.Notice, 100)
	go func() {
		for n := range sub.C {
			if n.Kind == kind {
				out <- n
			}
		}
	}()
	// No wait: events.Listen returns once LISTEN is in place.
	return out
}

func expectNotice(t *testing.T, c <-chan events.Notice, within time.Duration) events.Notice {
	t.Helper()
	select {
	case n := <-c:
		return n
	case <-time.After(within):
		t.Fatal("no notice")
	}
	return events.Notice{}
}

func noNotice(t *testing.T, c <-chan events.Notice, within time.Duration) {
	t.Helper()
	select {
	case n := <-c:
		t.Fatalf("unexpected notice %+v", n)
	case <-time.After(within):
	}
}

func TestVisitorTypingReachesAgentsThrottled(t *testing.T) {
	w := newWorld(t)
	typing := w.notices(t, events.KindTyping)
	l := w.link(t)

	// Before the first message there is no thread for anyone to watch.
	s := l.open()
	s.send(hello("", "", 0))
	wel := s.next(t, widget.FrameWelcome)
	s.send(widget.Frame{Type: widget.FrameTyping})
	noNotice(t, typing, 300*time.Millisecond)

	s.send(widget.Frame{Type: widget.FrameSend, ID: "m1", Text: "hi"})
	ack := s.next(t, widget.FrameAck)
	conv := w.conversation(t, ack.Conversation)
	s.send(widget.Frame{Type: widget.FrameTyping})
	n := expectNotice(t, typing, 5*time.Second)
	if n.Conversation != conv.ID || n.Author != store.ReadVisitor {
		t.Fatalf("notice %+v", n)
	}
	// A burst of keystrokes makes one notice, not one each.
	for range 5 {
		s.send(widget.Frame{Type: widget.FrameTyping})
	}
	noNotice(t, typing, 500*time.Millisecond)
	s.send(widget.Frame{Type: widget.FramePing})
	s.next(t, widget.FrameMessage) // the echo of m1
	s.next(t, widget.FramePong)    // typing frames get no answer
	_ = wel
}

func TestAgentTypingReachesTheVisitorWithTheAgentsName(t *testing.T) {
	w := newWorld(t)
	l := w.link(t)
	s, _, convID := w.chat(t, l, "hello")
	conv := w.conversation(t, convID)
	other, _, _ := w.chat(t, w.link(t), "someone else")

	notify := func(author string) {
		must(t, events.Notify(context.Background(), w.db, events.Notice{Account: w.account.ID, Conversation: conv.ID,
			Kind: events.KindTyping, Author: author}))
	}
	notify("agent:" + strconv.FormatInt(w.agent.ID, 10))
	f := s.next(t, widget.FrameTyping)
	if f.From != widget.FromAgent || f.Name != "Ann Agent" {
		t.Fatalf("typing frame %+v", f)
	}
	notify(store.ReadVisitor) // the visitor's own typing is not echoed
	s.quiet(t, 300*time.Millisecond)
	other.quiet(t, 100*time.Millisecond) // and never another visitor's business
}

func TestReadReceiptsArePersistedAndRelayedBothWays(t *testing.T) {
	w := newWorld(t)
	reads := w.notices(t, events.KindRead)
	l := w.link(t)
	s, token, convID := w.chat(t, l, "hello")
	conv := w.conversation(t, convID)
	ctx := context.Background()

	// The visitor read up to 1; a claim beyond the end is clamped.
	s.send(widget.Frame{Type: widget.FrameRead, Seq: 99})
	n := expectNotice(t, reads, 5*time.Second)
	if n.Author != store.ReadVisitor || n.Seq != 1 || n.Conversation != conv.ID {
		t.Fatalf("notice %+v", n)
	}
	if v, _, err := w.st.ReadPositions(ctx, conv.ID); err != nil || v != 1 {
		t.Fatalf("visitor read %d (%v), want 1", v, err)
	}
	s.send(widget.Frame{Type: widget.FrameRead, Seq: 1}) // no news, no notice
	noNotice(t, reads, 300*time.Millisecond)
	s.send(widget.Frame{Type: widget.FrameRead, Seq: -4})
	s.errorCode(t, widget.ErrBadFrame)

	// An agent reads: the visitor learns it live…
	if _, moved, err := w.st.MarkRead(ctx, conv.ID, store.ReadAgent, 1); err != nil || !moved {
		t.Fatalf("agent read: moved %v, %v", moved, err)
	}
	if f := s.next(t, widget.FrameRead); f.From != widget.FromAgent || f.Seq != 1 {
		t.Fatalf("read frame %+v", f)
	}
	// …and again after reconnecting: positions survive the socket.
	r := w.link(t).open()
	r.send(hello(token, convID, 1))
	r.next(t, widget.FrameWelcome)
	if f := r.next(t, widget.FrameRead); f.From != widget.FromAgent || f.Seq != 1 {
		t.Fatalf("read frame after resume %+v", f)
	}
}

// presenceByStatus is a stand-in availability: available while any agent
// of the account is, away otherwise.
func presenceByStatus(ctx context.Context, st *store.Store, acct *store.Account, cf *chatflow.Chatflow, lang string, now time.Time) (widget.Presence, error) {
	var n int
	if err := st.DB().GetContext(ctx, &n, `SELECT count(*) FROM users WHERE account_id = $1 AND status = 'available'`, acct.ID); err != nil {
		return widget.Presence{}, err
	}
	if n > 0 {
		return widget.Presence{State: widget.StateAvailable, Text: "We reply in a few minutes"}, nil
	}
	return widget.Presence{State: widget.StateAway, Text: "We are away right now"}, nil
}

func setStatus(t *testing.T, w *world, status string, notify bool) {
	t.Helper()
	ctx := context.Background()
	_, err := w.db.Exec(`UPDATE users SET status = $1 WHERE id = $2`, status, w.agent.ID)
	must(t, err)
	if notify {
		must(t, events.Notify(ctx, w.db, events.Notice{Account: w.account.ID, Kind: events.KindPresence}))
	}
}

func TestPresenceFollowsWelcomeAndEveryChange(t *testing.T) {
	w := newWorld(t, func(c *chat.Config) { c.Presence = presenceByStatus; c.PresenceEvery = time.Hour })
	setStatus(t, w, store.UserAvailable, false)
	s := w.link(t).open()
	s.send(hello("", "", 0)) // no conversation: presence is for every open widget
	s.next(t, widget.FrameWelcome)
	if p := s.next(t, widget.FramePresence); p.State != widget.StateAvailable || p.Text != "We reply in a few minutes" {
		t.Fatalf("first presence %+v", p)
	}

	start := time.Now()
	setStatus(t, w, store.UserAway, true)
	p := s.next(t, widget.FramePresence)
	if p.State != widget.StateAway || p.Text != "We are away right now" {
		t.Fatalf("presence after going away %+v", p)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("presence change took %v", d)
	}
	// A notice that changes nothing sends nothing.
	must(t, events.Notify(context.Background(), w.db, events.Notice{Account: w.account.ID, Kind: events.KindPresence}))
	select {
	case ev := <-s.events:
		t.Fatalf("unexpected %+v", ev)
	case <-time.After(400 * time.Millisecond):
	}
}

func TestPresenceIsRecomputedOnATimerWithoutNotices(t *testing.T) {
	w := newWorld(t, func(c *chat.Config) { c.Presence = presenceByStatus; c.PresenceEvery = 200 * time.Millisecond })
	setStatus(t, w, store.UserAvailable, false)
	s := w.link(t).open()
	s.send(hello("", "", 0))
	s.next(t, widget.FrameWelcome)
	s.next(t, widget.FramePresence)
	setStatus(t, w, store.UserOffline, false) // say, office hours ended: no notice
	if p := s.next(t, widget.FramePresence); p.State != widget.StateAway {
		t.Fatalf("presence %+v", p)
	}
}

// A widget that speaks one of the chatflow's translations (its hello's
// language) is told the presence in that language: the away line, then the
// reply time after a change. Each refresh computes once per language, not
// per session; a language the chatflow does not speak, or a translation
// taken away, gets the chatflow's own.
func TestPresenceSpeaksTheSessionsLanguage(t *testing.T) {
	var mu sync.Mutex
	var computed []string
	w := newWorld(t, func(c *chat.Config) {
		c.PresenceEvery = time.Hour
		c.Presence = func(ctx context.Context, st *store.Store, acct *store.Account, cf *chatflow.Chatflow, lang string, now time.Time) (widget.Presence, error) {
			mu.Lock()
			computed = append(computed, lang)
			mu.Unlock()
			return availability.Compute(ctx, st, acct, cf, lang, now)
		}
	})
	settings := func(mode, welcome string) {
		t.Helper()
		_, err := w.db.Exec(`UPDATE chatflows SET settings = jsonb_build_object('availability', jsonb_build_object('mode', $1::text, 'reply_time', 'few_minutes'),
			'welcome', jsonb_build_object('messages', $2::jsonb), 'options', '{"language_choice":"visitor"}'::jsonb) WHERE id = $3`, mode, welcome, w.cfID)
		must(t, err)
	}
	settings(chatflow.ModeUserAvailability, `{"en":"Hi!","de":"Hallo!"}`) // nobody available: away
	l := w.link(t)
	open := func(lang string) *testSession {
		s := l.open()
		h := hello("", "", 0)
		h.Language = lang
		s.send(h)
		s.next(t, widget.FrameWelcome)
		return s
	}
	const (
		awayEN  = "We're away right now. Leave a message and we'll get back to you."
		awayDE  = "Wir sind gerade nicht da. Hinterlassen Sie eine Nachricht, wir melden uns bei Ihnen."
		replyEN = "We typically reply in a few minutes"
		replyDE = "Wir antworten in der Regel innerhalb weniger Minuten"
	)
	sessions := map[string]*testSession{"de": open("de"), "de2": open("de"), "en": open("en"), "fr": open("fr"), "none": open("")}
	want := func(step string, de, en string) {
		t.Helper()
		for name, s := range sessions {
			text := en
			if name == "de" || name == "de2" {
				text = de
			}
			if p := s.next(t, widget.FramePresence); p.Text != text {
				t.Errorf("%s: %s session told %+v, want %q", step, name, p, text)
			}
		}
	}
	want("welcome", awayDE, awayEN)

	mu.Lock()
	computed = nil
	mu.Unlock()
	settings(chatflow.ModeAlways, `{"en":"Hi!","de":"Hallo!"}`)
	must(t, events.Notify(context.Background(), w.db, events.Notice{Account: w.account.ID, Kind: events.KindPresence}))
	want("available", replyDE, replyEN)
	mu.Lock()
	got := slices.Sorted(slices.Values(computed))
	mu.Unlock()
	if !slices.Equal(got, []string{"de", "en"}) {
		t.Errorf("one refresh of five sessions computed %v, want once in de and once in en", got)
	}

	// Without its German welcome the chatflow speaks English only.
	settings(chatflow.ModeUserAvailability, `{"en":"Hi!"}`)
	must(t, events.Notify(context.Background(), w.db, events.Notice{Account: w.account.ID, Kind: events.KindPresence}))
	want("translation gone", awayEN, awayEN)
}

// An address left in the chat is each visitor's own unverified claim: it
// reaches the conversation started after it, makes no contact, and two
// visitors typing the same address share nothing.
func TestEmailCaptureKeepsEachVisitorsClaim(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	l := w.link(t)

	// Left before the first message: it reaches the conversation started after.
	s := l.open()
	s.send(hello("", "", 0))
	wel := s.next(t, widget.FrameWelcome)
	if wel.Email != "" {
		t.Fatalf("new visitor welcomed with email %q", wel.Email)
	}
	for _, bad := range []string{"", "ana", "ana@", "ana@example", "ana @example.com", "<ana@example.com>"} {
		s.send(widget.Frame{Type: widget.FrameEmail, ID: "e1", Email: bad})
		if f := s.errorCode(t, widget.ErrBadEmail); f.ID != "e1" {
			t.Fatalf("bad_email without the id: %+v", f)
		}
	}
	if n := w.count(t, `SELECT count(*) FROM visitors WHERE claimed_email <> ''`); n != 0 {
		t.Fatalf("%d claims stored from invalid addresses", n)
	}
	s.send(widget.Frame{Type: widget.FrameEmail, ID: "e2", Email: "  Ana@Example.com "})
	if f := s.next(t, widget.FrameEmail); f.Email != "Ana@Example.com" || f.ID != "e2" {
		t.Fatalf("email confirmation %+v", f)
	}
	s.send(widget.Frame{Type: widget.FrameSend, ID: "m1", Text: "Are you open on Sunday?"})
	ack := s.next(t, widget.FrameAck)
	conv := w.conversation(t, ack.Conversation)
	if conv.ContactID != nil || conv.ClaimedEmail != "Ana@Example.com" {
		t.Fatalf("conversation contact %v, claim %q", conv.ContactID, conv.ClaimedEmail)
	}
	sum, err := w.st.ConversationSummary(ctx, w.account.ID, conv.ID)
	must(t, err)
	if sum.ClaimedEmail != "Ana@Example.com" || sum.VisitorLabel == "Ana@Example.com" {
		t.Fatalf("agents see the visitor as %q, claim %q", sum.VisitorLabel, sum.ClaimedEmail)
	}

	// Another visitor with the same address: their own claim, still no contact.
	s2, token2, conv2ID := w.chat(t, w.link(t), "me again, other browser")
	s2.send(widget.Frame{Type: widget.FrameEmail, ID: "x", Email: "ana@EXAMPLE.com"})
	s2.next(t, widget.FrameEmail)
	if n := w.count(t, `SELECT count(*) FROM contacts`); n != 0 {
		t.Fatalf("%d contacts made from typed addresses", n)
	}
	if conv2 := w.conversation(t, conv2ID); conv2.ContactID != nil || conv2.ClaimedEmail != "ana@EXAMPLE.com" {
		t.Fatalf("second conversation: contact %v, claim %q", conv2.ContactID, conv2.ClaimedEmail)
	}
	// Each visitor is told their own address on the next visit (no second ask).
	r := w.link(t).open()
	r.send(hello(token2, "", 0))
	if wel := r.next(t, widget.FrameWelcome); wel.Email != "ana@EXAMPLE.com" {
		t.Fatalf("welcome email %q", wel.Email)
	}
}

package availability_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/availability"
	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var ctx = context.Background()

func amsterdam(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func weekdays(start, end string) []chatflow.TimeRange {
	var rs []chatflow.TimeRange
	for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday"} {
		rs = append(rs, chatflow.TimeRange{Day: d, Start: start, End: end})
	}
	return rs
}

func TestOfficeHoursFollowWallClockAcrossDST(t *testing.T) {
	loc := amsterdam(t)
	work := weekdays("09:00", "17:00")
	// Europe/Amsterdam: CET (+01:00) to CEST (+02:00) on Sunday 29 March 2026,
	// back to CET on Sunday 25 October 2026.
	cases := []struct {
		name   string
		ranges []chatflow.TimeRange
		now    string
		open   bool
		next   string // RFC 3339 in UTC; "" when open
	}{
		{"Friday evening before spring forward: back Monday 09:00 CEST", work, "2026-03-27T17:00:00Z", false, "2026-03-30T07:00:00Z"},
		{"Monday 09:00 CEST is 07:00 UTC: open", work, "2026-03-30T07:00:00Z", true, ""},
		{"a week earlier 07:00 UTC is 08:00 CET: closed", work, "2026-03-23T07:00:00Z", false, "2026-03-23T08:00:00Z"},
		{"16:59 CEST open", work, "2026-03-30T14:59:00Z", true, ""},
		{"17:00 CEST closed", work, "2026-03-30T15:00:00Z", false, "2026-03-31T07:00:00Z"},
		{"Friday evening before fall back: back Monday 09:00 CET", work, "2026-10-23T16:00:00Z", false, "2026-10-26T08:00:00Z"},
		{"Monday 08:30 UTC is 09:30 CET: open", work, "2026-10-26T08:30:00Z", true, ""},
		{"Monday 07:30 UTC is 08:30 CET: closed", work, "2026-10-26T07:30:00Z", false, "2026-10-26T08:00:00Z"},
		// The night of the change: 01:00-04:00 wall time lasts two hours in March, four in October.
		{"March night 03:30 CEST open", []chatflow.TimeRange{{Day: "sunday", Start: "01:00", End: "04:00"}}, "2026-03-29T01:30:00Z", true, ""},
		{"March night 04:30 CEST closed", []chatflow.TimeRange{{Day: "sunday", Start: "01:00", End: "04:00"}}, "2026-03-29T02:30:00Z", false, "2026-04-04T23:00:00Z"},
		{"October night 03:30 CET open", []chatflow.TimeRange{{Day: "sunday", Start: "01:00", End: "04:00"}}, "2026-10-25T02:30:00Z", true, ""},
		{"October night 04:00 CET closed", []chatflow.TimeRange{{Day: "sunday", Start: "01:00", End: "04:00"}}, "2026-10-25T03:00:00Z", false, "2026-11-01T00:00:00Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			open, next := availability.OfficeHours(c.ranges, loc, utc(c.now))
			if open != c.open {
				t.Fatalf("open = %v, want %v", open, c.open)
			}
			got := ""
			if !next.IsZero() {
				got = next.UTC().Format(time.RFC3339)
			}
			if got != c.next {
				t.Fatalf("next = %s, want %s", got, c.next)
			}
		})
	}
}

func TestSeveralRangesADayAndRangesEndingAtMidnight(t *testing.T) {
	loc := amsterdam(t)
	ranges := []chatflow.TimeRange{
		{Day: "monday", Start: "09:00", End: "12:00"},
		{Day: "monday", Start: "13:00", End: "17:00"},
		{Day: "friday", Start: "18:00", End: "24:00"},
		{Day: "saturday", Start: "00:00", End: "02:00"},
	}
	// Monday 6 July 2026 (CEST, +02:00).
	cases := []struct {
		local string // wall time in Amsterdam
		open  bool
		next  string // wall time
	}{
		{"2026-07-06T10:00", true, ""},
		{"2026-07-06T12:00", false, "2026-07-06T13:00"},
		{"2026-07-06T12:30", false, "2026-07-06T13:00"},
		{"2026-07-06T13:00", true, ""},
		{"2026-07-06T17:00", false, "2026-07-10T18:00"},
		{"2026-07-10T23:59", true, ""},
		{"2026-07-11T00:00", true, ""},
		{"2026-07-11T01:59", true, ""},
		{"2026-07-11T02:00", false, "2026-07-13T09:00"},
		{"2026-07-05T23:00", false, "2026-07-06T09:00"},
	}
	for _, c := range cases {
		now, err := time.ParseInLocation("2006-01-02T15:04", c.local, loc)
		if err != nil {
			t.Fatal(err)
		}
		open, next := availability.OfficeHours(ranges, loc, now)
		got := ""
		if !next.IsZero() {
			got = next.In(loc).Format("2006-01-02T15:04")
		}
		if open != c.open || got != c.next {
			t.Errorf("%s: open %v next %q, want %v %q", c.local, open, got, c.open, c.next)
		}
	}
}

func TestBackTextInEveryLanguage(t *testing.T) {
	loc := amsterdam(t)
	fri := utc("2026-03-27T17:00:00Z")   // Friday 18:00 CET
	mon := utc("2026-03-30T07:00:00Z")   // Monday 09:00 CEST
	sat := utc("2026-03-28T08:00:00Z")   // Saturday 09:00 CET
	lunch := utc("2026-03-27T11:30:00Z") // Friday 12:30 CET
	back := utc("2026-03-27T12:00:00Z")  // Friday 13:00 CET
	cases := []struct {
		lang      string
		back, now time.Time
		want      string
	}{
		{"en", mon, fri, "on Monday at 09:00 CEST"},
		{"nl", mon, fri, "op maandag om 09:00 CEST"},
		{"de", mon, fri, "am Montag um 09:00 CEST"},
		{"fr", mon, fri, "lundi à 09:00 CEST"},
		{"es", mon, fri, "el lunes a las 09:00 CEST"},
		{"en", sat, fri, "tomorrow at 09:00 CET"},
		{"nl", sat, fri, "morgen om 09:00 CET"},
		{"en", back, lunch, "today at 13:00 CET"},
		{"de", back, lunch, "heute um 13:00 CET"},
		{"xx", back, lunch, "today at 13:00 CET"},
	}
	for _, c := range cases {
		if got := availability.BackText(c.lang, c.back, c.now, loc); got != c.want {
			t.Errorf("%s: %q, want %q", c.lang, got, c.want)
		}
	}
}

// fixture is an account in Amsterdam with one inbox whose members are the agents.
type fixture struct {
	t     *testing.T
	st    *store.Store
	acct  *store.Account
	inbox *store.Inbox
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, st: store.New(dbtest.New(t))}
	f.acct = &store.Account{Name: "Acme", Timezone: "Europe/Amsterdam"}
	f.check(f.st.CreateAccount(ctx, f.acct))
	f.inbox = &store.Inbox{AccountID: f.acct.ID, Name: "Support", HasChatChannel: true}
	f.check(f.st.CreateInbox(ctx, f.inbox))
	return f
}

func (f *fixture) check(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// agent adds an inbox member with open chats already assigned.
func (f *fixture) agent(name string, seat bool, status string, max, open int) int64 {
	f.t.Helper()
	u := &store.User{AccountID: f.acct.ID, Email: name + "@example.com", Name: name, HasSeat: seat, Status: status, MaxOpenChats: max}
	f.check(f.st.CreateUser(ctx, u))
	in, err := f.st.Inbox(ctx, f.acct.ID, f.inbox.ID)
	f.check(err)
	f.check(f.st.SetInboxMembers(ctx, f.acct.ID, f.inbox.ID, append(in.MemberIDs, u.ID)))
	for range open {
		_, v, err := f.st.CreateVisitor(ctx, f.acct.ID)
		f.check(err)
		c, _, err := f.st.CreateConversation(ctx, store.NewConversation{AccountID: f.acct.ID, InboxID: f.inbox.ID, VisitorID: v.ID})
		f.check(err)
		f.check(f.st.AssignToUser(ctx, f.acct.ID, c.ID, u.ID, ""))
	}
	return u.ID
}

func (f *fixture) compute(cf chatflow.Chatflow, lang string, now time.Time) widget.Presence {
	f.t.Helper()
	cf.InboxID = f.inbox.ID
	p, err := availability.Compute(ctx, f.st, f.acct, &cf, lang, now)
	f.check(err)
	return p
}

func flow(mode string, edit func(a *chatflow.Availability)) chatflow.Chatflow {
	cf := chatflow.Default()
	cf.Availability.Mode = mode
	if edit != nil {
		edit(&cf.Availability)
	}
	return cf
}

func TestAlwaysIsAvailableWithTheReplyTime(t *testing.T) {
	f := newFixture(t) // nobody at all: always is always
	now := time.Now()
	if p := f.compute(flow(chatflow.ModeAlways, nil), "", now); p != (widget.Presence{State: widget.StateAvailable}) {
		t.Fatalf("no reply time: %+v", p)
	}
	for _, c := range []struct{ reply, lang, want string }{
		{"few_minutes", "en", "We typically reply in a few minutes"},
		{"hour", "en", "We typically reply in an hour"},
		{"day", "en", "We typically reply in a day"},
		{"few_minutes", "nl", "We reageren meestal binnen een paar minuten"},
		{"hour", "de", "Wir antworten in der Regel innerhalb einer Stunde"},
		{"day", "fr", "Nous répondons généralement en une journée"},
		{"few_minutes", "es", "Solemos responder en unos minutos"},
	} {
		p := f.compute(flow(chatflow.ModeAlways, func(a *chatflow.Availability) { a.ReplyTime = c.reply }), c.lang, now)
		if p.State != widget.StateAvailable || p.Text != c.want {
			t.Errorf("%s/%s: %+v", c.reply, c.lang, p)
		}
	}
	// "" means the chatflow's language.
	cf := flow(chatflow.ModeAlways, func(a *chatflow.Availability) { a.ReplyTime = "hour" })
	cf.Language = "es"
	if p := f.compute(cf, "", now); p.Text != "Solemos responder en una hora" {
		t.Errorf("chatflow language: %+v", p)
	}
}

func TestUserAvailabilityStates(t *testing.T) {
	now := time.Now()
	mode := chatflow.ModeUserAvailability
	t.Run("away when nobody is available", func(t *testing.T) {
		f := newFixture(t)
		f.agent("off", true, store.UserOffline, 5, 0)
		f.agent("noseat", false, store.UserAvailable, 5, 0)
		p := f.compute(flow(mode, nil), "en", now)
		if p.State != widget.StateAway || !strings.Contains(p.Text, "away") {
			t.Fatalf("%+v", p)
		}
		p = f.compute(flow(mode, func(a *chatflow.Availability) { a.AwayMessage = "Back soon!" }), "en", now)
		if p.State != widget.StateAway || p.Text != "Back soon!" {
			t.Fatalf("custom away: %+v", p)
		}
	})
	t.Run("available with a free agent", func(t *testing.T) {
		f := newFixture(t)
		f.agent("full", true, store.UserAvailable, 1, 1)
		f.agent("free", true, store.UserAvailable, 2, 1)
		p := f.compute(flow(mode, func(a *chatflow.Availability) { a.ReplyTime = "few_minutes" }), "en", now)
		if p.State != widget.StateAvailable || p.Text != "We typically reply in a few minutes" {
			t.Fatalf("%+v", p)
		}
	})
	t.Run("at capacity when every available agent is full", func(t *testing.T) {
		f := newFixture(t)
		f.agent("full", true, store.UserAvailable, 1, 1)
		f.agent("zero", true, store.UserAvailable, 0, 0)
		f.agent("away", true, store.UserAway, 5, 0) // free, but not available
		cases := []struct {
			b    chatflow.Behaviour
			want widget.Presence
		}{
			{chatflow.Behaviour{Behaviour: chatflow.CapacityWaitMessage}, widget.Presence{State: widget.StateAtCapacity,
				Text: "All our agents are busy right now. Please wait; someone will be with you shortly."}},
			{chatflow.Behaviour{Behaviour: chatflow.CapacityWaitMessage, Message: "Hang on"}, widget.Presence{State: widget.StateAtCapacity, Text: "Hang on"}},
			{chatflow.Behaviour{Behaviour: chatflow.CapacityHideLauncher}, widget.Presence{State: widget.StateAtCapacity, Hide: true}},
			{chatflow.Behaviour{Behaviour: chatflow.CapacityNothing}, widget.Presence{State: widget.StateAtCapacity}},
		}
		for _, c := range cases {
			p := f.compute(flow(mode, func(a *chatflow.Availability) { a.AtCapacity = c.b }), "en", now)
			if p != c.want {
				t.Errorf("%+v: %+v, want %+v", c.b, p, c.want)
			}
		}
		p := f.compute(flow(mode, nil), "de", now)
		if !strings.HasPrefix(p.Text, "Alle Mitarbeiter") {
			t.Errorf("German wait text: %q", p.Text)
		}
	})
	t.Run("only members targeted by the assignment rules count", func(t *testing.T) {
		f := newFixture(t)
		f.agent("free", true, store.UserAvailable, 5, 0) // an inbox member
		other := &store.User{AccountID: f.acct.ID, Email: "o@example.com", Name: "o", Status: store.UserAway, HasSeat: true, MaxOpenChats: 5}
		f.check(f.st.CreateUser(ctx, other))
		cf := flow(mode, nil)
		cf.Assignment.UserIDs = []int64{other.ID}
		if p := f.compute(cf, "en", now); p.State != widget.StateAway {
			t.Fatalf("targets %v: %+v", cf.Assignment.UserIDs, p)
		}
	})
}

func TestOfficeHoursStates(t *testing.T) {
	f := newFixture(t)
	hours := func(a *chatflow.Availability) { a.OfficeHours = weekdays("09:00", "17:00") }
	friEvening := utc("2026-03-27T17:00:00Z") // Friday 18:00 CET
	monMorning := utc("2026-03-30T08:00:00Z") // Monday 10:00 CEST

	t.Run("offline shows when we are back", func(t *testing.T) {
		p := f.compute(flow(chatflow.ModeOfficeHours, hours), "en", friEvening)
		want := widget.Presence{State: widget.StateOffline, BackAt: "2026-03-30T09:00:00+02:00", Text: "We're back on Monday at 09:00 CEST."}
		if p != want {
			t.Fatalf("%+v, want %+v", p, want)
		}
		if at, _ := time.Parse(time.RFC3339, p.BackAt); !at.Equal(utc("2026-03-30T07:00:00Z")) {
			t.Fatalf("back at %s", p.BackAt)
		}
		p = f.compute(flow(chatflow.ModeOfficeHours, hours), "nl", friEvening)
		if p.Text != "We zijn er weer op maandag om 09:00 CEST." {
			t.Fatalf("nl: %q", p.Text)
		}
		p = f.compute(flow(chatflow.ModeOfficeHours, func(a *chatflow.Availability) {
			hours(a)
			a.Offline.Message = "Open again {time}!"
		}), "en", friEvening)
		if p.Text != "Open again on Monday at 09:00 CEST!" {
			t.Fatalf("custom: %q", p.Text)
		}
		// A widget speaking a translation: the default sentence in its
		// language, the chatflow's own English sentence whole in English.
		p = f.compute(flow(chatflow.ModeOfficeHours, hours), "de", friEvening)
		if p.Text != "Wir sind am Montag um 09:00 CEST wieder da." {
			t.Fatalf("de: %q", p.Text)
		}
		p = f.compute(flow(chatflow.ModeOfficeHours, func(a *chatflow.Availability) {
			hours(a)
			a.Offline.Message = "Open again {time}!"
		}), "de", friEvening)
		if p.Text != "Open again on Monday at 09:00 CEST!" {
			t.Fatalf("custom, widget in de: %q", p.Text)
		}
	})
	t.Run("offline with an away message", func(t *testing.T) {
		p := f.compute(flow(chatflow.ModeOfficeHours, func(a *chatflow.Availability) {
			hours(a)
			a.Offline.Behaviour = chatflow.OfflineAwayMessage
		}), "fr", friEvening)
		if p.State != widget.StateOffline || p.Hide || p.Text != "Nous sommes hors ligne. Laissez un message, nous vous répondrons." {
			t.Fatalf("%+v", p)
		}
		p = f.compute(flow(chatflow.ModeOfficeHours, func(a *chatflow.Availability) {
			hours(a)
			a.Offline = chatflow.Behaviour{Behaviour: chatflow.OfflineAwayMessage, Message: "Closed for the weekend"}
		}), "en", friEvening)
		if p.Text != "Closed for the weekend" {
			t.Fatalf("%+v", p)
		}
	})
	t.Run("offline hides the launcher", func(t *testing.T) {
		p := f.compute(flow(chatflow.ModeOfficeHours, func(a *chatflow.Availability) {
			hours(a)
			a.Offline.Behaviour = chatflow.OfflineHideLauncher
		}), "en", friEvening)
		if p.State != widget.StateOffline || !p.Hide || p.Text != "" {
			t.Fatalf("%+v", p)
		}
	})
	t.Run("inside hours with nobody available is away", func(t *testing.T) {
		p := f.compute(flow(chatflow.ModeOfficeHours, hours), "es", monMorning)
		if p.State != widget.StateAway || p.Text != "Ahora no estamos disponibles. Deja un mensaje y te responderemos." {
			t.Fatalf("%+v", p)
		}
	})
	t.Run("inside hours with an agent is available", func(t *testing.T) {
		f.agent("ana", true, store.UserAvailable, 1, 0)
		p := f.compute(flow(chatflow.ModeOfficeHours, hours), "en", monMorning)
		if p.State != widget.StateAvailable {
			t.Fatalf("%+v", p)
		}
		// ...and still offline outside, agent or not.
		if p := f.compute(flow(chatflow.ModeOfficeHours, hours), "en", friEvening); p.State != widget.StateOffline {
			t.Fatalf("outside: %+v", p)
		}
	})
	t.Run("an unknown timezone falls back to UTC", func(t *testing.T) {
		acct := *f.acct
		acct.Timezone = "Mars/Olympus"
		cf := flow(chatflow.ModeOfficeHours, hours)
		cf.InboxID = f.inbox.ID
		p, err := availability.Compute(ctx, f.st, &acct, &cf, "en", friEvening)
		f.check(err)
		if p.BackAt != "2026-03-30T09:00:00Z" {
			t.Fatalf("%+v", p)
		}
	})
}

// 24/7 honours the at-capacity behaviour: when the targeted members who
// are available are all at their chat limit, the chatflow says so (or
// hides its launcher); members away do not make it away.
func TestAlwaysHonoursAtCapacity(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	f.agent("busy", true, store.UserAvailable, 1, 1)
	f.agent("gone", true, store.UserAway, 5, 0)
	wait := flow(chatflow.ModeAlways, func(a *chatflow.Availability) {
		a.AtCapacity = chatflow.Behaviour{Behaviour: chatflow.CapacityWaitMessage, Message: "All hands busy"}
	})
	if p := f.compute(wait, "", now); p.State != widget.StateAtCapacity || p.Text != "All hands busy" {
		t.Fatalf("24/7 at capacity: %+v", p)
	}
	hide := flow(chatflow.ModeAlways, func(a *chatflow.Availability) { a.AtCapacity.Behaviour = chatflow.CapacityHideLauncher })
	if p := f.compute(hide, "", now); p.State != widget.StateAtCapacity || !p.Hide {
		t.Fatalf("24/7 at capacity, hide: %+v", p)
	}
	f.agent("free", true, store.UserAvailable, 3, 0)
	if p := f.compute(wait, "", now); p.State != widget.StateAvailable {
		t.Fatalf("24/7 with a free agent: %+v", p)
	}
}

// Package availability computes whether a chatflow can be answered now:
// the state the widget shows and what it shows with it.
//
// Modes: always (24/7: available whoever is there, at capacity when the
// members who are available are all at their chat limit); user_availability (available when a member targeted
// by the assignment rules has a seat and status available and is under their
// chat limit; at capacity when every such member is at their limit; away
// when none is available); office_hours (ranges per weekday at the wall-clock
// time of the account's IANA timezone, so they follow daylight saving;
// outside them offline, inside them the members decide as in
// user_availability).
package availability

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // office hours must work where the system has no zone database

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/routing"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// Compute returns the presence of chatflow cf of account acct at now, with
// texts in language lang (a widget language; "" or an unknown one means the
// chatflow's).
//
// Texts by state: available shows the typical reply time (if set); away the
// away message; offline, by behaviour, "back at" (BackAt is the next opening
// as RFC 3339, Text a sentence in lang; a custom message may place the time
// with "{time}", said in the chatflow's language as the message is), the
// away message, or Hide; at capacity the wait message, Hide, or nothing.
// Custom messages are shown as written; empty ones use lang's defaults.
func Compute(ctx context.Context, st *store.Store, acct *store.Account, cf *chatflow.Chatflow, lang string, now time.Time) (widget.Presence, error) {
	lang = language(lang, cf.Language)
	a := cf.Availability
	if cf.BotFirst() && a.Bot != chatflow.BotOfficeHours {
		// The bot answers around the clock: whoever is there, the chat is open.
		return available(a, lang), nil
	}
	if a.Mode == chatflow.ModeOfficeHours {
		loc := Location(acct.Timezone)
		if open, next := OfficeHours(a.OfficeHours, loc, now, a.Exceptions...); !open {
			return offline(a, lang, language(cf.Language, "en"), next, now, loc), nil
		}
	}
	targets, err := routing.Targets(ctx, st, acct.ID, cf)
	if err != nil {
		return widget.Presence{}, err
	}
	loads, err := st.MemberLoads(ctx, acct.ID, targets)
	if err != nil {
		return widget.Presence{}, err
	}
	switch MemberState(loads) {
	case widget.StateAway:
		if a.Mode == chatflow.ModeUserAvailability || a.Mode == chatflow.ModeOfficeHours {
			return widget.Presence{State: widget.StateAway, Text: orDefault(a.AwayMessage, lang, "away")}, nil
		}
		// Always (24/7): answered around the clock, whoever is available.
	case widget.StateAtCapacity:
		// In every mode: the team that is there has its hands full.
		return atCapacity(a, lang), nil
	}
	return available(a, lang), nil
}

// BotAnswers reports whether the bot of chatflow cf may start a
// conversation at now: always, unless the chatflow's bot follows the
// office hours and they are closed (then the conversation waits for the
// team, as on a live chat).
func BotAnswers(acct *store.Account, cf *chatflow.Chatflow, now time.Time) bool {
	a := cf.Availability
	if a.Bot != chatflow.BotOfficeHours || a.Mode != chatflow.ModeOfficeHours {
		return true
	}
	open, _ := OfficeHours(a.OfficeHours, Location(acct.Timezone), now, a.Exceptions...)
	return open
}

// atCapacity is the presence of a chatflow whose available members are
// all at their chat limit, as its at-capacity behaviour says.
func atCapacity(a chatflow.Availability, lang string) widget.Presence {
	p := widget.Presence{State: widget.StateAtCapacity}
	switch a.AtCapacity.Behaviour {
	case chatflow.CapacityHideLauncher:
		p.Hide = true
	case chatflow.CapacityWaitMessage:
		p.Text = orDefault(a.AtCapacity.Message, lang, "wait")
	}
	return p
}

// MemberState says what the targeted members allow: StateAway when none of
// them has a seat and status available, StateAtCapacity when all such are
// at their chat limit, else StateAvailable.
func MemberState(loads []store.MemberLoad) string {
	anyAvailable := false
	for _, m := range loads {
		if !m.HasSeat || m.Status != store.UserAvailable {
			continue
		}
		anyAvailable = true
		if m.OpenChats < m.MaxOpenChats {
			return widget.StateAvailable
		}
	}
	if anyAvailable {
		return widget.StateAtCapacity
	}
	return widget.StateAway
}

func available(a chatflow.Availability, lang string) widget.Presence {
	p := widget.Presence{State: widget.StateAvailable}
	if a.ReplyTime != "" {
		p.Text = text(lang, a.ReplyTime)
	}
	return p
}

// offline is the presence outside office hours. own is the chatflow's
// language, the one its custom message is written in: the time placed in
// that message is said in it too.
func offline(a chatflow.Availability, lang, own string, next, now time.Time, loc *time.Location) widget.Presence {
	p := widget.Presence{State: widget.StateOffline}
	if !next.IsZero() {
		p.BackAt = next.In(loc).Format(time.RFC3339)
	}
	switch a.Offline.Behaviour {
	case chatflow.OfflineHideLauncher:
		p.Hide = true
	case chatflow.OfflineAwayMessage:
		p.Text = a.Offline.Message
		if p.Text == "" {
			p.Text = orDefault(a.AwayMessage, lang, "offline")
		}
	default: // back_at
		switch {
		case next.IsZero():
			p.Text = orDefault(a.Offline.Message, lang, "offline")
		case a.Offline.Message != "":
			p.Text = strings.ReplaceAll(a.Offline.Message, "{time}", BackText(own, next, now, loc))
		default:
			p.Text = strings.ReplaceAll(text(lang, "back"), "{time}", BackText(lang, next, now, loc))
		}
	}
	return p
}

// BackText names the instant back in lang, at the wall clock of loc relative
// to now: "today at 09:00 CET", "tomorrow at …", "on Monday at …".
func BackText(lang string, back, now time.Time, loc *time.Location) string {
	lang = language(lang, "en")
	b, n := back.In(loc), now.In(loc)
	zone, _ := b.Zone()
	clock := b.Format("15:04") + " " + zone
	by, bm, bd := b.Date()
	key := "weekday"
	switch {
	case sameDay(by, bm, bd, n):
		key = "today"
	case sameDay(by, bm, bd, time.Date(n.Year(), n.Month(), n.Day()+1, 12, 0, 0, 0, loc)):
		key = "tomorrow"
	}
	s := strings.ReplaceAll(text(lang, key), "{clock}", clock)
	return strings.ReplaceAll(s, "{day}", weekdays[lang][b.Weekday()])
}

func sameDay(y int, m time.Month, d int, t time.Time) bool {
	ty, tm, td := t.Date()
	return y == ty && m == tm && d == td
}

func orDefault(custom, lang, key string) string {
	if custom != "" {
		return custom
	}
	return text(lang, key)
}

func language(lang, fallback string) string {
	if slices.Contains(chatflow.Languages, lang) {
		return lang
	}
	if slices.Contains(chatflow.Languages, fallback) {
		return fallback
	}
	return "en"
}

var dayIndex = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// OfficeHours reports whether now falls inside one of ranges (weekday and
// wall-clock times in loc; an end of "24:00" is the next midnight) and, when
// it does not, the next opening instant (zero when ranges open never).
// A date that has exceptions keeps only their ranges (none when closed)
// instead of its weekday's: holidays, closed days, special hours.
// Every range is placed on real calendar days with time.Date, so an hour
// lost or gained to daylight saving moves the instants, not the wall times.
func OfficeHours(ranges []chatflow.TimeRange, loc *time.Location, now time.Time, exceptions ...chatflow.DateException) (open bool, next time.Time) {
	n := now.In(loc)
	y, m, d := n.Date()
	byDate := map[string][]chatflow.DateException{}
	for _, x := range exceptions {
		byDate[x.Date] = append(byDate[x.Date], x)
	}
	// From yesterday (a range reaching midnight) to a week ahead (the same
	// weekday next week), and a day further for each closed or shortened date.
	for off := -1; off <= 7+len(byDate); off++ {
		noon := time.Date(y, m, d+off, 12, 0, 0, 0, loc)
		var day []chatflow.TimeRange
		if xs, ok := byDate[noon.Format(time.DateOnly)]; ok {
			for _, x := range xs {
				if !x.Closed {
					day = append(day, chatflow.TimeRange{Start: x.Start, End: x.End})
				}
			}
		} else {
			for _, r := range ranges {
				if wd, ok := dayIndex[r.Day]; ok && wd == noon.Weekday() {
					day = append(day, r)
				}
			}
		}
		for _, r := range day {
			sh, sm, ok1 := clock(r.Start)
			eh, em, ok2 := clock(r.End)
			if !ok1 || !ok2 {
				continue
			}
			start := time.Date(y, m, d+off, sh, sm, 0, 0, loc)
			end := time.Date(y, m, d+off, eh, em, 0, 0, loc) // 24:00 normalises to the next midnight
			if !end.After(start) {
				continue
			}
			if !now.Before(start) && now.Before(end) {
				return true, time.Time{}
			}
			if start.After(now) && (next.IsZero() || start.Before(next)) {
				next = start
			}
		}
		if off >= 0 && !next.IsZero() {
			return false, next // later days open later still
		}
	}
	return false, next
}

// clock parses "HH:MM" (00:00 to 24:00).
func clock(s string) (h, m int, ok bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, 0, false
		}
	}
	h, m = int(s[0]-'0')*10+int(s[1]-'0'), int(s[3]-'0')*10+int(s[4]-'0')
	if m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, 0, false
	}
	return h, m, true
}

var locations sync.Map // zone name → *time.Location

// Location returns the IANA zone name's location; an unknown name falls
// back to UTC (and is logged), so a bad setting never takes the chat down.
func Location(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		slog.Warn("availability: unknown timezone, using UTC", "timezone", name, "err", err)
		l = time.UTC
	}
	locations.Store(name, l)
	return l
}

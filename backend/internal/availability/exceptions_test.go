package availability_test

import (
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/availability"
	"github.com/parleychat/parley/backend/internal/chatflow"
)

// Date exceptions replace a weekday's hours on their date, at the wall
// clock of the account's zone: a holiday is closed, a special day has its
// own ranges, and "back at" skips over closed dates.
func TestDateExceptionsReplaceTheWeekdayHours(t *testing.T) {
	loc := amsterdam(t)
	work := weekdays("09:00", "17:00")
	xs := []chatflow.DateException{
		{Date: "2026-12-24", Start: "09:00", End: "13:00"}, // Thursday: short day
		{Date: "2026-12-25", Name: "Christmas", Closed: true},
		{Date: "2026-12-26", Closed: true},                 // Saturday: closed anyway
		{Date: "2026-12-27", Start: "10:00", End: "12:00"}, // Sunday: open specially
		{Date: "2026-12-28", Closed: true},
		{Date: "2026-12-29", Closed: true},
		{Date: "2026-12-30", Start: "10:00", End: "12:00"},
		{Date: "2026-12-30", Start: "14:00", End: "16:00"},
	}
	cases := []struct {
		local string
		open  bool
		next  string
	}{
		{"2026-12-23T10:00", true, ""},
		{"2026-12-24T12:59", true, ""},
		{"2026-12-24T13:00", false, "2026-12-27T10:00"}, // past Christmas and the Saturday
		{"2026-12-25T10:00", false, "2026-12-27T10:00"},
		{"2026-12-27T11:00", true, ""},
		{"2026-12-27T12:00", false, "2026-12-30T10:00"}, // two closed weekdays skipped
		{"2026-12-30T12:30", false, "2026-12-30T14:00"},
		{"2026-12-30T15:00", true, ""},
		{"2026-12-30T16:00", false, "2026-12-31T09:00"}, // back to the weekly hours
	}
	for _, c := range cases {
		now, err := time.ParseInLocation("2006-01-02T15:04", c.local, loc)
		if err != nil {
			t.Fatal(err)
		}
		open, next := availability.OfficeHours(work, loc, now, xs...)
		got := ""
		if !next.IsZero() {
			got = next.In(loc).Format("2006-01-02T15:04")
		}
		if open != c.open || got != c.next {
			t.Errorf("%s: open %v next %q, want %v %q", c.local, open, got, c.open, c.next)
		}
	}
	// A long closure: the next opening is found past a month of closed days.
	var long []chatflow.DateException
	for d := 1; d <= 31; d++ {
		long = append(long, chatflow.DateException{Date: time.Date(2026, 8, d, 0, 0, 0, 0, loc).Format(time.DateOnly), Closed: true})
	}
	now := time.Date(2026, 7, 31, 18, 0, 0, 0, loc)
	if open, next := availability.OfficeHours(work, loc, now, long...); open || !next.Equal(time.Date(2026, 9, 1, 9, 0, 0, 0, loc)) {
		t.Errorf("after August closed: open %v next %v, want Tuesday 1 September 09:00", open, next)
	}
}

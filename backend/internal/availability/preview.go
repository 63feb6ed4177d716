package availability

import (
	"time"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// Preview is the presence cf shows in state (available, away, offline or
// at_capacity) whatever the clock and the team say, with the texts Compute
// would give: the console's preview switches between them. Offline is
// shown at the first hour outside the office hours, so "back at" names a
// real opening.
func Preview(acct *store.Account, cf *chatflow.Chatflow, state string, now time.Time) widget.Presence {
	lang := language("", cf.Language)
	a := cf.Availability
	switch state {
	case widget.StateAway:
		return widget.Presence{State: widget.StateAway, Text: orDefault(a.AwayMessage, lang, "away")}
	case widget.StateAtCapacity:
		return atCapacity(a, lang)
	case widget.StateOffline:
		loc := Location(acct.Timezone)
		if len(a.OfficeHours) > 0 {
			for h := 0; h < 8*24; h++ {
				t := now.Add(time.Duration(h) * time.Hour)
				if open, next := OfficeHours(a.OfficeHours, loc, t, a.Exceptions...); !open {
					return offline(a, lang, lang, next, t, loc)
				}
			}
		}
		return offline(a, lang, lang, time.Time{}, now, loc)
	}
	return available(a, lang)
}

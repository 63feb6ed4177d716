package availability_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/availability"
	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// The preview's state switch shows each state with the texts visitors
// would get, whatever the clock and the team say.
func TestPreviewStates(t *testing.T) {
	acct := &store.Account{Timezone: "Europe/Amsterdam"}
	cf := chatflow.Default()
	cf.Availability.ReplyTime = "hour"
	cf.Availability.AwayMessage = "Out for lunch"
	cf.Availability.AtCapacity = chatflow.Behaviour{Behaviour: chatflow.CapacityWaitMessage, Message: "Busy, hold on"}
	cf.Availability.OfficeHours = []chatflow.TimeRange{{Day: "monday", Start: "09:00", End: "17:00"}}
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC) // a Monday, inside the hours

	for state, want := range map[string]string{
		widget.StateAvailable:  "hour",
		widget.StateAway:       "Out for lunch",
		widget.StateAtCapacity: "Busy, hold on",
		widget.StateOffline:    "09:00",
	} {
		p := availability.Preview(acct, &cf, state, now)
		if p.State != state || !strings.Contains(strings.ToLower(p.Text), strings.ToLower(want)) {
			t.Errorf("%s: %+v, want a text with %q", state, p, want)
		}
	}
	if p := availability.Preview(acct, &cf, widget.StateOffline, now); p.BackAt == "" {
		t.Errorf("offline names no opening: %+v", p)
	}
	cf.Availability.AtCapacity.Behaviour = chatflow.CapacityHideLauncher
	if p := availability.Preview(acct, &cf, widget.StateAtCapacity, now); !p.Hide {
		t.Errorf("at capacity with hide_launcher: %+v", p)
	}
}

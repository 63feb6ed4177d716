// Package chatflow is the chatflow model: its fields and settings, their
// defaults, validation, and the form the widget receives.
package chatflow

import (
	"encoding/json"
	"time"

	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// Channels.
const (
	ChannelWebsite = "website"
	ChannelMobile  = "mobile"
)

// Types.
const (
	TypeLiveAgent     = "live_agent"
	TypeCustomerAgent = "customer_agent"
	TypeRuleBot       = "rule_bot"
)

// Languages the widget speaks.
var Languages = widget.Languages

// Chatflow is one configured chat experience, as the REST API shows it.
type Chatflow struct {
	ID        int64     `json:"id"`
	PublicID  string    `json:"public_id"`
	Name      string    `json:"name"`
	Channel   string    `json:"channel"`
	InboxID   int64     `json:"inbox_id"`
	Language  string    `json:"language"`
	Type      string    `json:"type"`
	Enabled   bool      `json:"enabled"`
	Priority  int       `json:"priority"`
	MobileTag string    `json:"mobile_tag"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Settings
}

// Settings are the nested groups stored as one JSON document.
type Settings struct {
	Look         widget.Look         `json:"look"`
	Welcome      widget.Welcome      `json:"welcome"`
	EmailCapture widget.EmailCapture `json:"email_capture"`
	Availability Availability        `json:"availability"`
	Assignment   Assignment          `json:"assignment"`
	Tickets      TicketProperties    `json:"tickets"`
	Display      widget.Display      `json:"display"`
	Targeting    widget.Targeting    `json:"targeting"`
	Options      widget.Options      `json:"options"`
}

// Availability modes.
const (
	ModeUserAvailability = "user_availability"
	ModeOfficeHours      = "office_hours"
	ModeAlways           = "always"
)

// Offline behaviours (outside office hours).
const (
	OfflineBackAt       = "back_at"
	OfflineAwayMessage  = "away_message"
	OfflineHideLauncher = "hide_launcher"
)

// Bot availability choices, for chatflows a bot answers first
// (customer_agent, rule_bot).
const (
	BotAlways      = "always"       // the bot answers around the clock: the chat is always open
	BotOfficeHours = "office_hours" // the bot answers only while the office hours are open
)

// At-capacity behaviours.
const (
	CapacityWaitMessage  = "wait_message"
	CapacityHideLauncher = "hide_launcher"
	CapacityNothing      = "nothing"
)

// Typical reply times shown while available.
var ReplyTimes = []string{"", "few_minutes", "hour", "day"}

// Availability says when someone can answer.
type Availability struct {
	Mode        string      `json:"mode"`
	OfficeHours []TimeRange `json:"office_hours"`
	// Exceptions replace the weekly hours on their dates: holidays and
	// other closed days, or special hours.
	Exceptions  []DateException `json:"exceptions"`
	ReplyTime   string          `json:"reply_time"`   // shown when available; "" shows nothing
	AwayMessage string          `json:"away_message"` // away during office hours; "" uses the default text
	Offline     Behaviour       `json:"offline"`      // outside office hours
	AtCapacity  Behaviour       `json:"at_capacity"`  // every member at their chat limit
	// Bot is when the bot of a bot chatflow answers: BotAlways (the chat
	// is available whatever the team's state) or BotOfficeHours (the chat
	// follows Mode like a live chat, and the bot starts no conversation
	// outside the office hours). Live-agent chatflows ignore it.
	Bot string `json:"bot"`
}

// TimeRange is one opening range on a weekday, in the account's timezone.
type TimeRange struct {
	Day   string `json:"day"`   // monday … sunday
	Start string `json:"start"` // HH:MM
	End   string `json:"end"`   // HH:MM, after Start; "24:00" for midnight
}

// DateException is one date's own hours, in the account's timezone: closed
// all day, or open from Start to End. A date may have several ranges (one
// entry each); its entries replace the weekly ranges of that weekday.
type DateException struct {
	Date   string `json:"date"`            // YYYY-MM-DD
	Name   string `json:"name,omitempty"`  // what it is, for the team: "Christmas"
	Closed bool   `json:"closed"`          // closed all day (no Start or End)
	Start  string `json:"start,omitempty"` // HH:MM, when not closed
	End    string `json:"end,omitempty"`   // HH:MM after Start; "24:00" for midnight
}

// Behaviour is what the widget does in a state, with an optional message.
type Behaviour struct {
	Behaviour string `json:"behaviour"`
	Message   string `json:"message"` // "" uses the default text of the language
}

// Assignment routes new conversations.
type Assignment struct {
	AutoAssign bool    `json:"auto_assign"`
	UserIDs    []int64 `json:"user_ids"`
	TeamIDs    []int64 `json:"team_ids"`
}

// Ticket priorities.
var Priorities = []string{"low", "medium", "high", "urgent"}

// TicketProperties are set on the ticket each new conversation creates.
type TicketProperties struct {
	Pipeline   string            `json:"pipeline"`
	Status     string            `json:"status"`
	Priority   string            `json:"priority"`
	Category   string            `json:"category"`
	Properties map[string]string `json:"properties"`
}

// BotFirst reports whether a bot answers the chatflow's visitors before
// any human.
func (c *Chatflow) BotFirst() bool {
	return c.Type == TypeCustomerAgent || c.Type == TypeRuleBot
}

// Default returns a new chatflow's settings: a website live chat with the
// privacy-first defaults (both consents on).
func Default() Chatflow {
	return Chatflow{
		Channel:  ChannelWebsite,
		Language: "en",
		Type:     TypeLiveAgent,
		Settings: Settings{
			Look: widget.Look{
				AccentColor: "#2357d9",
				Heading:     widget.Heading{Kind: widget.HeadingBrand},
			},
			Welcome:      widget.Welcome{Messages: map[string]string{}},
			EmailCapture: widget.EmailCapture{When: widget.EmailNever, Prompt: map[string]string{}},
			Availability: Availability{
				Mode:        ModeAlways,
				OfficeHours: []TimeRange{},
				Exceptions:  []DateException{},
				Offline:     Behaviour{Behaviour: OfflineBackAt},
				AtCapacity:  Behaviour{Behaviour: CapacityWaitMessage},
				Bot:         BotAlways,
			},
			Assignment: Assignment{UserIDs: []int64{}, TeamIDs: []int64{}},
			Tickets:    TicketProperties{Pipeline: "support", Status: "new", Priority: "medium", Properties: map[string]string{}},
			Display: widget.Display{
				Desktop: widget.DisplayPrompt,
				Mobile:  widget.DisplayLauncherOnly,
			},
			Targeting: widget.Targeting{Groups: []widget.RuleGroup{}, Exclusions: []widget.Rule{}},
			Options: widget.Options{
				CookieConsent:  widget.CookieConsent{Enabled: true, When: widget.ConsentBeforeChat},
				DataConsent:    widget.DataConsent{Enabled: true, Type: widget.ConsentLegitimateInterest},
				Attachments:    true,
				HelpTab:        true, // shown as soon as a knowledge base is chosen
				LanguageChoice: widget.LanguageChatflow,
			},
		},
	}
}

// FromRow decodes a stored chatflow.
func FromRow(r *store.ChatflowRow) (*Chatflow, error) {
	c := Default()
	if err := json.Unmarshal(r.Settings, &c.Settings); err != nil {
		return nil, err
	}
	c.ID, c.PublicID, c.Name, c.Channel, c.InboxID = r.ID, r.PublicID, r.Name, r.Channel, r.InboxID
	c.Language, c.Type, c.Enabled, c.Priority, c.MobileTag = r.Language, r.Type, r.Enabled, r.Priority, r.MobileTag
	c.Version, c.CreatedAt, c.UpdatedAt = r.Version, r.CreatedAt, r.UpdatedAt
	c.normalize()
	return &c, nil
}

// Row encodes c for storage.
func (c *Chatflow) Row(accountID int64) (*store.ChatflowRow, error) {
	settings, err := json.Marshal(c.Settings)
	if err != nil {
		return nil, err
	}
	return &store.ChatflowRow{
		ID: c.ID, AccountID: accountID, PublicID: c.PublicID, Name: c.Name, Channel: c.Channel,
		InboxID: c.InboxID, Language: c.Language, Type: c.Type, Enabled: c.Enabled, Priority: c.Priority,
		MobileTag: c.MobileTag, Settings: settings, Version: c.Version,
	}, nil
}

// normalize replaces nil slices and maps with empty ones so JSON shows [] and {}.
func (c *Chatflow) normalize() {
	s := &c.Settings
	dropEmpty(s.Welcome.Messages)
	dropEmpty(s.EmailCapture.Prompt)
	if s.Welcome.Messages == nil {
		s.Welcome.Messages = map[string]string{}
	}
	if s.EmailCapture.Prompt == nil {
		s.EmailCapture.Prompt = map[string]string{}
	}
	if s.Availability.OfficeHours == nil {
		s.Availability.OfficeHours = []TimeRange{}
	}
	if s.Availability.Exceptions == nil {
		s.Availability.Exceptions = []DateException{}
	}
	if s.Assignment.UserIDs == nil {
		s.Assignment.UserIDs = []int64{}
	}
	if s.Assignment.TeamIDs == nil {
		s.Assignment.TeamIDs = []int64{}
	}
	if s.Tickets.Properties == nil {
		s.Tickets.Properties = map[string]string{}
	}
	if s.Targeting.Groups == nil {
		s.Targeting.Groups = []widget.RuleGroup{}
	}
	for i := range s.Targeting.Groups {
		if s.Targeting.Groups[i].Rules == nil {
			s.Targeting.Groups[i].Rules = []widget.Rule{}
		}
	}
	if s.Targeting.Exclusions == nil {
		s.Targeting.Exclusions = []widget.Rule{}
	}
}

// dropEmpty deletes empty texts: a merge patch sets a language to null to remove it.
func dropEmpty(m map[string]string) {
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
}

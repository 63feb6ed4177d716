package chatflow

import (
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/widget"
)

// Limits on chatflow text.
const (
	MaxNameLen    = 200
	MaxTextLen    = 2000 // welcome, away and consent texts
	MaxRuleValue  = 2000
	MaxRules      = 100
	MaxTimeRanges = 50
	MaxExceptions = 400 // a year of dates, with room for special hours
)

// Refs answers whether ids the chatflow points at exist in the account.
// Validate uses it for inbox, agent, user, team and bot ids.
type Refs interface {
	ChatInbox(id int64) (exists, hasChat bool)
	User(id int64) bool
	Team(id int64) bool
	Bot(id int64) bool
}

var (
	colourRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	clockRE  = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$`)
	tagRE    = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,100}$`)
	days     = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
)

// imageIDRE is an uploaded image's id: the SHA-256 of its bytes.
var imageIDRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Validate checks every field and returns a problem.Errors listing each bad one.
func (c *Chatflow) Validate(refs Refs) error {
	var e problem.Errors
	text := func(field, v string, max int, required bool) {
		switch {
		case required && strings.TrimSpace(v) == "":
			e.Add(field, "is required")
		case !utf8.ValidString(v):
			e.Add(field, "must be valid UTF-8")
		case utf8.RuneCountInString(v) > max:
			e.Add(field, "must be at most "+strconv.Itoa(max)+" characters")
		}
	}
	oneOf := func(field, v string, allowed ...string) {
		if !slices.Contains(allowed, v) {
			e.Add(field, "must be one of: "+strings.Join(quoted(allowed), ", "))
		}
	}
	link := func(field, v string) {
		if v == "" {
			return
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			e.Add(field, "must be an http or https URL")
		}
	}
	perLanguage := func(field string, m map[string]string) {
		for lang, v := range m {
			if !slices.Contains(Languages, lang) {
				e.Add(field+"."+lang, "is not a supported language ("+strings.Join(Languages, ", ")+")")
				continue
			}
			text(field+"."+lang, v, MaxTextLen, false)
		}
	}

	text("name", c.Name, MaxNameLen, true)
	oneOf("channel", c.Channel, ChannelWebsite, ChannelMobile)
	if c.InboxID == 0 {
		e.Add("inbox_id", "is required")
	} else if exists, hasChat := refs.ChatInbox(c.InboxID); !exists {
		e.Add("inbox_id", "no such inbox")
	} else if !hasChat {
		e.Add("inbox_id", "the inbox has no chat channel")
	}
	oneOf("language", c.Language, Languages...)
	oneOf("type", c.Type, TypeLiveAgent, TypeCustomerAgent, TypeRuleBot)
	if c.Priority < -1000000 || c.Priority > 1000000 {
		e.Add("priority", "must be between -1000000 and 1000000")
	}
	switch {
	case c.Channel == ChannelMobile && c.MobileTag == "":
		e.Add("mobile_tag", "is required for mobile chatflows")
	case c.Channel == ChannelMobile && !tagRE.MatchString(c.MobileTag):
		e.Add("mobile_tag", "must be 1-100 letters, digits or _ . : -")
	case c.Channel == ChannelWebsite && c.MobileTag != "":
		e.Add("mobile_tag", "is only for mobile chatflows")
	}

	s := &c.Settings
	if !colourRE.MatchString(s.Look.AccentColor) {
		e.Add("look.accent_color", "must be a colour like #2357d9")
	}
	switch s.Look.Heading.Kind {
	case widget.HeadingAgent:
		if s.Look.Heading.AgentID == 0 {
			e.Add("look.heading.agent_id", "is required when the heading shows an agent")
		} else if !refs.User(s.Look.Heading.AgentID) {
			e.Add("look.heading.agent_id", "no such user")
		}
	case widget.HeadingBrand:
		text("look.heading.brand_name", s.Look.Heading.BrandName, MaxNameLen, false)
		link("look.heading.image_url", s.Look.Heading.ImageURL)
		if id := s.Look.Heading.ImageID; id != "" && !imageIDRE.MatchString(id) {
			e.Add("look.heading.image_id", "must be the id of an uploaded image (POST /api/v1/images answers it)")
		} else if id != "" && s.Look.Heading.ImageURL != "" {
			e.Add("look.heading.image_id", "give image_id or image_url, not both")
		}
	default:
		e.Add("look.heading.kind", `must be one of: "agent", "brand"`)
	}

	perLanguage("welcome.messages", s.Welcome.Messages)
	oneOf("email_capture.when", s.EmailCapture.When, widget.EmailNever, widget.EmailAlways, widget.EmailWhenOffline)
	perLanguage("email_capture.prompt", s.EmailCapture.Prompt)

	a := &s.Availability
	oneOf("availability.mode", a.Mode, ModeUserAvailability, ModeOfficeHours, ModeAlways)
	if len(a.OfficeHours) > MaxTimeRanges {
		e.Add("availability.office_hours", "at most "+strconv.Itoa(MaxTimeRanges)+" ranges")
	}
	for i, r := range a.OfficeHours {
		f := "availability.office_hours[" + strconv.Itoa(i) + "]"
		oneOf(f+".day", r.Day, days...)
		checkRange(&e, f, r.Start, r.End, "")
	}
	validateExceptions(&e, a.Exceptions)
	if a.Mode == ModeOfficeHours && len(a.OfficeHours) == 0 {
		e.Add("availability.office_hours", "at least one range is required in office_hours mode")
	}
	oneOf("availability.reply_time", a.ReplyTime, ReplyTimes...)
	text("availability.away_message", a.AwayMessage, MaxTextLen, false)
	oneOf("availability.offline.behaviour", a.Offline.Behaviour, OfflineBackAt, OfflineAwayMessage, OfflineHideLauncher)
	text("availability.offline.message", a.Offline.Message, MaxTextLen, false)
	oneOf("availability.at_capacity.behaviour", a.AtCapacity.Behaviour, CapacityWaitMessage, CapacityHideLauncher, CapacityNothing)
	text("availability.at_capacity.message", a.AtCapacity.Message, MaxTextLen, false)
	oneOf("availability.bot", a.Bot, BotAlways, BotOfficeHours)

	for i, id := range s.Assignment.UserIDs {
		if !refs.User(id) {
			e.Add("assignment.user_ids["+strconv.Itoa(i)+"]", "no such user")
		}
	}
	for i, id := range s.Assignment.TeamIDs {
		if !refs.Team(id) {
			e.Add("assignment.team_ids["+strconv.Itoa(i)+"]", "no such team")
		}
	}

	t := &s.Tickets
	text("tickets.pipeline", t.Pipeline, 100, true)
	text("tickets.status", t.Status, 100, true)
	oneOf("tickets.priority", t.Priority, Priorities...)
	text("tickets.category", t.Category, 100, false)
	for k, v := range t.Properties {
		text("tickets.properties."+k, v, MaxTextLen, false)
		if k == "" || len(k) > 100 {
			e.Add("tickets.properties", "property names must be 1-100 characters")
		}
	}

	oneOf("display.desktop", s.Display.Desktop, widget.DisplayPrompt, widget.DisplayLauncherOnly, widget.DisplayOpenOnTrigger)
	oneOf("display.mobile", s.Display.Mobile, widget.DisplayPrompt, widget.DisplayLauncherOnly)
	if v := s.Display.Triggers.TimeOnPage; v < 0 || v > 3600 {
		e.Add("display.triggers.time_on_page", "must be 0 (off) to 3600 seconds")
	}
	if v := s.Display.Triggers.ScrollPercent; v < 0 || v > 100 {
		e.Add("display.triggers.scroll_percent", "must be 0 (off) to 100")
	}
	if s.Display.Desktop == widget.DisplayOpenOnTrigger && !s.Display.Triggers.ExitIntent &&
		s.Display.Triggers.TimeOnPage == 0 && s.Display.Triggers.ScrollPercent == 0 {
		e.Add("display.triggers", "open_on_trigger needs at least one trigger")
	}

	nRules := len(s.Targeting.Exclusions)
	for gi, g := range s.Targeting.Groups {
		nRules += len(g.Rules)
		if len(g.Rules) == 0 {
			e.Add("targeting.groups["+strconv.Itoa(gi)+"].rules", "a filter group needs at least one rule")
		}
		for ri, r := range g.Rules {
			validateRule(&e, "targeting.groups["+strconv.Itoa(gi)+"].rules["+strconv.Itoa(ri)+"]", r)
		}
	}
	for i, r := range s.Targeting.Exclusions {
		validateRule(&e, "targeting.exclusions["+strconv.Itoa(i)+"]", r)
	}
	if nRules > MaxRules {
		e.Add("targeting", "at most "+strconv.Itoa(MaxRules)+" rules")
	}

	o := &s.Options
	oneOf("options.cookie_consent.when", o.CookieConsent.When, widget.ConsentBeforeChat, widget.ConsentExitIntent)
	text("options.cookie_consent.text", o.CookieConsent.Text, MaxTextLen, false)
	oneOf("options.data_consent.type", o.DataConsent.Type, widget.ConsentExplicit, widget.ConsentLegitimateInterest)
	text("options.data_consent.text", o.DataConsent.Text, MaxTextLen, false)
	link("options.data_consent.privacy_url", o.DataConsent.PrivacyURL)
	text("options.communication_consent.label", o.CommunicationConsent.Label, MaxTextLen, false)
	oneOf("options.language_choice", o.LanguageChoice, widget.LanguageChatflow, widget.LanguageVisitor)
	if o.SurveyID < 0 {
		e.Add("options.survey_id", "must be a survey id")
	}
	if o.KnowledgeBaseID < 0 {
		e.Add("options.knowledge_base_id", "must be a knowledge base id")
	} else if o.KnowledgeBaseID == 0 && c.Type == TypeCustomerAgent {
		e.Add("options.knowledge_base_id", "is required for customer_agent chatflows: the agent answers from it")
	}
	switch {
	case o.BotID < 0 || o.BotID > 0 && !refs.Bot(o.BotID):
		e.Add("options.bot_id", "no such bot")
	case o.BotID == 0 && c.Type == TypeRuleBot:
		e.Add("options.bot_id", "is required for rule_bot chatflows: name the bot whose flow runs")
	}
	return e.Err()
}

// checkRange checks one opening range at field f: HH:MM times, the end
// after the start (24:00 for midnight); or adds to the start's message.
func checkRange(e *problem.Errors, f, start, end, or string) {
	okStart, okEnd := clockRE.MatchString(start), clockRE.MatchString(end)
	if !okStart || start == "24:00" {
		e.Add(f+".start", "must be a time like 09:00"+or)
	}
	if !okEnd {
		e.Add(f+".end", "must be a time like 17:30 (24:00 for midnight)")
	}
	if okStart && okEnd && start >= end {
		e.Add(f+".end", "must be after start")
	}
}

// validateExceptions checks the office hours' date exceptions: real dates,
// closed or a range (not both), and a closed date without other entries.
func validateExceptions(e *problem.Errors, xs []DateException) {
	if len(xs) > MaxExceptions {
		e.Add("availability.exceptions", "at most "+strconv.Itoa(MaxExceptions)+" dates")
	}
	closed, open := map[string]bool{}, map[string]bool{}
	for i, x := range xs {
		f := "availability.exceptions[" + strconv.Itoa(i) + "]"
		if _, err := time.Parse(time.DateOnly, x.Date); err != nil || len(x.Date) != len(time.DateOnly) {
			e.Add(f+".date", "must be a date like 2026-12-25")
		}
		if !utf8.ValidString(x.Name) || utf8.RuneCountInString(x.Name) > MaxNameLen {
			e.Add(f+".name", "must be valid text of at most "+strconv.Itoa(MaxNameLen)+" characters")
		}
		if x.Closed {
			if x.Start != "" || x.End != "" {
				e.Add(f+".closed", "a closed date has no hours: clear from and until, or untick closed")
			}
			if open[x.Date] {
				e.Add(f+".closed", "this date also has opening hours: a closed date has no other entries")
			}
			closed[x.Date] = true
			continue
		}
		checkRange(e, f, x.Start, x.End, " (or tick closed)")
		if closed[x.Date] {
			e.Add(f+".date", "this date is also marked closed: a closed date has no other entries")
		}
		open[x.Date] = true
	}
}

// ruleOps lists the operators each rule kind accepts.
var ruleOps = map[string][]string{
	widget.RuleURL:             {widget.OpIs, widget.OpIsNot, widget.OpContains, widget.OpNotContains, widget.OpStartsWith, widget.OpEndsWith, widget.OpWildcard},
	widget.RuleQueryParam:      {widget.OpIs, widget.OpIsNot, widget.OpContains, widget.OpNotContains, widget.OpStartsWith, widget.OpEndsWith, widget.OpWildcard},
	widget.RuleContactProperty: {widget.OpIs, widget.OpIsNot, widget.OpContains, widget.OpNotContains, widget.OpStartsWith, widget.OpEndsWith, widget.OpWildcard},
	widget.RuleDevice:          {widget.OpIs, widget.OpIsNot},
	widget.RuleVisitor:         {widget.OpIs},
	widget.RuleReferrer:        {widget.OpIs, widget.OpIsNot, widget.OpContains, widget.OpNotContains, widget.OpStartsWith, widget.OpEndsWith, widget.OpWildcard},
	widget.RulePageViews:       {widget.OpIs, widget.OpIsNot, widget.OpContains, widget.OpNotContains, widget.OpStartsWith, widget.OpEndsWith, widget.OpWildcard, widget.OpGreaterThan, widget.OpLessThan},
}

func validateRule(e *problem.Errors, f string, r widget.Rule) {
	ops, ok := ruleOps[r.Kind]
	if !ok {
		e.Add(f+".kind", `must be one of: "url", "query_param", "device", "visitor", "contact_property", "referrer", "page_views"`)
		return
	}
	if !slices.Contains(ops, r.Op) {
		e.Add(f+".op", "must be one of: "+strings.Join(quoted(ops), ", ")+" for "+r.Kind+" rules")
	}
	if !utf8.ValidString(r.Value) || utf8.RuneCountInString(r.Value) > MaxRuleValue {
		e.Add(f+".value", "must be valid text of at most "+strconv.Itoa(MaxRuleValue)+" characters")
	}
	switch r.Kind {
	case widget.RuleQueryParam, widget.RuleContactProperty:
		if strings.TrimSpace(r.Name) == "" || len(r.Name) > 200 {
			e.Add(f+".name", "is required (1-200 characters)")
		}
	default:
		if r.Name != "" {
			e.Add(f+".name", "is only for query_param and contact_property rules")
		}
	}
	switch r.Kind {
	case widget.RuleURL:
		if r.Value == "" {
			e.Add(f+".value", "is required")
		}
	case widget.RuleDevice:
		if !slices.Contains([]string{"desktop", "tablet", "mobile"}, r.Value) {
			e.Add(f+".value", `must be one of: "desktop", "tablet", "mobile"`)
		}
	case widget.RuleVisitor:
		if r.Value != "known" && r.Value != "unknown" {
			e.Add(f+".value", `must be one of: "known", "unknown"`)
		}
	case widget.RulePageViews:
		if n, err := strconv.Atoi(r.Value); (r.Op == widget.OpGreaterThan || r.Op == widget.OpLessThan || r.Op == widget.OpIs || r.Op == widget.OpIsNot) &&
			(err != nil || n < 0 || n > 100000 || strconv.Itoa(n) != r.Value) {
			e.Add(f+".value", "must be a whole number of pages, like 3")
		}
	}
}

func quoted(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

package widget

import (
	"strings"
	"time"
)

// Appearance is what the widget shows at a moment.
type Appearance struct {
	Launcher bool // the launcher button
	Prompt   bool // the welcome message popped above the launcher
	Open     bool // open the chat window (once; the visitor may close it again)
}

// Director applies a chatflow's display behaviour and triggers to
// the events of one page view. With "open_on_trigger" the welcome prompt shows
// at once and the chat opens when a trigger fires; with "prompt" or
// "launcher_only" and triggers set, the widget appears only when one fires;
// with no triggers it appears at once. A visitor who minimised the chat
// (the hide-welcome-message cookie) gets the launcher only: no prompt, no
// automatic opening.
type Director struct {
	mode      string
	triggers  Triggers
	minimised bool
	start     time.Time
	fired     bool
	opened    bool // an automatic open already happened on this page
}

// NewDirector starts the display logic for chatflow c on a device at now.
// Tablets follow the desktop behaviour.
func NewDirector(c *ChatflowConfig, device string, minimised bool, now time.Time) *Director {
	mode := c.Display.Desktop
	if device == DeviceMobile {
		mode = c.Display.Mobile
		if mode == DisplayOpenOnTrigger { // not a mobile behaviour
			mode = DisplayPrompt
		}
	}
	if mode == "" {
		mode = DisplayLauncherOnly
	}
	return &Director{mode: mode, triggers: c.Display.Triggers, minimised: minimised, start: now}
}

// HasTriggers reports whether any trigger is set.
func (d *Director) HasTriggers() bool {
	t := d.triggers
	return t.ExitIntent || t.TimeOnPage > 0 || t.ScrollPercent > 0
}

// Now is the appearance given what has happened so far.
func (d *Director) Now() Appearance {
	var a Appearance
	switch d.mode {
	case DisplayOpenOnTrigger:
		a.Launcher, a.Prompt = true, true
		a.Open = d.fired && !d.opened
	default:
		visible := !d.HasTriggers() || d.fired
		a.Launcher = visible
		a.Prompt = visible && d.mode == DisplayPrompt
	}
	if d.minimised {
		a.Launcher = true
		a.Prompt, a.Open = false, false
	}
	return a
}

// Minimise records that the visitor minimised the chat (closed the window
// or dismissed the prompt): from now on only the launcher shows.
func (d *Director) Minimise() { d.minimised = true }

// Opened records that the chat window opened (automatically or by a click),
// so a later trigger does not open it again.
func (d *Director) Opened() { d.opened = true }

// Tick reports the appearance at now; the time-on-page trigger fires here.
func (d *Director) Tick(now time.Time) Appearance {
	if t := d.triggers.TimeOnPage; t > 0 && !now.Before(d.start.Add(time.Duration(t)*time.Second)) {
		d.fired = true
	}
	return d.Now()
}

// NextTick is how long until the time-on-page trigger is due (false if it
// is off or has fired), so the shell sets one timer rather than polling.
func (d *Director) NextTick(now time.Time) (time.Duration, bool) {
	t := d.triggers.TimeOnPage
	if t <= 0 || d.fired {
		return 0, false
	}
	wait := d.start.Add(time.Duration(t) * time.Second).Sub(now)
	if wait < 0 {
		wait = 0
	}
	return wait, true
}

// Scrolled reports the appearance after the visitor scrolled to percent of
// the page (0-100).
func (d *Director) Scrolled(percent float64) Appearance {
	if p := d.triggers.ScrollPercent; p > 0 && percent >= float64(p) {
		d.fired = true
	}
	return d.Now()
}

// ScrollPercent is how far down a page of scrollHeight the visitor is, with
// the window innerHeight tall and scrolled to scrollY: 100 when the bottom is
// in view, also for a page too short to scroll.
func ScrollPercent(scrollY, innerHeight, scrollHeight float64) float64 {
	if scrollHeight <= innerHeight {
		return 100
	}
	p := (scrollY + innerHeight) / scrollHeight * 100
	if p > 100 {
		p = 100
	}
	return p
}

// PointerLeft reports the appearance after the pointer left the document at
// height clientY: leaving through the top of the window is exit intent.
func (d *Director) PointerLeft(clientY float64) Appearance {
	if d.triggers.ExitIntent && clientY <= 0 {
		d.fired = true
	}
	return d.Now()
}

// HideWelcomeCookie is the cookie that remembers, for 24 hours and on every
// page and chatflow, that the visitor minimised the chat. Its value is a
// constant: it holds no identifier.
const (
	HideWelcomeCookie = "hide-welcome-message"
	HideWelcomeMaxAge = 24 * 60 * 60
)

// HideWelcomeSetCookie is what the widget writes to document.cookie when
// the visitor minimises the chat: site-wide, for 24 hours, the constant
// value "1".
const HideWelcomeSetCookie = HideWelcomeCookie + "=1; max-age=86400; path=/; SameSite=Lax"

// Minimised reports whether a document.cookie string holds the
// hide-welcome-message cookie.
func Minimised(cookies string) bool {
	for cookies != "" {
		var c string
		c, cookies, _ = cut(cookies, ";")
		name, _, _ := cut(strings.TrimSpace(c), "=")
		if name == HideWelcomeCookie {
			return true
		}
	}
	return false
}

// DeviceOf classifies a viewport width and whether the device has touch as
// the targeting rules' device type.
func DeviceOf(width float64, touch bool) string {
	switch {
	case width < 768:
		return DeviceMobile
	case width < 1200 && touch:
		return DeviceTablet
	}
	return DeviceDesktop
}

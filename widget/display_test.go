package widget

import (
	"strings"
	"testing"
	"time"
)

func flowWith(desktop, mobile string, tr Triggers) *ChatflowConfig {
	return &ChatflowConfig{Display: Display{Desktop: desktop, Mobile: mobile, Triggers: tr}}
}

func TestDisplayBehaviours(t *testing.T) {
	t0 := time.Unix(1000, 0)
	none := Triggers{}
	cases := []struct {
		name      string
		c         *ChatflowConfig
		device    string
		minimised bool
		want      Appearance
	}{
		{"desktop prompt", flowWith(DisplayPrompt, DisplayLauncherOnly, none), DeviceDesktop, false, Appearance{Launcher: true, Prompt: true}},
		{"desktop launcher only", flowWith(DisplayLauncherOnly, DisplayPrompt, none), DeviceDesktop, false, Appearance{Launcher: true}},
		{"tablet follows desktop", flowWith(DisplayLauncherOnly, DisplayPrompt, none), DeviceTablet, false, Appearance{Launcher: true}},
		{"mobile prompt", flowWith(DisplayLauncherOnly, DisplayPrompt, none), DeviceMobile, false, Appearance{Launcher: true, Prompt: true}},
		{"mobile launcher only", flowWith(DisplayPrompt, DisplayLauncherOnly, none), DeviceMobile, false, Appearance{Launcher: true}},
		{"open on trigger shows the prompt at once", flowWith(DisplayOpenOnTrigger, DisplayLauncherOnly, Triggers{TimeOnPage: 5}), DeviceDesktop, false, Appearance{Launcher: true, Prompt: true}},
		{"prompt waits for its trigger", flowWith(DisplayPrompt, DisplayPrompt, Triggers{ScrollPercent: 50}), DeviceDesktop, false, Appearance{}},
		{"minimised: launcher only", flowWith(DisplayPrompt, DisplayPrompt, none), DeviceDesktop, true, Appearance{Launcher: true}},
	}
	for _, c := range cases {
		if got := NewDirector(c.c, c.device, c.minimised, t0).Now(); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestTriggers(t *testing.T) {
	t0 := time.Unix(1000, 0)
	open := Appearance{Launcher: true, Prompt: true, Open: true}

	d := NewDirector(flowWith(DisplayOpenOnTrigger, DisplayPrompt, Triggers{TimeOnPage: 7}), DeviceDesktop, false, t0)
	if wait, ok := d.NextTick(t0.Add(2 * time.Second)); !ok || wait != 5*time.Second {
		t.Fatalf("next tick %v %v", wait, ok)
	}
	if d.Tick(t0.Add(6 * time.Second)).Open {
		t.Fatal("opened before 7 s")
	}
	if got := d.Tick(t0.Add(7 * time.Second)); got != open {
		t.Fatalf("at 7 s: %+v", got)
	}
	d.Opened()
	if d.Tick(t0.Add(8 * time.Second)).Open {
		t.Fatal("opened twice on one page")
	}
	if _, ok := d.NextTick(t0.Add(9 * time.Second)); ok {
		t.Fatal("timer after firing")
	}

	d = NewDirector(flowWith(DisplayOpenOnTrigger, DisplayPrompt, Triggers{ScrollPercent: 60}), DeviceDesktop, false, t0)
	if d.Scrolled(59.9).Open || !d.Scrolled(60).Open {
		t.Fatal("scroll threshold")
	}

	d = NewDirector(flowWith(DisplayOpenOnTrigger, DisplayPrompt, Triggers{ExitIntent: true}), DeviceDesktop, false, t0)
	if d.PointerLeft(300).Open {
		t.Fatal("leaving through the side is not exit intent")
	}
	if !d.PointerLeft(-2).Open {
		t.Fatal("leaving through the top is exit intent")
	}

	// Triggers also apply on mobile, where they make the prompt appear.
	d = NewDirector(flowWith(DisplayLauncherOnly, DisplayPrompt, Triggers{ScrollPercent: 30}), DeviceMobile, false, t0)
	if d.Now().Launcher || d.Scrolled(10).Launcher {
		t.Fatal("shown before the trigger")
	}
	if got := d.Scrolled(35); got != (Appearance{Launcher: true, Prompt: true}) {
		t.Fatalf("mobile after trigger: %+v", got)
	}

	// A trigger never overrides minimising.
	d = NewDirector(flowWith(DisplayOpenOnTrigger, DisplayPrompt, Triggers{ExitIntent: true}), DeviceDesktop, true, t0)
	if got := d.PointerLeft(0); got != (Appearance{Launcher: true}) {
		t.Fatalf("minimised: %+v", got)
	}
	// A trigger that is off never fires.
	d = NewDirector(flowWith(DisplayOpenOnTrigger, DisplayPrompt, Triggers{TimeOnPage: 5}), DeviceDesktop, false, t0)
	if d.Scrolled(100).Open || d.PointerLeft(0).Open {
		t.Fatal("an unset trigger fired")
	}
}

func TestScrollPercentAndDevice(t *testing.T) {
	if p := ScrollPercent(0, 800, 800); p != 100 {
		t.Errorf("short page %v", p)
	}
	if p := ScrollPercent(1200, 800, 4000); p != 50 {
		t.Errorf("half way %v", p)
	}
	if DeviceOf(375, true) != DeviceMobile || DeviceOf(1024, true) != DeviceTablet || DeviceOf(1024, false) != DeviceDesktop || DeviceOf(1920, true) != DeviceDesktop {
		t.Error("device classes")
	}
}

func TestMinimisedReadsTheCookieAmongOthers(t *testing.T) {
	for cookies, want := range map[string]bool{
		"":                                  false,
		"a=1":                               false,
		"hide-welcome-message=1":            true,
		"a=1; hide-welcome-message=1; b=2":  true,
		"xhide-welcome-message=1":           false,
		"hide-welcome-messages=1; other=x":  false,
		" hide-welcome-message=1 ; other=x": true,
	} {
		if got := Minimised(cookies); got != want {
			t.Errorf("Minimised(%q) = %v, want %v", cookies, got, want)
		}
	}
	if !strings.Contains(HideWelcomeSetCookie, "max-age=86400") || !Minimised(HideWelcomeSetCookie) {
		t.Errorf("set-cookie string %q", HideWelcomeSetCookie)
	}
}

func TestMinimiseStopsPromptAndAutomaticOpening(t *testing.T) {
	c := &ChatflowConfig{Display: Display{Desktop: DisplayOpenOnTrigger, Triggers: Triggers{ScrollPercent: 50}}}
	d := NewDirector(c, DeviceDesktop, false, time.Unix(0, 0))
	if a := d.Now(); !a.Prompt || a.Open {
		t.Fatalf("before: %+v", a)
	}
	d.Minimise()
	if a := d.Scrolled(90); a.Prompt || a.Open || !a.Launcher {
		t.Fatalf("after minimising: %+v", a)
	}
}

package widget

// Channels a chatflow is published on.
const (
	ChannelWebsite = "website"
	ChannelMobile  = "mobile"
)

// Visit is what the widget knows about the page and visitor it runs for;
// targeting rules are evaluated against it.
type Visit struct {
	URL       string              // the page's full URL
	Query     map[string][]string // its query parameters (see ParseQuery)
	Referrer  string              // the visit's referrer: what brought the visitor to the site
	PageViews int                 // pages viewed in this visit, this one included
	Device    string              // desktop | tablet | mobile
	Known     bool                // an identified contact
	Contact   map[string]string   // the contact's properties, when known
}

// PickChatflow returns the chatflow the widget shows on visit v: among the
// published website chatflows of cfg that target v, the one with the highest
// priority; on a tie the one listed first. ok is false when none applies.
// The edge only publishes enabled chatflows, so every one listed is enabled.
func PickChatflow(cfg *Config, v Visit) (c *ChatflowConfig, ok bool) {
	for i := range cfg.Chatflows {
		f := &cfg.Chatflows[i]
		if f.Channel != ChannelWebsite || f.ID == "" || !Targets(f, v) {
			continue
		}
		if c == nil || f.Priority > c.Priority {
			c = f
		}
	}
	return c, c != nil
}

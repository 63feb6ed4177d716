package chatflow

import (
	"github.com/parleychat/parley/backend/store"
	"github.com/parleychat/parley/widget"
)

// Publish turns a chatflow into what the widget receives: only what a visitor
// may see (no ticket properties, no routing), with the heading resolved.
// agent is the heading's agent when Look.Heading.Kind is agent (nil otherwise).
func Publish(c *Chatflow, acct *store.Account, agent *store.User, presence widget.Presence) widget.ChatflowConfig {
	out := widget.ChatflowConfig{
		ID: c.PublicID, Channel: c.Channel, Type: c.Type, Language: c.Language, Priority: c.Priority,
		MobileTag: c.MobileTag, Look: c.Look, Welcome: c.Welcome.Messages[c.Language],
		EmailCapture: c.EmailCapture, Display: c.Display, Targeting: c.Targeting, Options: c.Options,
		Presence: presence,
	}
	out.Look.Heading.AgentID = 0 // internal ids stay internal
	switch {
	case c.Look.Heading.Kind == widget.HeadingAgent && agent != nil:
		out.HeadingName, out.HeadingImage = agent.Name, agent.AvatarURL
	default:
		out.HeadingName, out.HeadingImage = c.Look.Heading.BrandName, c.Look.Heading.ImageURL
		if out.HeadingName == "" {
			out.HeadingName = acct.CompanyName
		}
		if out.HeadingName == "" {
			out.HeadingName = acct.Name
		}
	}
	return out
}

package chatflow

import (
	"github.com/parleychat/parley/backend/internal/consent"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// Publish turns a chatflow into what the widget receives: only what a visitor
// may see (no ticket properties, no routing, no bot id), with the heading
// and the consent notices resolved. agent is the heading's agent when
// Look.Heading.Kind is agent (nil otherwise).
func Publish(c *Chatflow, acct *store.Account, agent *store.User, presence widget.Presence) widget.ChatflowConfig {
	out := widget.ChatflowConfig{
		ID: c.PublicID, Channel: c.Channel, Type: c.Type, Language: c.Language, Priority: c.Priority,
		MobileTag: c.MobileTag, Look: c.Look, Welcome: c.Welcome.Messages[c.Language],
		EmailCapture: c.EmailCapture, Display: c.Display, Targeting: c.Targeting, Options: c.Options,
		Presence: presence,
		Consents: Consents(c, acct),
		Help:     c.Options.HelpTab && c.Options.KnowledgeBaseID != 0,
	}
	out.Look.Heading.AgentID = 0 // internal ids stay internal
	out.Options.BotID = 0
	// The raw texts are resolved into Consents (defaults, links checked):
	// publishing them twice would only grow the config the edge caches.
	out.Options.CookieConsent.Text = ""
	out.Options.DataConsent.Text, out.Options.DataConsent.PrivacyURL = "", ""
	out.Options.CommunicationConsent.Label = ""
	switch {
	case c.Look.Heading.Kind == widget.HeadingAgent && agent != nil:
		out.HeadingName, out.HeadingImage = agent.Name, agent.AvatarURL
	default:
		out.HeadingName, out.HeadingImage = c.Look.Heading.BrandName, c.Look.Heading.ImageURL
		if id := c.Look.Heading.ImageID; id != "" {
			// A path on the edge: the widget asks the edge it came from.
			out.HeadingImage = widget.ImagePath(acct.PublicID, id)
		}
		if out.HeadingName == "" {
			out.HeadingName = acct.CompanyName
		}
		if out.HeadingName == "" {
			out.HeadingName = acct.Name
		}
	}
	return out
}

// Consents resolves the chatflow's consent notices (consent.Texts) into
// the published form.
func Consents(c *Chatflow, acct *store.Account) widget.Consents {
	p := consent.Texts(c.Language, c.Options, acct)
	return widget.Consents{Cookie: notice(p.Cookie), DataProcessing: notice(p.DataProcessing), Communication: notice(p.Communication)}
}

func notice(n *consent.Notice) *widget.ConsentNotice {
	if n == nil {
		return nil
	}
	parts := make([]widget.ConsentPart, len(n.Parts))
	for i, p := range n.Parts {
		parts[i] = widget.ConsentPart{Text: p.Text, Href: p.Href}
	}
	return &widget.ConsentNotice{Kind: n.Kind, Mode: n.Mode, Parts: parts, Accept: n.Accept, Decline: n.Decline, Version: n.Version}
}

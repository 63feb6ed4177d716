package chatflow

import (
	"slices"

	"github.com/parleychat/parley/backend/internal/consent"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/public/i18n"
	"github.com/parleychat/parley/widget"
)

// Publish turns a chatflow into what the widget receives: only what a visitor
// may see (no ticket properties, no routing, no bot id), with the heading
// and the consent notices resolved. agent is the heading's agent when
// Look.Heading.Kind is agent (nil otherwise).
func Publish(c *Chatflow, acct *store.Account, agent *store.User, presence widget.Presence) widget.ChatflowConfig {
	out := widget.ChatflowConfig{
		ID: c.PublicID, Channel: c.Channel, Type: c.Type, Language: c.Language, Priority: c.Priority,
		MobileTag: c.MobileTag, Look: c.Look, Welcome: WelcomeText(c, c.Language),
		EmailCapture: c.EmailCapture, Display: c.Display, Targeting: c.Targeting, Options: c.Options,
		Presence: presence,
		Consents: Consents(c, acct),
		Help:     c.Options.HelpTab && c.Options.KnowledgeBaseID != 0,
	}
	for _, l := range c.SpokenLanguages()[1:] {
		if out.Translations == nil {
			out.Translations = map[string]widget.Translation{}
		}
		out.Translations[l] = widget.Translation{Welcome: c.Welcome.Messages[l], Consents: ConsentsIn(c, acct, l)}
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

// WelcomeText is the chatflow's welcome message in lang: its own, else
// the language's default, so a prompt is never empty.
func WelcomeText(c *Chatflow, lang string) string {
	if w := c.Welcome.Messages[lang]; w != "" {
		return w
	}
	return i18n.Load(widget.Language(lang))["welcome"]
}

// SpokenLanguages are the languages the chatflow's widget may speak: its
// own first, then, when it follows the visitor's language, each other
// language it has a welcome message in.
func (c *Chatflow) SpokenLanguages() []string {
	out := []string{c.Language}
	if c.Options.LanguageChoice != widget.LanguageVisitor {
		return out
	}
	for _, l := range Languages {
		if l != c.Language && c.Welcome.Messages[l] != "" {
			out = append(out, l)
		}
	}
	return out
}

// Speaks returns lang when the chatflow's widget may speak it, else the
// chatflow's own language.
func (c *Chatflow) Speaks(lang string) string {
	if slices.Contains(c.SpokenLanguages(), lang) {
		return lang
	}
	return c.Language
}

// Consents resolves the chatflow's consent notices (consent.Texts) into
// the published form.
func Consents(c *Chatflow, acct *store.Account) widget.Consents {
	return ConsentsIn(c, acct, c.Language)
}

// ConsentsIn is Consents in language lang.
func ConsentsIn(c *Chatflow, acct *store.Account, lang string) widget.Consents {
	p := consent.Texts(lang, c.Options, acct)
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

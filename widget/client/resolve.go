// Package client is Parley's Go client for apps: it resolves a mobile tag to
// its chatflow, chats over the visitor protocol of widget/PROTOCOL.md, and
// reconnects and resumes on its own without losing or repeating a message.
//
// Its exported API keeps to what `gomobile bind` accepts (strings, bools,
// integers, errors, pointers to its own structs, and the Listener
// interface), so one implementation serves Go programs, Android and iOS.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/parleychat/parley/widget"
)

// Chatflow is the mobile chatflow a tag resolves to, with what an app needs
// to show the chat.
type Chatflow struct {
	ID        string // public id: the chatflow to name in NewChat
	Channel   string // "mobile"
	Type      string // live_agent | customer_agent | rule_bot
	Language  string // the chat's UI language (en, nl, de, fr, es)
	Priority  int
	MobileTag string

	HeadingName  string // the agent's or the brand's name to show in the heading
	HeadingImage string // its avatar or brand image, an absolute URL; may be empty
	AccentColor  string // #rrggbb, always valid
	Welcome      string // the welcome message, in Language

	BrandImage      string // the brand's image URL when the heading is the brand's (HeadingImage then shows it)
	BrandAlias      bool   // agents appear under the brand's name and image
	ShowCloseButton bool   // show an X that closes the chat screen
	KnowledgeBaseID int64  // the Help tab's (and customer agent's) knowledge base; 0 = none
	HelpTab         bool   // show the Help tab (Chatflow.Help)
	Attachments     bool   // the visitor may attach files (see Chat.SendFile)
	EmailCapture    string // never | always | when_offline: when to ask for an email address
	EmailPrompt     string // the sentence asking for it, in Language
	SurveyID        int64  // the satisfaction survey sent when a conversation closes; 0 = none
	// MarketingContacts: visitors who leave an address become marketing
	// contacts (say so where the address is asked).
	MarketingContacts bool

	PresenceState  string // available | away | offline | at_capacity
	PresenceText   string // the line to show about it; may be empty
	PresenceBackAt string // offline: RFC 3339 time the team is back
	PresenceHide   bool   // the chatflow asks to hide the chat entry point

	// JSON is the whole published configuration as the edge served it
	// (widget.ChatflowConfig), for settings this struct does not carry.
	JSON string

	cfg        widget.ChatflowConfig
	edge, site string
}

// Consent returns the notice of kind (cookie, data_processing,
// communication) the chatflow asks, or nil when that consent is off.
func (cf *Chatflow) Consent(kind string) *ConsentNotice {
	switch kind {
	case ConsentCookie:
		return newNotice(cf.cfg.Consents.Cookie)
	case ConsentDataProcessing:
		return newNotice(cf.cfg.Consents.DataProcessing)
	case ConsentCommunication:
		return newNotice(cf.cfg.Consents.Communication)
	}
	return nil
}

// Sentence is the widget's text key in the chatflow's language (see the
// package function Sentence).
func (cf *Chatflow) Sentence(key string) string { return Sentence(cf.Language, key) }

// NewChat returns a chat with this chatflow, on the edge and site it was
// resolved from: it knows the chatflow's consent notices, email capture,
// presence and language (the SDK's sentences are in it). It does not
// connect until Connect. l may be nil.
func (cf *Chatflow) NewChat(l Listener) (*Chat, error) {
	c, err := NewChat(cf.edge, cf.site, cf.ID, l)
	if err != nil {
		return nil, err
	}
	cfg := cf.cfg
	c.cf = &cfg
	c.tx = texts(cfg.Language)
	c.s.Lang = cfg.Language
	c.s.EmailCapture = cfg.EmailCapture
	c.s.Presence = cfg.Presence
	c.s.Consents = cfg.Consents
	return c, nil
}

// resolveTimeout bounds one Resolve.
const resolveTimeout = 15 * time.Second

// Resolve asks the edge at edgeURL (http[s]://host[:port]) which chatflow
// site's app gets for tag: the enabled mobile chatflow of highest priority
// with that tag. An unknown site or a tag no enabled chatflow has is an
// error that says so.
func Resolve(edgeURL, site, tag string) (*Chatflow, error) {
	base, err := httpBase(edgeURL)
	if err != nil {
		return nil, err
	}
	if site == "" || tag == "" {
		return nil, errors.New("parley: resolving a chatflow needs a site key and a mobile tag")
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	u := base + "/v1/sites/" + url.PathEscape(site) + "/mobile/" + url.PathEscape(tag)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("parley: cannot reach %s: %w", base, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("parley: reading the chatflow: %w", err)
	}
	switch res.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, fmt.Errorf("parley: site %q has no enabled mobile chatflow with tag %q", site, tag)
	default:
		var e struct{ Message string }
		json.Unmarshal(raw, &e)
		if e.Message == "" {
			e.Message = res.Status
		}
		return nil, fmt.Errorf("parley: the edge could not resolve tag %q: %s", tag, e.Message)
	}
	var cf widget.ChatflowConfig
	if err := json.Unmarshal(raw, &cf); err != nil || cf.ID == "" {
		return nil, fmt.Errorf("parley: the edge sent an unreadable chatflow (%v)", err)
	}
	if strings.HasPrefix(cf.HeadingImage, "/") && !strings.HasPrefix(cf.HeadingImage, "//") {
		cf.HeadingImage = base + cf.HeadingImage // an uploaded image, on the edge
	}
	prompt := strings.TrimSpace(cf.EmailCapture.Prompt[cf.Language])
	if prompt == "" {
		prompt = Sentence(cf.Language, "email_prompt")
	}
	if strings.HasPrefix(cf.HeadingImage, "/") && !strings.HasPrefix(cf.HeadingImage, "//") {
		cf.HeadingImage = base + cf.HeadingImage // an image uploaded to the account, served by the edge
	}
	brand := ""
	if cf.Look.Heading.Kind == widget.HeadingBrand {
		brand = cf.HeadingImage
	}
	return &Chatflow{
		BrandImage: brand, BrandAlias: cf.Look.BrandAlias, HelpTab: cf.Help && cf.Options.KnowledgeBaseID != 0,
		EmailPrompt: prompt, SurveyID: cf.Options.SurveyID, MarketingContacts: cf.Options.MarketingContacts, cfg: cf, edge: base, site: site,
		ID: cf.ID, Channel: cf.Channel, Type: cf.Type, Language: cf.Language, Priority: cf.Priority, MobileTag: cf.MobileTag,
		HeadingName: cf.HeadingName, HeadingImage: cf.HeadingImage, AccentColor: widget.Accent(cf.Look.AccentColor), Welcome: cf.Welcome,
		ShowCloseButton: cf.Look.ShowCloseButton, KnowledgeBaseID: cf.Options.KnowledgeBaseID, Attachments: cf.Options.Attachments,
		EmailCapture:  cf.EmailCapture.When,
		PresenceState: cf.Presence.State, PresenceText: cf.Presence.Text, PresenceBackAt: cf.Presence.BackAt, PresenceHide: cf.Presence.Hide,
		JSON: string(raw),
	}, nil
}

// httpBase checks an edge URL and returns it as http(s)://host without a
// trailing slash; ws(s) URLs are accepted too.
func httpBase(edgeURL string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(edgeURL))
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("parley: %q is not an edge URL like https://chat.example.com", edgeURL)
	}
	switch u.Scheme {
	case "http", "https":
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	default:
		return "", fmt.Errorf("parley: %q is not an edge URL like https://chat.example.com", edgeURL)
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.Path, "/"), nil
}

package widget

// The chatflow settings the widget acts on. The backend stores them as part
// of a chatflow (backend/internal/chatflow) and publishes them in Config; the widget
// evaluates them in the browser. Field names are the REST API's.

// Look is the widget's appearance.
type Look struct {
	AccentColor     string  `json:"accent_color"`      // #rrggbb
	Heading         Heading `json:"heading"`           // who the chat appears to come from
	BrandAlias      bool    `json:"brand_alias"`       // agents appear under the brand name and image
	ShowCloseButton bool    `json:"show_close_button"` // mobile: show the X
}

// Heading kinds.
const (
	HeadingAgent = "agent"
	HeadingBrand = "brand"
)

// Heading is the chat heading: one agent, or custom branding.
type Heading struct {
	Kind      string `json:"kind"`                 // agent | brand
	AgentID   int64  `json:"agent_id,omitempty"`   // kind agent: the user shown
	BrandName string `json:"brand_name,omitempty"` // kind brand
	ImageURL  string `json:"image_url,omitempty"`  // kind brand: image or GIF
	// ImageID is an uploaded image (kind brand, instead of ImageURL): the
	// SHA-256 the upload answered, published as ImagePath on the edge.
	ImageID string `json:"image_id,omitempty"`
}

// ImagePath is where the edge serves site's uploaded image id (an
// immutable address: the id is the SHA-256 of the bytes).
func ImagePath(site, id string) string { return "/v1/sites/" + site + "/images/" + id }

// Email capture modes.
const (
	EmailNever       = "never"
	EmailAlways      = "always"
	EmailWhenOffline = "when_offline"
)

// Welcome holds the welcome message per language.
type Welcome struct {
	Messages map[string]string `json:"messages"` // language → text
}

// EmailCapture says when the widget asks for an email address.
type EmailCapture struct {
	When   string            `json:"when"`   // never | always | when_offline
	Prompt map[string]string `json:"prompt"` // language → text of the ask; empty uses the default
	// TranscriptAtClose emails the visitor the transcript when the
	// conversation closes (to the address they left).
	TranscriptAtClose bool `json:"transcript_at_close,omitempty"`
}

// Desktop and mobile display behaviours.
const (
	DisplayPrompt        = "prompt"          // pop the welcome message above the launcher
	DisplayLauncherOnly  = "launcher_only"   // only the launcher
	DisplayOpenOnTrigger = "open_on_trigger" // desktop: welcome message, open the chat when a trigger fires
)

// Display is how and when the widget appears.
type Display struct {
	Desktop  string   `json:"desktop"` // prompt | launcher_only | open_on_trigger
	Mobile   string   `json:"mobile"`  // prompt | launcher_only
	Triggers Triggers `json:"triggers"`
}

// Triggers open the chat (or show the prompt); zero values are off.
type Triggers struct {
	ExitIntent    bool `json:"exit_intent"`
	TimeOnPage    int  `json:"time_on_page"`   // seconds, 0 = off
	ScrollPercent int  `json:"scroll_percent"` // 1-100, 0 = off
}

// Rule kinds.
const (
	RuleURL             = "url"              // the page URL
	RuleQueryParam      = "query_param"      // a query parameter Name with Value
	RuleDevice          = "device"           // desktop | tablet | mobile
	RuleVisitor         = "visitor"          // known | unknown
	RuleContactProperty = "contact_property" // property Name compared with Value
	RuleReferrer        = "referrer"         // the page that brought the visitor to the site (this visit's first page's referrer)
	RulePageViews       = "page_views"       // pages viewed in this visit, this one included
)

// Rule operators.
const (
	OpIs          = "is"
	OpIsNot       = "is_not"
	OpContains    = "contains"
	OpNotContains = "not_contains"
	OpStartsWith  = "starts_with"
	OpEndsWith    = "ends_with"
	OpWildcard    = "wildcard" // * matches any run of characters
	// OpGreaterThan and OpLessThan compare numbers (page views).
	OpGreaterThan = "greater_than"
	OpLessThan    = "less_than"
)

// Rule is one targeting condition.
type Rule struct {
	Kind  string `json:"kind"`
	Op    string `json:"op"`
	Name  string `json:"name,omitempty"`
	Value string `json:"value"`
}

// RuleGroup's rules are AND-ed.
type RuleGroup struct {
	Rules []Rule `json:"rules"`
}

// Targeting picks the pages and visitors a chatflow shows for:
// groups are OR-ed (no groups means every page), and any matching exclusion
// hides the chatflow whatever the groups say.
type Targeting struct {
	Groups     []RuleGroup `json:"groups"`
	Exclusions []Rule      `json:"exclusions"`
}

// Cookie consent moments.
const (
	ConsentBeforeChat = "before_chat"
	ConsentExitIntent = "exit_intent"
)

// Data-processing consent types.
const (
	ConsentExplicit           = "explicit"
	ConsentLegitimateInterest = "legitimate_interest"
)

// CookieConsent is the banner shown before any visitor cookie is set.
type CookieConsent struct {
	Enabled bool   `json:"enabled"`
	When    string `json:"when"` // before_chat | exit_intent
	Text    string `json:"text"` // empty uses the default text of the language
}

// DataConsent is the data-processing consent.
type DataConsent struct {
	Enabled    bool   `json:"enabled"`
	Type       string `json:"type"` // explicit | legitimate_interest
	Text       string `json:"text"` // empty uses the default text of the language
	PrivacyURL string `json:"privacy_url"`
}

// CommunicationConsent offers a subscription checkbox.
type CommunicationConsent struct {
	Enabled            bool   `json:"enabled"`
	SubscriptionTypeID int64  `json:"subscription_type_id,omitempty"`
	Label              string `json:"label"` // empty uses the personalised default
}

// Options are the chatflow's options.
type Options struct {
	CookieConsent        CookieConsent        `json:"cookie_consent"`
	DataConsent          DataConsent          `json:"data_consent"`
	CommunicationConsent CommunicationConsent `json:"communication_consent"`
	MarketingContacts    bool                 `json:"marketing_contacts"`
	SurveyID             int64                `json:"survey_id,omitempty"`         // CSAT survey sent on close; 0 = none
	KnowledgeBaseID      int64                `json:"knowledge_base_id,omitempty"` // Help tab and customer agent; 0 = none
	// HelpTab shows the knowledge base in a Help tab (with KnowledgeBaseID set).
	HelpTab     bool  `json:"help_tab"`
	Attachments bool  `json:"attachments"`
	BotID       int64 `json:"bot_id,omitempty"` // rule_bot chatflows: the bot whose flow runs; 0 = none
	// LanguageChoice is which language the widget speaks: LanguageChatflow
	// (always the chatflow's) or LanguageVisitor (the visitor's browser
	// language when the chatflow has a welcome message in it).
	LanguageChoice string `json:"language_choice"`
}

// Language choices of Options.LanguageChoice.
const (
	LanguageChatflow = "chatflow"
	LanguageVisitor  = "visitor"
)

// Translation is a chatflow's welcome and consent notices in another
// language the widget may speak to a visitor whose browser prefers it.
type Translation struct {
	Welcome  string   `json:"welcome"`
	Consents Consents `json:"consents"`
}

// Availability states the server computes.
const (
	StateAvailable  = "available"
	StateAway       = "away"
	StateOffline    = "offline"
	StateAtCapacity = "at_capacity"
)

// Presence is the availability the widget shows, computed by the server.
type Presence struct {
	State  string `json:"state"`             // available | away | offline | at_capacity
	Text   string `json:"text,omitempty"`    // reply time, away, back-at or wait text to show; empty shows nothing
	BackAt string `json:"back_at,omitempty"` // offline: RFC 3339 time the team is back
	Hide   bool   `json:"hide,omitempty"`    // hide the launcher
}

// ChatflowConfig is one published chatflow as the widget receives it.
type ChatflowConfig struct {
	ID           string       `json:"id"` // public id
	Channel      string       `json:"channel"`
	Type         string       `json:"type"`
	Language     string       `json:"language"`
	Priority     int          `json:"priority"`
	MobileTag    string       `json:"mobile_tag,omitempty"`
	Look         Look         `json:"look"`
	HeadingName  string       `json:"heading_name"`  // resolved agent or brand name
	HeadingImage string       `json:"heading_image"` // resolved avatar or brand image
	Welcome      string       `json:"welcome"`       // in the chatflow's language
	EmailCapture EmailCapture `json:"email_capture"`
	Display      Display      `json:"display"`
	Targeting    Targeting    `json:"targeting"`
	Options      Options      `json:"options"`
	Presence     Presence     `json:"presence"`
	// Consents are the consent notices to show, resolved (default or own
	// text, links checked); a missing notice is a consent turned off. The
	// texts in Options are left out of the published form: these replace them.
	Consents Consents `json:"consents"`
	// Help says to show the Help tab for Options.KnowledgeBaseID.
	Help bool `json:"help,omitempty"`
	// Translations are the other languages the widget may speak (the
	// chatflow follows the visitor's language and has a welcome in them).
	Translations map[string]Translation `json:"translations,omitempty"`
}

// SpeakVisitorLanguage switches c to the first of the browser's languages
// (BCP 47 tags, most preferred first) that c speaks: its own, or one of
// its Translations. It returns the language c speaks now.
func SpeakVisitorLanguage(c *ChatflowConfig, browser []string) string {
	for _, tag := range browser {
		l, _, _ := cut(Lower(tag), "-")
		if l == c.Language {
			break
		}
		if t, ok := c.Translations[l]; ok {
			c.Language, c.Welcome, c.Consents = l, t.Welcome, t.Consents
			break
		}
	}
	return c.Language
}

// ConsentPart is one piece of a consent text: plain text (show it as
// text, never as HTML), or a link when Href is set (always http or https).
type ConsentPart struct {
	Text string `json:"text"`
	Href string `json:"href,omitempty"`
}

// ConsentNotice is one consent as the widget shows it.
type ConsentNotice struct {
	Kind    string        `json:"kind"`              // cookie | data_processing | communication
	Mode    string        `json:"mode,omitempty"`    // cookie: before_chat | exit_intent; data_processing: explicit | legitimate_interest
	Parts   []ConsentPart `json:"parts"`             // the text, in order
	Accept  string        `json:"accept,omitempty"`  // accept button label
	Decline string        `json:"decline,omitempty"` // decline button label
	// Version identifies the exact text: send it back in the consent frame.
	Version string `json:"version"`
}

// Consents are a chatflow's consent notices; nil is off.
type Consents struct {
	Cookie         *ConsentNotice `json:"cookie,omitempty"`
	DataProcessing *ConsentNotice `json:"data_processing,omitempty"`
	Communication  *ConsentNotice `json:"communication,omitempty"`
}

// Config is what the edge serves a site: its enabled chatflows.
type Config struct {
	Site      string           `json:"site"`
	Chatflows []ChatflowConfig `json:"chatflows"`
}

package widget

// ProtocolVersion is the version of the visitor WebSocket protocol. A client
// sends it in its hello frame; the server refuses versions it does not speak.
const ProtocolVersion = 1

// Frame types a client (the widget or an app) sends.
const (
	FrameHello  = "hello"  // first frame: site, chatflow, token, conversation, last_seq, page
	FrameSend   = "send"   // a visitor message: id (client-chosen, unique per conversation), text
	FrameTyping = "typing" // the visitor is typing (at most one every TypingEvery); the server sends it too: name, from
	FrameRead   = "read"   // the visitor has read up to seq; the server sends it too: from (agent), seq
	FramePing   = "ping"   // keep-alive; answered with pong
	FrameEmail  = "email"  // the visitor leaves an email address: id, email; the server answers with email when stored
	// FrameSurveyAnswer answers the survey of a closed conversation: survey,
	// score (1-5), comment; the server answers with survey_answer when stored.
	FrameSurveyAnswer = "survey_answer"
	// FrameConsent records the visitor's decision on a consent notice of the
	// published config: kind, decision, version, page; the server answers
	// with consent when stored.
	FrameConsent = "consent"
	// FrameTranscript asks for the conversation by email, to the address
	// left: id; the server answers with transcript once it is queued.
	FrameTranscript = "transcript"
	// FramePush registers the app's device push token (push_token,
	// platform) for the visitor, replacing an earlier one; an empty
	// push_token removes it. The server answers with push once stored.
	FramePush = "push"
)

// Frame types the server sends.
const (
	FrameWelcome = "welcome" // answer to hello: token, conversation (if any), last_seq
	FrameAck     = "ack"     // a send is durable: id, seq, conversation
	FrameMessage = "message" // a conversation event: seq, id, from, name, text, at
	FrameError   = "error"   // code and message; the socket stays open unless a close follows
	FramePong    = "pong"
	FrameStatus  = "status" // state: "reconnecting" (backend link lost) or "connected"
	// FramePresence is the chatflow's availability: state, text, back_at,
	// hide. Sent after welcome and whenever it changes.
	FramePresence = "presence"
	// FrameSurvey asks the visitor to rate the conversation once it is
	// closed: survey, question, scale, allow_comment. Sent on close and on
	// every resume of a closed conversation until answered.
	FrameSurvey = "survey"
	// FrameClosed says the team closed the conversation: conversation,
	// last_seq (its last message's seq when it closed).
	// Sent once when it closes (before any survey) and on every hello
	// that resumes a closed conversation. The next send starts a new one.
	FrameClosed = "closed"
)

// Authors of a message frame.
const (
	FromVisitor = "visitor"
	FromAgent   = "agent"
	FromBot     = "bot"
	FromSystem  = "system"
)

// Error codes in error frames.
const (
	ErrBadFrame    = "bad_frame"    // not JSON, unknown type, missing field, invalid UTF-8
	ErrTooLong     = "too_long"     // text over the message size limit
	ErrForbidden   = "forbidden"    // the conversation belongs to another visitor
	ErrNotFound    = "not_found"    // unknown site, chatflow or conversation
	ErrRateLimited = "rate_limited" // too many frames; slow down
	ErrUnavailable = "unavailable"  // the backend or database is down; retry later
	ErrNeedHello   = "need_hello"   // a frame other than hello came first
	ErrVersion     = "version"      // unsupported protocol version
	ErrConvClosed  = "closed"       // the conversation is closed; a new send starts a new one
	ErrBadEmail    = "bad_email"    // an email frame whose address is not a valid email address
	ErrNoEmail     = "no_email"     // a transcript frame before an address and a conversation exist
	ErrNoSurvey    = "no_survey"    // a survey_answer with no survey waiting for it (not closed, none linked, another survey)
	ErrBadAnswer   = "bad_answer"   // a survey_answer with a score outside 1-5 or a comment the survey does not take
	// ErrStaleConsent refuses a consent whose version is not the current
	// text (it changed after the page loaded, or the consent is off):
	// refetch the config and ask again. Nothing is recorded.
	ErrStaleConsent = "stale_consent"
	// ErrConsentRequired refuses a send on a chatflow with explicit
	// data-processing consent before the visitor agreed; nothing is stored.
	ErrConsentRequired = "consent_required"
	// ErrOriginNotAllowed refuses a page whose host the account's allowed
	// domains do not name (also for Origin "null" or garbage while the
	// list is not empty); nothing is stored. Reconnecting cannot help.
	ErrOriginNotAllowed = "origin_not_allowed"
	// ErrTooManySockets refuses a hello whose visitor token already holds
	// the most sockets a backend allows; close 4429 follows.
	ErrTooManySockets = "too_many_sockets"
	// ErrTooManyVisitors refuses a hello without a known token when the
	// client address made the most new visitors its window allows; close
	// 4429 follows.
	ErrTooManyVisitors = "too_many_visitors"
)

// Consent kinds of a consent frame (and of the published notices).
const (
	ConsentCookie         = "cookie"
	ConsentDataProcessing = "data_processing"
	ConsentCommunication  = "communication"
)

// Decisions of a consent frame.
const (
	DecisionGranted = "granted"
	DecisionRefused = "refused"
)

// WebSocket close codes the server uses (4000-4999 are the application's).
const (
	CloseTooBig = 1009 // a frame over the size limit (RFC 6455 "message too big")
	// CloseServiceRestart: this edge is shutting down for a deploy; reconnect
	// at once (the address leads to another edge, or to this one restarted).
	CloseServiceRestart = 1012
	CloseTryAgain       = 1013 // the backend is unreachable; reconnect with backoff
	CloseBadFrame       = 4400
	CloseForbidden      = 4403
	CloseNotFound       = 4404
	CloseRateLimited    = 4429
	// CloseOriginNotAllowed ends a socket whose hello came from a page
	// the account does not allow: do not reconnect.
	CloseOriginNotAllowed = 4401
)

// Frame is every frame of the visitor protocol: one JSON object with a "type"
// and the fields that type uses. One flat shape keeps decoding trivial in Go,
// in the browser's JSON object and in app SDKs.
type Frame struct {
	Type string `json:"type"`
	V    int    `json:"v,omitempty"`

	// hello
	Site     string `json:"site,omitempty"`     // the account's public id (the script tag's data-site)
	Chatflow string `json:"chatflow,omitempty"` // the chatflow's public id
	Token    string `json:"token,omitempty"`    // visitor token; empty for a new visitor
	Page     string `json:"page,omitempty"`     // hello; consent: the page the decision was made on
	Referrer string `json:"referrer,omitempty"`
	// hello: an identified visitor's email (with Email) and the token the
	// site's server got for it.
	IDToken string `json:"id_token,omitempty"`
	// hello: the token of an email's reopen link (#parley-resume=…): the
	// server continues that conversation for this visitor.
	Resume string `json:"resume,omitempty"`
	// hello: the language the client speaks to the visitor (the chatflow's,
	// or one of its translations): consent notices are judged in it.
	Language string `json:"language,omitempty"`

	// welcome: identification's outcome. Identified says the visitor chats
	// as the contact of the hello's email; Properties are that contact's
	// properties (for contact-property targeting); Warning is a sentence
	// for the page's console when the token did not identify anyone.
	Identified bool        `json:"identified,omitempty"`
	Properties *Properties `json:"properties,omitempty"`
	Warning    string      `json:"warning,omitempty"`

	// hello, welcome, ack, message
	Conversation string `json:"conversation,omitempty"` // conversation public id
	LastSeq      int64  `json:"last_seq,omitempty"`     // hello: last seq seen; welcome: current last seq

	// send, ack, message, read
	ID     string `json:"id,omitempty"` // client message id
	Seq    int64  `json:"seq,omitempty"`
	Text   string `json:"text,omitempty"`
	From   string `json:"from,omitempty"`
	Name   string `json:"name,omitempty"`
	Avatar string `json:"avatar,omitempty"`
	At     string `json:"at,omitempty"` // RFC 3339, UTC

	// error, status
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	State   string `json:"state,omitempty"` // status; presence: available | away | offline | at_capacity

	// presence (with State, and Text for the line to show)
	BackAt string `json:"back_at,omitempty"` // offline: RFC 3339 time the team is back
	Hide   bool   `json:"hide,omitempty"`    // hide the launcher

	// email (both ways), welcome (the address already left, if any),
	// hello (an identified visitor's email, with IDToken)
	Email string `json:"email,omitempty"`

	// survey, survey_answer
	Survey       int64  `json:"survey,omitempty"`        // the survey's id
	Question     string `json:"question,omitempty"`      // survey: the question to show
	Scale        string `json:"scale,omitempty"`         // survey: "numeric" (1-5) or "emoji" (five faces, 1-5)
	AllowComment bool   `json:"allow_comment,omitempty"` // survey: offer a comment box
	Score        int    `json:"score,omitempty"`         // survey_answer: 1 (worst) to 5 (best)
	Comment      string `json:"comment,omitempty"`       // survey_answer: optional text

	// message: the file the message carries, if any
	Attachment *Attachment `json:"attachment,omitempty"`

	// message (bot): answers to offer as buttons; the visitor picks one by
	// sending its text. Link (and LinkTitle) name the help article a
	// customer agent's answer comes from (a path on the edge).
	QuickReplies *QuickReplies `json:"quick_replies,omitempty"`
	Link         string        `json:"link,omitempty"`
	LinkTitle    string        `json:"link_title,omitempty"`

	// consent (both ways)
	Kind     string `json:"kind,omitempty"`     // cookie | data_processing | communication
	Decision string `json:"decision,omitempty"` // granted | refused
	Version  string `json:"version,omitempty"`  // the notice's version from the published config

	// push (apps only, both ways): the device's push token and its
	// platform (apns | fcm). Apps encode this frame with encoding/json.
	PushToken string `json:"push_token,omitempty"`
	Platform  string `json:"platform,omitempty"`
}

// Properties are an identified contact's properties by name, as
// contact-property targeting rules compare them. (Frame holds a pointer
// so frames stay comparable with ==.)
type Properties map[string]string

// QuickReplies are the answers a bot offers as buttons, in order.
type QuickReplies []string

// Attachment describes a file sent in a conversation. Its bytes are
// fetched over HTTP from URL with the visitor token (PROTOCOL.md).
type Attachment struct {
	ID   string `json:"id"`   // the attachment's public id
	Name string `json:"name"` // file name as uploaded: untrusted text
	Type string `json:"type"` // MIME type, checked by the server against its allow list
	Size int64  `json:"size"` // bytes
	URL  string `json:"url"`  // path on the edge to download it from
}

// Survey scales of a survey frame.
const (
	ScaleNumeric = "numeric"
	ScaleEmoji   = "emoji"
)

// MaxFrameBytes is the default limit on one visitor frame; the edge closes a
// socket that sends more with CloseTooBig.
const MaxFrameBytes = 16 << 10

// MaxTextRunes is the default limit on a message's text.
const MaxTextRunes = 4000

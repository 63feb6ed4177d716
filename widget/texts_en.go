//go:build !js

package widget

// builtinTexts is English, for native builds; public/i18n/en.json holds the
// same (a test checks) for the browser.
var builtinTexts = Texts{
	"chat":                "Chat",
	"open":                "Open chat",
	"close":               "Close chat",
	"minimise":            "Minimise chat",
	"dismiss":             "Dismiss",
	"message":             "Message",
	"placeholder":         "Write a message…",
	"send":                "Send",
	"save":                "Save",
	"email_label":         "Email address",
	"seen":                "Seen",
	"unread":              "{n} unread",
	"not_sent":            "Not sent: {reason}",
	"someone":             "Someone",
	"typing":              "{name} is typing…",
	"connecting":          "Connecting…",
	"reconnecting":        "Reconnecting…",
	"unavailable":         "Chat is not available right now.",
	"empty":               "Type a message first.",
	"err_too_long":        "That message is too long. Please shorten it to {max} characters or fewer.",
	"err_rate_limited":    "You are sending messages too quickly. Please wait a moment.",
	"err_unavailable":     "Chat is temporarily unavailable. Your messages will be sent when it is back.",
	"err_forbidden":       "This conversation cannot be continued here. Starting a new one.",
	"err_closed":          "This conversation was closed. Your next message starts a new one.",
	"err_bad_email":       "That does not look like an email address. Please check it, e.g. name@example.com.",
	"err_other":           "Something went wrong. Please try again.",
	"email_prompt":        "Leave your email address so we can answer you by email too.",
	"offline_before":      "No one is available right now. Leave a message and the team will answer later.",
	"offline_after":       "Thanks! The team is away right now and will answer your message later.",
	"offline_after_email": "Thanks! The team is away right now and will answer your message later, by email at {email}.",
	"email_saved":         "Thanks! If we miss you here, we will answer by email at {email}.",
}

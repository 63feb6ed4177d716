package widget

import "strconv"

// DefaultAccent is the accent colour used when a chatflow sets none (or an
// invalid one).
const DefaultAccent = "#2f6fed"

// Accent returns color if it is a #rrggbb colour, else DefaultAccent. The
// widget writes the colour into CSS, so anything else must never get through.
func Accent(color string) string {
	if len(color) != 7 || color[0] != '#' {
		return DefaultAccent
	}
	for i := 1; i < 7; i++ {
		c := color[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return DefaultAccent
		}
	}
	return color
}

// TextOn returns the text colour readable on background color (a #rrggbb
// colour as Accent returns): "#ffffff" on dark colours, "#111111" on light.
func TextOn(color string) string {
	color = Accent(color)
	var lum float64
	for i, w := range []float64{0.299, 0.587, 0.114} {
		v, _ := strconv.ParseUint(color[1+2*i:3+2*i], 16, 8)
		lum += w * float64(v)
	}
	if lum > 160 {
		return "#111111"
	}
	return "#ffffff"
}

// StatusText is the status-line sentence for a connection state; empty
// when there is nothing to say.
func StatusText(s ConnState) string {
	switch s {
	case ConnConnecting:
		return "Connecting…"
	case ConnReconnecting:
		return "Reconnecting…"
	case ConnUnavailable:
		return "Chat is not available right now."
	}
	return ""
}

// ErrorText turns an error code of the protocol into a sentence a visitor
// understands.
func ErrorText(code string) string {
	switch code {
	case ErrTooLong:
		return "That message is too long. Please shorten it to " + strconv.Itoa(MaxTextRunes) + " characters or fewer."
	case ErrRateLimited:
		return "You are sending messages too quickly. Please wait a moment."
	case ErrUnavailable:
		return "Chat is temporarily unavailable. Your messages will be sent when it is back."
	case ErrForbidden:
		return "This conversation cannot be continued here. Starting a new one."
	case ErrNotFound:
		return "Chat is not available right now."
	case ErrConvClosed:
		return "This conversation was closed. Your next message starts a new one."
	case ErrBadEmail:
		return "That does not look like an email address. Please check it, e.g. name@example.com."
	}
	return "Something went wrong. Please try again."
}

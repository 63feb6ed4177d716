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

// TextOn returns the text colour for background color (a #rrggbb colour as
// Accent returns): white when it reaches WCAG AA's 4.5:1 for normal text
// (brand colours mostly want white), else black or white, whichever
// contrasts more; one of the two always reaches at least 4.58:1.
func TextOn(color string) string {
	w := Contrast(color, "#ffffff")
	if w >= 4.5 || w >= Contrast(color, "#000000") {
		return "#ffffff"
	}
	return "#000000"
}

// Contrast is the WCAG 2 contrast ratio of two #rrggbb colours (1 to 21).
func Contrast(a, b string) float64 {
	la, lb := luminance(Accent(a)), luminance(Accent(b))
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// pow24 is x to the power 2.4 for x in (0, 1]: the fifth root of x¹² by
// Newton's method, which starts above the root (x² ≥ x^2.4) and so falls
// to it monotonically. (math.Pow would add kilobytes to widget.wasm.)
func pow24(x float64) float64 {
	x2 := x * x
	x4 := x2 * x2
	a := x4 * x4 * x4
	y := x2
	for i := 0; i < 40; i++ {
		y4 := y * y * y * y
		y = (4*y + a/y4) / 5
	}
	return y
}

// luminance is WCAG 2's relative luminance of a valid #rrggbb colour.
func luminance(color string) float64 {
	var l float64
	for i, w := range [3]float64{0.2126, 0.7152, 0.0722} {
		c := float64(unhex(color[1+2*i])<<4|unhex(color[2+2*i])) / 255
		if c <= 0.04045 {
			c /= 12.92
		} else {
			c = pow24((c + 0.055) / 1.055)
		}
		l += w * c
	}
	return l
}

// StatusText is the status-line sentence for a connection state; empty
// when there is nothing to say.
func StatusText(s ConnState) string {
	switch s {
	case ConnConnecting:
		return T("connecting")
	case ConnReconnecting:
		return T("reconnecting")
	case ConnUnavailable:
		return T("unavailable")
	}
	return ""
}

// ErrorText turns an error code of the protocol into a sentence a visitor
// understands, in the language in use.
func ErrorText(code string) string {
	switch code {
	case ErrTooLong:
		return T("err_too_long", "max", strconv.Itoa(MaxTextRunes))
	case ErrRateLimited, ErrUnavailable, ErrForbidden, ErrConvClosed, ErrBadEmail, ErrConsentRequired, ErrStaleConsent, ErrNoEmail:
		return T("err_" + code)
	case ErrBadAnswer:
		return T("err_bad_answer", "max", strconv.Itoa(MaxSurveyComment))
	case UploadTooLarge, UploadBadType:
		return T("err_" + code)
	case ErrNotFound:
		return T("unavailable")
	}
	return T("err_other")
}

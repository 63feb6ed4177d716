package chatflow

import (
	"regexp"
	"strings"
	"time"
)

// MaxTimezoneLen bounds an IANA zone name.
const MaxTimezoneLen = 64

// zoneName is the shape of an IANA zone name: Area/Location segments.
var zoneName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$`)

// ValidTimezone reports whether name is an IANA time zone that loads here,
// the zone office hours are kept in: not "" or "Local" (which
// time.LoadLocation accepts as UTC and the server's zone), and not the
// posix/ and right/ copies some systems keep beside the database (the
// embedded one, time/tzdata, has neither).
func ValidTimezone(name string) bool {
	if name == "" || name == "Local" || len(name) > MaxTimezoneLen || !zoneName.MatchString(name) ||
		strings.HasPrefix(name, "posix/") || strings.HasPrefix(name, "right/") {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

// Package public holds the static files Parley serves. The agent inbox's
// stylesheet and script are embedded so the backend binary serves them
// without a files folder next to it.
package public

import "embed"

// Inbox holds the inbox pages' assets under "inbox/" (inbox.css, inbox.js);
// the backend serves them at /static/inbox/.
//
//go:embed inbox
var Inbox embed.FS

package consent

import (
	"context"
	"errors"

	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// Processing is a visitor's standing on data processing for one chatflow:
// whether what they send may be stored, and the version (and language) of
// the notice they agreed to, when they agreed.
type Processing struct {
	Allowed  bool
	Version  string // the agreed notice's version; "" when not agreed
	Language string // the language of that notice
}

// Required reports whether the chatflow's visitors must agree before
// anything they send is stored: explicit data-processing consent.
func Required(opts widget.Options) bool {
	o := opts.DataConsent
	return o.Enabled && o.Type == widget.ConsentExplicit
}

// Agreed reports whether a grant of the notice of version in language is
// a grant of the chatflow's current text (a grant of an earlier text does
// not count).
func Agreed(language string, opts widget.Options, acct *store.Account, version string) bool {
	n := Texts(language, opts, acct).DataProcessing
	return n != nil && version != "" && n.Version == version
}

// MayProcess is the one rule every path that takes a visitor's data (a
// message, a file, an address, a survey answer, an email reply) follows:
// allowed, unless the chatflow asks explicit data-processing consent and
// the visitor's latest decision on it is not a grant of the current text
// (in the language it was shown in). A refusal after a grant withdraws it.
func MayProcess(ctx context.Context, st *store.Store, acct *store.Account, opts widget.Options, chatflowID, visitorID int64) (Processing, error) {
	if !Required(opts) {
		return Processing{Allowed: true}, nil
	}
	c, err := st.LatestConsent(ctx, acct.ID, visitorID, chatflowID, store.ConsentDataProcessing)
	if errors.Is(err, store.ErrNotFound) {
		return Processing{}, nil
	}
	if err != nil {
		return Processing{}, err
	}
	n := Texts(c.Language, opts, acct).DataProcessing
	if n == nil || c.Decision != store.ConsentGranted || c.TextHash != store.TextHash(n.Text) {
		return Processing{}, nil
	}
	return Processing{Allowed: true, Version: n.Version, Language: c.Language}, nil
}

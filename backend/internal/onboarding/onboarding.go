// Package onboarding creates an account of one's own: the first-run setup
// page and `parley-backend create-account` both go through Create, which
// validates the answers and makes, in one transaction, the account with a
// random site key and its allowed domains, an inbox, a published website
// chatflow, the first admin (with a seat) and an admin API key. It also
// holds the install snippet (script tag and CSP lines) and the links of
// first-run setup and of agents' invitations, so each is built in one place.
package onboarding

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/password"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/proxies"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/internal/origins"
)

// Paths of the pages this package builds links to (served by backend/internal/inbox;
// the edge proxies both to the backend).
const (
	SetupPath      = "/setup"
	InvitationPath = "/inbox/invite/"
)

// DefaultInvitationTTL is how long an invitation link works.
const DefaultInvitationTTL = 7 * 24 * time.Hour

// Input is what a new account is made from. Field names in errors are the
// JSON names below (the setup form's fields and, with dashes, the flags).
type Input struct {
	Company       string   `json:"company"`
	Domains       []string `json:"domains"`  // host names where the chat may run (widget/origins)
	Timezone      string   `json:"timezone"` // IANA, the zone of office hours
	Language      string   `json:"language"` // of the chatflow and its welcome message; "" is English
	AdminName     string   `json:"admin_name"`
	AdminEmail    string   `json:"admin_email"`
	AdminPassword string   `json:"admin_password"`
}

// Result is what Create made; APIKey is shown once and never again.
type Result struct {
	AccountID   int64    `json:"account_id"`
	SiteKey     string   `json:"site_key"`
	InboxID     int64    `json:"inbox_id"`
	ChatflowID  string   `json:"chatflow_id"`
	AdminUserID int64    `json:"admin_user_id"`
	AdminEmail  string   `json:"admin_email"`
	APIKey      string   `json:"api_key"`
	ScriptTag   string   `json:"script_tag"`
	CSP         []string `json:"csp"`
}

// Welcome is the chatflow's first welcome message, by language.
var Welcome = map[string]string{
	"en": "Hi! How can we help you today?",
	"nl": "Hallo! Waarmee kunnen we je helpen?",
	"de": "Hallo! Wie können wir Ihnen helfen?",
	"fr": "Bonjour ! Comment pouvons-nous vous aider ?",
	"es": "¡Hola! ¿En qué podemos ayudarte?",
}

// SplitDomains reads a list of host names typed as one text: separated by
// commas, spaces or line breaks.
func SplitDomains(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || unicode.IsSpace(r) })
}

// Validate checks in and returns it cleaned (texts trimmed, domains
// normalized without duplicates, language defaulted), or problem.Errors
// naming each bad field with a sentence meant for the person who typed it.
func Validate(in Input) (Input, error) {
	var e problem.Errors
	in.Company = strings.TrimSpace(in.Company)
	in.Timezone = strings.TrimSpace(in.Timezone)
	in.Language = strings.ToLower(strings.TrimSpace(in.Language))
	in.AdminName = strings.TrimSpace(in.AdminName)
	in.AdminEmail = strings.TrimSpace(in.AdminEmail)
	if in.Language == "" {
		in.Language = "en"
	}

	name := func(field, v, what string) {
		switch {
		case v == "":
			e.Add(field, "Enter "+what+".")
		case !utf8.ValidString(v) || utf8.RuneCountInString(v) > chatflow.MaxNameLen || strings.ContainsFunc(v, unicode.IsControl):
			e.Add(field, "Use one line of at most "+strconv.Itoa(chatflow.MaxNameLen)+" characters.")
		}
	}
	name("company", in.Company, "your company's name")
	name("admin_name", in.AdminName, "your name")

	var domains, bad []string
	for _, d := range in.Domains {
		n, err := origins.Normalize(d)
		if err != nil {
			bad = append(bad, strconv.Quote(d)+" "+err.Error())
			continue
		}
		if !slices.Contains(domains, n) {
			domains = append(domains, n)
		}
	}
	switch {
	case len(bad) > 0:
		e.Add("domains", "Each entry must be a host name like shop.example or *.shop.example: "+strings.Join(bad, "; ")+".")
	case len(domains) == 0:
		e.Add("domains", "Enter the domain of your website, like shop.example (more than one separated by commas).")
	case len(domains) > origins.MaxEntries:
		e.Add("domains", "List at most "+strconv.Itoa(origins.MaxEntries)+" domains.")
	}
	in.Domains = domains

	if !chatflow.ValidTimezone(in.Timezone) {
		e.Add("timezone", "Choose a time zone by its IANA name, like Europe/Amsterdam or UTC.")
	}
	if !slices.Contains(chatflow.Languages, in.Language) {
		e.Add("language", "Choose one of the languages the chat speaks: "+strings.Join(chatflow.Languages, ", ")+".")
	}
	if addr, err := mail.ParseAddress(in.AdminEmail); err != nil || addr.Address != in.AdminEmail || len(in.AdminEmail) > 254 {
		e.Add("admin_email", "Enter an email address like ana@example.com.")
	}
	if err := password.Check(in.AdminPassword); err != nil {
		e.Add("admin_password", "The password "+err.Error()+".")
	}
	if err := e.Err(); err != nil {
		return in, err
	}
	return in, nil
}

// Chatflow is the website chatflow a new account starts with: live chat in
// lang on inbox, published, open while an agent is available, both consents
// on, a welcome message in its language and the company as its heading.
func Chatflow(company, lang string, inbox int64) chatflow.Chatflow {
	cf := chatflow.Default()
	cf.Name, cf.InboxID, cf.Language, cf.Enabled = "Website chat", inbox, lang, true
	cf.Look.Heading.BrandName = company
	cf.Welcome.Messages = map[string]string{lang: Welcome[lang]}
	cf.Availability.Mode = chatflow.ModeUserAvailability
	cf.Availability.ReplyTime = "few_minutes"
	cf.Options.CookieConsent.Enabled = true
	cf.Options.DataConsent.Enabled = true
	return cf
}

// Options are the parts of Create that are not the account's answers.
type Options struct {
	// PublicURL is the edge's public address (https://chat.example.com),
	// for the script tag and the CSP lines.
	PublicURL string
	// SetupToken makes this the first-run setup: refused once an account
	// exists (store.ErrAlreadySetUp) or for a token no backend handed out
	// (store.ErrSetupToken).
	SetupToken string
}

// Create validates in and makes the account with everything it starts
// with, in one transaction. Bad answers are problem.Errors (nothing is
// made). Emails are unique per account only: an admin email that signs in
// to another account makes a separate user.
func Create(ctx context.Context, st *store.Store, in Input, o Options) (*Result, error) {
	in, err := Validate(in)
	if err != nil {
		return nil, err
	}
	hash, err := password.Hash(in.AdminPassword)
	if err != nil {
		return nil, err
	}
	row, err := chatflowRow(in)
	if err != nil {
		return nil, err
	}
	made, err := st.CreateAccountWithAdmin(ctx, store.NewAccount{
		Account: store.Account{Name: in.Company, CompanyName: in.Company, CompanyDomain: companyDomain(in.Domains), Timezone: in.Timezone},
		Domains: in.Domains,
		Admin: store.User{Email: in.AdminEmail, Name: in.AdminName, PasswordHash: hash,
			Status: store.UserAvailable, MaxOpenChats: 5},
		Inbox:      "Support",
		Chatflow:   *row,
		KeyName:    "first admin key",
		SetupToken: o.SetupToken,
	})
	if err != nil {
		return nil, err
	}
	return &Result{
		AccountID: made.Account.ID, SiteKey: made.Account.PublicID, InboxID: made.InboxID, ChatflowID: made.Chatflow,
		AdminUserID: made.AdminID, AdminEmail: in.AdminEmail, APIKey: made.APIKey,
		ScriptTag: ScriptTag(o.PublicURL, made.Account.PublicID), CSP: CSP(o.PublicURL),
	}, nil
}

func chatflowRow(in Input) (*store.ChatflowRow, error) {
	cf := Chatflow(in.Company, in.Language, 0)
	return cf.Row(0)
}

// companyDomain picks the account's company domain (a plain DNS name shown
// to visitors) from the allowed domains: the first that is one.
func companyDomain(domains []string) string {
	for _, d := range domains {
		if strings.HasPrefix(d, "*.") || net.ParseIP(d) != nil || !strings.Contains(d, ".") {
			continue
		}
		tld := d[strings.LastIndexByte(d, '.')+1:]
		if strings.ContainsFunc(tld, func(r rune) bool { return r >= 'a' && r <= 'z' }) {
			return d
		}
	}
	return ""
}

// Base returns the public address links are built on: configured (the
// PUBLIC_URL setting) when set, else the address the request came to (the
// edge keeps the public Host and says the scheme in X-Forwarded-Proto,
// believed from trusted proxies only).
func Base(configured string, r *http.Request) string {
	if configured != "" || r == nil {
		return strings.TrimRight(configured, "/")
	}
	scheme := "http"
	if proxies.HTTPS(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// ScriptTag is the one line a site's pages carry.
func ScriptTag(base, site string) string {
	return `<script src="` + strings.TrimRight(base, "/") + `/loader.js" data-site="` + site + `" async></script>`
}

// CSP lists the Content-Security-Policy sources a site with a policy must
// allow for the chat: the edge's scripts (and the wasm they compile), its
// socket, styles and images.
func CSP(base string) []string {
	base = strings.TrimRight(base, "/")
	ws := "wss://" + strings.TrimPrefix(base, "https://")
	if strings.HasPrefix(base, "http://") {
		ws = "ws://" + strings.TrimPrefix(base, "http://")
	}
	return []string{
		"script-src " + base + " 'wasm-unsafe-eval'",
		"connect-src " + base + " " + ws,
		"style-src " + base,
		"img-src " + base,
	}
}

// SetupURL is the first-run setup page's address for token.
func SetupURL(base, token string) string {
	return strings.TrimRight(base, "/") + SetupPath + "?token=" + token
}

// AnnounceSetup, on a database without accounts, hands out a setup token
// and logs the setup page's address, returning it; with accounts it does
// nothing and returns "".
func AnnounceSetup(ctx context.Context, st *store.Store, base string, log *slog.Logger) (string, error) {
	if has, err := st.HasAccounts(ctx); err != nil || has {
		return "", err
	}
	token, err := st.CreateSetupToken(ctx)
	if err != nil {
		return "", err
	}
	u := SetupURL(base, token)
	log.Warn("no account yet: open the setup page to create yours (the link works once)", "setup_url", u)
	return u, nil
}

// InvitationLink is the address where an invited user sets their password.
func InvitationLink(base, token string) string {
	return strings.TrimRight(base, "/") + InvitationPath + token
}

// CreateInvitation makes a one-time invitation for user userID of the
// account (made without a password), valid for ttl (0: DefaultInvitationTTL),
// replacing any earlier one, and returns its link built on base.
// store.ErrNotFound for no such user; store.ErrHasPassword for a user who
// signs in already.
func CreateInvitation(ctx context.Context, st *store.Store, base string, accountID, userID int64, ttl time.Duration) (link string, expires time.Time, err error) {
	if ttl <= 0 {
		ttl = DefaultInvitationTTL
	}
	token, expires, err := st.CreateInvitation(ctx, accountID, userID, ttl)
	if err != nil {
		return "", time.Time{}, err
	}
	return InvitationLink(base, token), expires, nil
}

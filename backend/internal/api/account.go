package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/internal/origins"
)

// Limits on account settings.
const (
	MaxDomainLen   = 253 // a DNS name
	MaxTimezoneLen = chatflow.MaxTimezoneLen
)

// accountInput is PATCH /account: a field the body leaves out (nil) keeps
// its value. The account has no version column, so there is no ETag and
// If-Match is not checked.
type accountInput struct {
	Name          *string `json:"name"`
	CompanyName   *string `json:"company_name"`
	CompanyDomain *string `json:"company_domain"`
	Timezone      *string `json:"timezone"` // IANA zone of the chatflows' office hours
	// AllowedDomains replaces the host names where the chat may run; [] or
	// null allows every origin.
	AllowedDomains *[]string `json:"allowed_domains"`
	// Email: the name emails come from and the domain of reply addresses
	// (reply+<token>@domain; its MX must point at Parley's MAIL_IN_ADDR).
	MailSenderName  *string `json:"mail_sender_name"`
	MailReplyDomain *string `json:"mail_reply_domain"`
}

// accountOutput is the account as REST shows it.
type accountOutput struct {
	*store.Account
	AllowedDomains []string `json:"allowed_domains"`
}

// accountJSON answers with acct and its allowed domains.
func (a *API) accountJSON(c *gin.Context, status int, acct *store.Account) {
	domains, err := a.st.AllowedDomains(c, acct.ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(status, accountOutput{Account: acct, AllowedDomains: domains})
}

// accountReadOnly may appear in a body (a GET sent back) but never change.
var accountReadOnly = []string{"id", "site_key", "created_at"}

// patchAccount changes the key's account: its name, the company name and
// domain visitors see (heading, consent texts, brand alias) and the
// timezone office hours are kept in. Every reader loads the account row
// when it needs it, so the change shows in the next published config (the
// edge serves its copy for up to EDGE_CONFIG_TTL) and, for the timezone,
// in the presence of widgets already open.
func (a *API) patchAccount(c *gin.Context) {
	b, ok := body(c)
	if !ok {
		return
	}
	var in accountInput
	if err := chatflow.DecodeStrict(b, &in, accountReadOnly...); err != nil {
		a.fail(c, err)
		return
	}
	var e problem.Errors
	u := checkAccount(&e, &in, nulls(b))
	var domains []string
	if in.AllowedDomains != nil || nulls(b)["allowed_domains"] {
		domains = checkDomains(&e, in.AllowedDomains)
	}
	if err := e.Err(); err != nil {
		a.fail(c, err)
		return
	}
	before := account(c)
	acct, err := a.st.UpdateAccount(c, before.ID, u)
	if err != nil {
		a.fail(c, err)
		return
	}
	if domains != nil {
		if err := a.st.SetAllowedDomains(c, acct.ID, domains); err != nil {
			a.fail(c, err)
			return
		}
	}
	if acct.Timezone != before.Timezone {
		// Open widgets recompute their office hours (backend/internal/chat reads
		// the account afresh for presence).
		a.st.Announce(c, events.Notice{Account: acct.ID, Kind: events.KindPresence})
	}
	a.accountJSON(c, http.StatusOK, acct)
}

// checkDomains validates an allowed-domains list, naming each bad entry by
// its index, and returns it normalized without duplicates (never nil, so
// [] and null both clear the list).
func checkDomains(e *problem.Errors, in *[]string) []string {
	out := []string{}
	if in == nil {
		return out
	}
	if len(*in) > origins.MaxEntries {
		e.Add("allowed_domains", "must list at most "+strconv.Itoa(origins.MaxEntries)+" host names")
		return out
	}
	seen := map[string]bool{}
	for i, d := range *in {
		n, err := origins.Normalize(d)
		if err != nil {
			e.Add("allowed_domains["+strconv.Itoa(i)+"]", strconv.Quote(d)+" "+err.Error())
			continue
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// nulls returns the top-level fields body sets to null (DecodeStrict has
// checked that it is one JSON object).
func nulls(b []byte) map[string]bool {
	var obj map[string]json.RawMessage
	_ = json.Unmarshal(b, &obj)
	out := map[string]bool{}
	for k, v := range obj {
		if string(v) == "null" {
			out[k] = true
		}
	}
	return out
}

// checkAccount validates in, recording bad fields on e, and returns the
// update to make. Texts are trimmed; null clears the optional texts
// (company_name, company_domain) as in a JSON merge patch, and is refused
// for the required ones.
func checkAccount(e *problem.Errors, in *accountInput, null map[string]bool) store.AccountUpdate {
	var u store.AccountUpdate
	text := func(field string, v *string, required bool, check func(string)) *string {
		if v == nil {
			if !null[field] {
				return nil // absent: unchanged
			}
			if required {
				e.Add(field, "is required; it cannot be null")
				return nil
			}
			v = new(string)
		}
		s := strings.TrimSpace(*v)
		check(s)
		return &s
	}
	u.Name = text("name", in.Name, true, func(s string) { checkAccountName(e, "name", s, true) })
	u.CompanyName = text("company_name", in.CompanyName, false, func(s string) { checkAccountName(e, "company_name", s, false) })
	u.CompanyDomain = text("company_domain", in.CompanyDomain, false, func(s string) {
		if s != "" && !hostName(s) {
			e.Add("company_domain", "must be a host name like example.com, without scheme, port or path")
		}
	})
	if u.CompanyDomain != nil {
		d := strings.TrimSuffix(strings.ToLower(*u.CompanyDomain), ".")
		u.CompanyDomain = &d
	}
	u.MailSenderName = text("mail_sender_name", in.MailSenderName, false, func(s string) { checkAccountName(e, "mail_sender_name", s, false) })
	u.MailReplyDomain = text("mail_reply_domain", in.MailReplyDomain, false, func(s string) {
		if s != "" && !hostName(s) {
			e.Add("mail_reply_domain", "must be a host name like reply.example.com, without scheme, port or path")
		}
	})
	if u.MailReplyDomain != nil {
		d := strings.TrimSuffix(strings.ToLower(*u.MailReplyDomain), ".")
		u.MailReplyDomain = &d
	}
	u.Timezone = text("timezone", in.Timezone, true, func(s string) {
		if !chatflow.ValidTimezone(s) {
			e.Add("timezone", "must be an IANA time zone name like Europe/Amsterdam or UTC")
		}
	})
	return u
}

func checkAccountName(e *problem.Errors, field, v string, required bool) {
	switch {
	case v == "" && required:
		e.Add(field, "is required")
	case !utf8.ValidString(v) || utf8.RuneCountInString(v) > chatflow.MaxNameLen:
		e.Add(field, "must be text of at most "+strconv.Itoa(chatflow.MaxNameLen)+" characters")
	case strings.ContainsFunc(v, unicode.IsControl):
		e.Add(field, "must be one line of text without control characters")
	}
}

// hostLabel is one DNS label (international names in their xn-- form).
var hostLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// hostName reports whether s is a plain DNS name with at least two labels
// (a trailing dot allowed), not an IP address, URL, host:port or path.
func hostName(s string) bool {
	s = strings.TrimSuffix(strings.ToLower(s), ".")
	if len(s) > MaxDomainLen {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !hostLabel.MatchString(l) {
			return false
		}
	}
	tld := labels[len(labels)-1]
	return strings.ContainsFunc(tld, func(r rune) bool { return r >= 'a' && r <= 'z' }) // 10.0.0.1 is no domain
}

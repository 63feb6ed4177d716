// Package identity identifies visitors: the site's own server
// asks for a token for a known visitor's email (REST, with an API key); the
// page hands email and token to the widget; the chat engine calls Verify
// and chats as that contact, or, on any error, as an anonymous visitor.
//
// Tokens are random, kept only as a SHA-256 hash, valid for TTL, and bound
// to the account and the email they were issued for.
package identity

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// TTL is how long an identification token is valid.
const TTL = 12 * time.Hour

// Limits on what the site's server may send.
const (
	MaxNameLen       = 200
	MaxProperties    = 100 // per request
	MaxPropertyName  = 100
	MaxPropertyValue = 1000
)

// ErrNotVerified is every reason a token does not identify the visitor: an
// unknown or malformed token, one of another account or for another email,
// or an expired one (ErrExpired wraps it). The chat engine treats it as an
// anonymous visitor and tells the page's console (Warning); it is never an
// error shown to the visitor.
var ErrNotVerified = errors.New("identity: the identification token does not match this email and site")

// ErrExpired is a right token past its TTL; errors.Is(ErrExpired, ErrNotVerified).
var ErrExpired = fmt.Errorf("identity: the identification token has expired (tokens are valid %v): %w", TTL, ErrNotVerified)

// Request is the body of POST /api/v1/visitor-identification.
type Request struct {
	Email string `json:"email"`
	Name  string `json:"name"`
	// Properties are merged into the contact's properties: strings, numbers
	// and booleans are stored as text; null deletes the property.
	Properties map[string]any `json:"properties"`
}

// Token is an issued identification token.
type Token struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	ContactID int64     `json:"contact_id"`
}

// Validate checks r and returns what the store needs, or problem.Errors
// naming each bad field.
func (r *Request) Validate(accountID int64) (store.Identification, error) {
	var e problem.Errors
	id := store.Identification{AccountID: accountID, Email: strings.TrimSpace(r.Email), Name: strings.TrimSpace(r.Name)}
	switch {
	case id.Email == "":
		e.Add("email", "is required")
	case !widget.ValidEmail(id.Email):
		e.Add("email", "is not a valid email address")
	}
	if !utf8.ValidString(id.Name) {
		e.Add("name", "must be valid UTF-8")
	} else if utf8.RuneCountInString(id.Name) > MaxNameLen {
		e.Add("name", "must be at most "+strconv.Itoa(MaxNameLen)+" characters")
	}
	if len(r.Properties) > MaxProperties {
		e.Add("properties", "must hold at most "+strconv.Itoa(MaxProperties)+" properties")
	}
	for k, v := range r.Properties {
		field := "properties." + k
		if !validPropertyName(k) {
			e.Add(field, "must be a name of 1 to "+strconv.Itoa(MaxPropertyName)+" letters, digits, '_', '-' or '.'")
			continue
		}
		var s string
		switch v := v.(type) {
		case nil:
			id.RemoveProperties = append(id.RemoveProperties, k)
			continue
		case string:
			s = v
		case float64:
			s = strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			s = strconv.FormatBool(v)
		default:
			e.Add(field, "must be a string, a number, true or false, or null to delete it")
			continue
		}
		if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxPropertyValue {
			e.Add(field, "must be valid UTF-8 of at most "+strconv.Itoa(MaxPropertyValue)+" characters")
			continue
		}
		if id.Properties == nil {
			id.Properties = map[string]string{}
		}
		id.Properties[k] = s
	}
	return id, e.Err()
}

func validPropertyName(k string) bool {
	if k == "" || len(k) > MaxPropertyName {
		return false
	}
	for _, c := range k {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// Issue validates r, creates or updates the account's contact with r's
// email (name and properties), and returns a new token for it.
func Issue(ctx context.Context, st *store.Store, accountID int64, r Request) (*Token, error) {
	id, err := r.Validate(accountID)
	if err != nil {
		return nil, err
	}
	tok, exp, c, err := st.IdentifyContact(ctx, id, TTL)
	if err != nil {
		return nil, err
	}
	return &Token{Token: tok, ExpiresAt: exp, ContactID: c.ID}, nil
}

// Verify returns the contact token identifies, if it was issued to account
// for email and has not expired. Otherwise the error is ErrNotVerified (or
// ErrExpired, which wraps it); any other error is the database's, and the
// visitor should then also chat anonymously (nothing is lost: identification
// only links the conversation to a contact).
func Verify(ctx context.Context, st *store.Store, accountID int64, email, token string) (*store.Contact, error) {
	email, token = strings.TrimSpace(email), strings.TrimSpace(token)
	if !widget.ValidEmail(email) || token == "" || len(token) > 200 {
		return nil, ErrNotVerified
	}
	c, err := st.ContactByIdentificationToken(ctx, accountID, email, token)
	switch {
	case errors.Is(err, store.ErrExpired):
		return nil, ErrExpired
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrNotVerified
	case err != nil:
		return nil, err
	}
	return c, nil
}

// Warning is the sentence the widget logs to the page's console when
// identification fails; the visitor chats anonymously.
func Warning(err error) string {
	switch {
	case errors.Is(err, ErrExpired):
		return "Parley: the identification token has expired; ask your server for a new one. Chatting as an anonymous visitor."
	case errors.Is(err, ErrNotVerified):
		return "Parley: the identification token is not valid for this email and site. Chatting as an anonymous visitor."
	}
	return "Parley: could not verify the identification token right now. Chatting as an anonymous visitor."
}

// Properties returns the contact's properties as contact-property targeting
// rules see them (widget.Visit.Contact); put them in the hello answer or the
// config an identified visitor receives.
func Properties(ctx context.Context, st *store.Store, accountID, contactID int64) (map[string]string, error) {
	return st.ContactProperties(ctx, accountID, contactID)
}

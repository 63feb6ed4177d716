// Package webhook signs the HTTP calls Parley makes to its users' servers
// (push webhooks, and any later webhook) so a receiver can tell they come
// from Parley and were not replayed:
//
//	Parley-Timestamp: 1767322800
//	Parley-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the secret>
//
// A receiver recomputes the HMAC over the timestamp header, a dot and the
// raw body, compares it in constant time, and refuses timestamps more than
// a few minutes old.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names.
const (
	HeaderTimestamp = "Parley-Timestamp"
	HeaderSignature = "Parley-Signature"
)

// Tolerance is how far a timestamp may be from the receiver's clock.
const Tolerance = 5 * time.Minute

// Sign returns the signature header's value for body sent at ts.
func Sign(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// SetHeaders puts the timestamp and signature of body, sent now, on h.
func SetHeaders(h http.Header, secret string, now time.Time, body []byte) {
	ts := now.Unix()
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderSignature, Sign(secret, ts, body))
}

// Errors of Verify.
var (
	ErrBadSignature = errors.New("webhook: the signature does not match")
	ErrStale        = errors.New("webhook: the timestamp is too old or too far ahead")
)

// Verify checks a received call's headers against body: the signature
// (any v1= of a comma-separated list matches) and a timestamp within
// Tolerance of now.
func Verify(secret string, h http.Header, body []byte, now time.Time) error {
	ts, err := strconv.ParseInt(h.Get(HeaderTimestamp), 10, 64)
	if err != nil {
		return ErrBadSignature
	}
	want := Sign(secret, ts, body)
	ok := false
	for _, sig := range strings.Split(h.Get(HeaderSignature), ",") {
		ok = ok || hmac.Equal([]byte(strings.TrimSpace(sig)), []byte(want))
	}
	if !ok {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(ts, 0)); d > Tolerance || d < -Tolerance {
		return ErrStale
	}
	return nil
}

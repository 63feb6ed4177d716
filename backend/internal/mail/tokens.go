package mail

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"strings"
	"time"
)

// Token purposes: a token signed for one is worthless for the other.
const (
	PurposeResume = "resume" // the link that reopens a conversation in any browser
	PurposeReply  = "reply"  // the conversation's reply address
)

// ErrBadToken is a token that is malformed, forged, expired or for another purpose.
var ErrBadToken = errors.New("mail: invalid or expired token")

// tokenEnc is lower-case base32 without padding: safe in a URL fragment and
// in an address's local part, which some mail systems lower-case.
var tokenEnc = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

const macLen = 12

// Key returns the database's signing key (read once).
func (s *Service) Key(ctx context.Context) ([]byte, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.key == nil {
		k, err := s.st.MailKey(ctx)
		if err != nil {
			return nil, err
		}
		s.key = k
	}
	return s.key, nil
}

// Sign returns a token naming conversation id for purpose, valid for ttl.
func Sign(key []byte, purpose string, id int64, ttl time.Duration, now time.Time) string {
	b := make([]byte, 12, 12+macLen)
	binary.BigEndian.PutUint64(b, uint64(id))
	binary.BigEndian.PutUint32(b[8:], uint32(now.Add(ttl).Unix()))
	return tokenEnc.EncodeToString(append(b, mac(key, purpose, b)...))
}

// Verify returns the conversation a token of purpose names, if it is
// authentic and unexpired at now.
func Verify(key []byte, purpose, token string, now time.Time) (int64, error) {
	b, err := tokenEnc.DecodeString(strings.ToLower(token))
	if err != nil || len(b) != 12+macLen {
		return 0, ErrBadToken
	}
	if !hmac.Equal(b[12:], mac(key, purpose, b[:12])) {
		return 0, ErrBadToken
	}
	if int64(binary.BigEndian.Uint32(b[8:12])) < now.Unix() {
		return 0, ErrBadToken
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

func mac(key []byte, purpose string, b []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write(b)
	return h.Sum(nil)[:macLen]
}

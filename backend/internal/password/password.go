// Package password is the one rule for agents' passwords and how they are
// kept, shared by the REST users endpoint, the inbox's account page and
// the reset-password command.
package password

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Length limits. bcrypt reads only the first 72 bytes, so a longer
// password would silently be a shorter one.
const (
	MinLen   = 10 // characters
	MaxBytes = 72
)

// Check says why pw cannot be a password, or nil. Its message reads after
// the field's name ("must be …").
func Check(pw string) error {
	switch {
	case utf8.RuneCountInString(pw) < MinLen:
		return fmt.Errorf("must be at least %d characters", MinLen)
	case len(pw) > MaxBytes:
		return fmt.Errorf("must be at most %d bytes", MaxBytes)
	}
	return nil
}

// Hash returns the bcrypt hash kept in users.password_hash.
func Hash(pw string) (string, error) {
	if pw == "" {
		return "", errors.New("password: empty")
	}
	if len(pw) > MaxBytes {
		return "", fmt.Errorf("password: longer than %d bytes", MaxBytes)
	}
	b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	return string(b), err
}

package inbox

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/parleychat/parley/backend/store"
)

// MinPasswordLen is the shortest password ResetPassword accepts.
const MinPasswordLen = 10

// ResetPassword sets a new password for the user who signs in with email
// and ends all their sessions and sign-in throttling. An empty password
// makes a random one, which is returned (it is shown once, to the admin
// who ran the command).
func ResetPassword(ctx context.Context, st *store.Store, email, password string) (string, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return "", errors.New("name the user's email")
	}
	generated := ""
	if password == "" {
		password = store.NewToken()[:20]
		generated = password
	}
	if len(password) < MinPasswordLen {
		return "", fmt.Errorf("the password must be at least %d characters", MinPasswordLen)
	}
	if len(password) > 72 {
		return "", errors.New("the password must be at most 72 bytes")
	}
	hash, err := HashPassword(password)
	if err != nil {
		return "", err
	}
	if _, err := st.ResetPassword(ctx, email, hash); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("no user has the email %q", email)
		}
		return "", err
	}
	return generated, nil
}

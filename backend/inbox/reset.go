package inbox

import (
	"context"
	"errors"
	"fmt"
	"strings"

	pw "github.com/parleychat/parley/backend/password"
	"github.com/parleychat/parley/backend/store"
)

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
	if err := pw.Check(password); err != nil {
		return "", fmt.Errorf("the password %v", err)
	}
	hash, err := pw.Hash(password)
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

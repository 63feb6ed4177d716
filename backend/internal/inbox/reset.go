package inbox

import (
	"context"
	"errors"
	"fmt"
	"strings"

	pw "github.com/parleychat/parley/backend/internal/password"
	"github.com/parleychat/parley/backend/internal/store"
)

// ResetPassword sets a new password for the user with email and ends all
// their sessions and sign-in throttling. An empty password makes a random
// one, which is returned (it is shown once, to the admin who ran the
// command). When users of several accounts have the email it refuses and
// names the accounts: ResetPasswordIn then picks one.
func ResetPassword(ctx context.Context, st *store.Store, email, password string) (string, error) {
	return ResetPasswordIn(ctx, st, email, 0, password)
}

// ResetPasswordIn is ResetPassword for the user of account accountID (0:
// whichever account has the email).
func ResetPasswordIn(ctx context.Context, st *store.Store, email string, accountID int64, password string) (string, error) {
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
	if _, err := st.ResetPassword(ctx, email, accountID, hash); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			if accountID != 0 {
				return "", fmt.Errorf("account %d has no user with the email %q", accountID, email)
			}
			return "", fmt.Errorf("no user has the email %q", email)
		}
		return "", err
	}
	return generated, nil
}

package chat

import "context"

// claimEmail keeps an address the visitor typed (the email frame, a rule
// bot's question) as their unverified claim on the visitor and the current
// conversation (store.ClaimEmail): never a contact, so typing a customer's
// address reaches nothing of that customer. Only identification
// (identity.go) gives a visitor a contact. An erased visitor's claim is
// stored again for them as the new visitor they now are.
//
// An address arriving after a message left while nobody could answer
// marks the confirmation email in the claim's own commit.
func (s *session) claimEmail(ctx context.Context, email string) error {
	confirm := false
	claim := func() error {
		if s.conv == nil {
			return s.e.st.ClaimEmail(ctx, s.account.ID, s.visitor.ID, 0, email)
		}
		if confirm = s.confirmsOffline(); confirm {
			return s.e.st.ClaimEmailConfirmingOffline(ctx, s.account.ID, s.visitor.ID, s.conv.ID, email)
		}
		return s.e.st.ClaimEmail(ctx, s.account.ID, s.visitor.ID, s.conv.ID, email)
	}
	err := claim()
	if err != nil && s.visitorGone(ctx, err) {
		err = claim()
	}
	if err != nil {
		return err
	}
	s.offlineConfirmed = s.offlineConfirmed || confirm
	s.visitor.ClaimedEmail = email
	if s.conv != nil {
		s.conv.ClaimedEmail = email
	}
	return nil
}

package chat

import "context"

// claimEmail keeps an address the visitor typed (the email frame, a rule
// bot's question) as their unverified claim on the visitor and the current
// conversation (store.ClaimEmail): never a contact, so typing a customer's
// address reaches nothing of that customer. Only identification
// (identity.go) gives a visitor a contact. An erased visitor's claim is
// stored again for them as the new visitor they now are.
func (s *session) claimEmail(ctx context.Context, email string) error {
	claim := func() error {
		var conv int64
		if s.conv != nil {
			conv = s.conv.ID
		}
		return s.e.st.ClaimEmail(ctx, s.account.ID, s.visitor.ID, conv, email)
	}
	err := claim()
	if err != nil && s.visitorGone(ctx, err) {
		err = claim()
	}
	if err != nil {
		return err
	}
	s.visitor.ClaimedEmail = email
	if s.conv != nil {
		s.conv.ClaimedEmail = email
	}
	return nil
}

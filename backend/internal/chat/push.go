package chat

import (
	"strings"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/widget"
)

// Push tokens on the visitor's side: an app registers its device's push
// token in a push frame (an empty one removes it); the push job
// (backend/internal/push) then calls the account's push webhook for team messages
// that arrive while the app has no socket open.

// maxPushToken bounds a device token (APNs: 64 hex digits; FCM: a few
// hundred characters).
const maxPushToken = 4096

// checkPush is decodeFrame's check of a push frame.
func checkPush(f *widget.Frame, cfg *Config) *frameError {
	switch {
	case len(f.ID) > cfg.MaxIDLen:
		return &frameError{code: widget.ErrBadFrame, message: "The id is too long."}
	case f.PushToken == "" && f.Platform == "":
		return nil // removal
	case f.Platform != "apns" && f.Platform != "fcm":
		return &frameError{code: widget.ErrBadFrame, id: f.ID, message: "The push platform is apns or fcm."}
	case len(f.PushToken) > maxPushToken || strings.TrimSpace(f.PushToken) != f.PushToken || f.PushToken == "":
		return &frameError{code: widget.ErrBadFrame, id: f.ID, message: "The push token is 1 to 4096 characters without spaces around it."}
	}
	return nil
}

// onPush stores (or removes) the visitor's push token. Only app
// (mobile) chatflows take one: a web page has no device to notify.
func (s *session) onPush(f *widget.Frame) {
	if s.flow == nil || s.flow.Channel != chatflow.ChannelMobile {
		s.fail(widget.ErrBadFrame, f.ID, "Push tokens are for app (mobile) chatflows.")
		return
	}
	ctx, cancel := s.dbctx()
	defer cancel()
	platform := f.Platform
	if f.PushToken == "" {
		platform = ""
	}
	if err := s.e.st.SetPushToken(ctx, s.account.ID, s.visitor.ID, platform, f.PushToken); err != nil {
		if s.ctx.Err() == nil {
			s.e.log.Warn("chat: push token", "err", err)
			s.fail(widget.ErrUnavailable, f.ID, "The push token could not be saved yet; try again.")
		}
		return
	}
	s.write(widget.Frame{Type: widget.FramePush, ID: f.ID, PushToken: f.PushToken, Platform: platform})
}

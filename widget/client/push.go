package client

import (
	"errors"
	"strconv"

	"github.com/parleychat/parley/widget"
)

// Push platforms of RegisterPush.
const (
	PushAPNs = "apns"
	PushFCM  = "fcm"
)

// maxPushToken bounds a device token (APNs tokens are 64 hex digits, FCM
// registration tokens a few hundred characters).
const maxPushToken = 4096

// RegisterPush registers the device's push token (platform apns or fcm)
// for this visitor, replacing the one registered before: while the app
// has no open chat, a team message then makes Parley call the account's
// push webhook, whose server notifies the device (README "Push
// notifications"). It goes out now or after the next welcome, and again
// after every reconnect; OnPush(true) follows once it is stored.
func (c *Chat) RegisterPush(platform, token string) error {
	if platform != PushAPNs && platform != PushFCM {
		return errors.New("parley: the push platform is apns or fcm")
	}
	if token == "" || len(token) > maxPushToken {
		return errors.New("parley: a push token is 1 to 4096 characters")
	}
	return c.setPush(platform, token)
}

// RemovePush removes the visitor's push token: no more push webhooks for
// this visitor. OnPush(false) follows once it is removed.
func (c *Chat) RemovePush() error { return c.setPush("", "") }

func (c *Chat) setPush(platform, token string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("parley: the chat is closed")
	}
	c.pushN++
	f := widget.Frame{Type: widget.FramePush, ID: "push-" + strconv.Itoa(c.pushN), PushToken: token, Platform: platform}
	c.push = &f
	c.queueLocked([]widget.Frame{f})
	return nil
}

package chat

import (
	"context"
	"time"

	"github.com/parleychat/parley/backend/internal/routing"
)

// routeAgain places the account's waiting conversations after a routing
// attempt failed (a burst of new chats queued on the account's routing lock
// past the database timeout, say): one pass soon, however many failed
// meanwhile, and again with backoff while passes fail. Without it a failed
// conversation would wait until someone's eligibility changed.
func (e *Engine) routeAgain(account int64) {
	e.rerouteMu.Lock()
	if e.rerouting == nil {
		e.rerouting = map[int64]bool{}
	}
	if _, running := e.rerouting[account]; running {
		e.rerouting[account] = true // run once more after the current pass
		e.rerouteMu.Unlock()
		return
	}
	e.rerouting[account] = false
	e.rerouteMu.Unlock()
	go func() {
		delay := 200 * time.Millisecond
		for {
			select {
			case <-time.After(delay):
			case <-e.ctx.Done():
				return
			}
			ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
			_, err := routing.RouteWaiting(ctx, e.st, account)
			cancel()
			e.rerouteMu.Lock()
			again := e.rerouting[account]
			if err == nil && !again {
				delete(e.rerouting, account)
				e.rerouteMu.Unlock()
				return
			}
			e.rerouting[account] = false
			e.rerouteMu.Unlock()
			if err != nil {
				e.log.Warn("chat: routing the waiting conversations failed; trying again", "account", account, "err", err)
				delay = min(2*delay, 30*time.Second)
			} else {
				delay = 200 * time.Millisecond
			}
		}
	}()
}

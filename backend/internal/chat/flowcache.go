package chat

import (
	"sync"
	"time"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/store"
)

// flowCache holds the chatflow settings (and the account names their
// consent texts are made of) the sessions last read, by chatflow, so that
// a thousand sessions of one chatflow re-read them once per flowMaxAge,
// not once each: a copy is shared only while it is younger than the age
// the session asks for, as if the session had read it then.
type flowCache struct {
	mu    sync.Mutex
	flows map[int64]cachedFlow
}

type cachedFlow struct {
	row     *store.ChatflowRow
	flow    *chatflow.Chatflow
	account *store.Account
	at      time.Time // when it was read
}

// get returns chatflow id's copy read less than maxAge ago.
func (c *flowCache) get(id int64, maxAge time.Duration) (cachedFlow, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.flows[id]
	if !ok || time.Since(f.at) >= maxAge {
		return cachedFlow{}, false
	}
	return f, true
}

// put keeps f as chatflow id's copy, unless a newer one is there; stale
// copies of other chatflows go when the cache grows.
func (c *flowCache) put(id int64, f cachedFlow) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.flows == nil {
		c.flows = map[int64]cachedFlow{}
	}
	if old, ok := c.flows[id]; ok && old.at.After(f.at) {
		return
	}
	if len(c.flows) >= 1024 {
		for k, v := range c.flows {
			if time.Since(v.at) >= flowMaxAge {
				delete(c.flows, k)
			}
		}
	}
	c.flows[id] = f
}

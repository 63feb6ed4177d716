package main

import (
	"context"
	"sync"

	"github.com/parleychat/parley/backend/cmd/parley-load/chatsim"
)

// saturate keeps window messages in flight from every visitor (vs[i]'s
// acknowledgements arrive on acks[i]) until ctx ends or the returned stop
// is called; stop waits for the senders. send writes visitor v's k-th
// message.
func saturate(ctx context.Context, vs []*chatsim.Visitor, acks []chan struct{}, window int, send func(v *chatsim.Visitor, k int)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var senders sync.WaitGroup
	for i, v := range vs {
		senders.Go(func() {
			for k := 0; ctx.Err() == nil; k++ {
				for v.Unsent() >= window {
					select {
					case <-acks[i]:
					case <-ctx.Done():
						return
					}
				}
				send(v, k)
			}
		})
	}
	return func() {
		cancel()
		senders.Wait()
	}
}

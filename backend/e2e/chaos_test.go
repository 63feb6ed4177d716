package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/cmd/parley-load/chatsim"
	"github.com/parleychat/parley/backend/internal/events/natstest"
)

// TestChaos: 200 visitors over two edges send 2,000 messages while the
// backend is killed with SIGKILL twice and edge 1 once, each restarted a
// moment later. The visitors are widget sessions (widget.Session over real
// sockets): they keep unacknowledged messages, reconnect with backoff and
// resend with the same ids. An agent signed in to the inbox follows every
// conversation on the live socket. Afterwards every message is stored
// exactly once, in the order its visitor sent it, and reached the agent
// once, in order.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos takes half a minute")
	}
	c := StartCluster(t, ClusterOptions{Backends: 1, Edges: 2})
	backend, edge1 := c.Backends[0], c.Edges[0]
	runChaos(t, c, []int{0}, []chaosEvent{
		{3 * time.Second, "backend", backend.Kill, backend.Start},
		{7 * time.Second, "edge 1", edge1.Kill, edge1.Start},
		{11 * time.Second, "backend", backend.Kill, backend.Start},
	})
}

// TestScaleOutChaos: three backends and four edges on a three-node NATS
// cluster (BUS_URL). 200 visitors spread over the edges send 2,000
// messages; agents follow every conversation from backends 2 and 3 while
// backend 1, edge 1 and a NATS node are killed (SIGKILL) and restarted.
// Every message is stored once, in order, and reaches each agent socket
// once, in order: messages stored by one backend reach agents on the others
// only through NATS.
func TestScaleOutChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos takes half a minute")
	}
	nats := natstest.StartCluster(t, 3)
	c := StartCluster(t, ClusterOptions{Backends: 3, Edges: 4, Env: []string{"BUS_URL=" + nats.URL()}})
	backend1, edge1, node1 := c.Backends[0], c.Edges[0], nats.Nodes[0]
	runChaos(t, c, []int{1, 2}, []chaosEvent{
		{3 * time.Second, "backend 1", backend1.Kill, backend1.Start},
		{7 * time.Second, "edge 1", edge1.Kill, edge1.Start},
		{11 * time.Second, "NATS node 1", node1.Kill, node1.Start},
	})
}

// chaosEvent kills a process at a moment of the run and starts it again a
// second later.
type chaosEvent struct {
	at          time.Duration
	what        string
	kill, start func()
}

// runChaos sends 2,000 messages from 200 visitors spread over c's edges
// while events happen, with the agent watching from each backend in
// watchers, and checks that nothing was lost, duplicated or reordered.
func runChaos(t *testing.T, c *Cluster, watchers []int, events []chaosEvent) {
	const (
		visitors   = 200
		perVisitor = 10
		spacing    = 1500 * time.Millisecond // a visitor's messages: one per spacing, jittered within it
		downFor    = time.Second
	)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()

	// The agent watches from backends' own addresses, so each watcher sees
	// what arrives whichever edge the visitors use.
	type watch struct {
		mu        sync.Mutex
		delivered map[int64][]chatsim.LiveFrame // by conversation, in delivery order
		w         *chatsim.Watcher
	}
	var ws []*watch
	wctx, wstop := context.WithCancel(ctx)
	for _, b := range watchers {
		agent, err := chatsim.SignIn(ctx, c.Backends[b].URL, c.Demo.AgentEmail, c.Demo.AgentPass)
		if err != nil {
			t.Fatal(err)
		}
		w := &watch{delivered: map[int64][]chatsim.LiveFrame{}}
		w.w = agent.Watch(wctx, func(f chatsim.LiveFrame) {
			w.mu.Lock()
			w.delivered[f.Conversation] = append(w.delivered[f.Conversation], f)
			w.mu.Unlock()
		})
		ws = append(ws, w)
	}
	defer func() {
		wstop()
		for _, w := range ws {
			w.w.Wait()
		}
	}()
	deliveredCount := func(w *watch) int {
		w.mu.Lock()
		defer w.mu.Unlock()
		n := 0
		for _, fs := range w.delivered {
			n += len(fs)
		}
		return n
	}
	// Visitors: each runs like a widget and sends its messages at its own pace.
	vs := make([]*chatsim.Visitor, visitors)
	sent := make([][]string, visitors) // ids in send order
	vctx, vstop := context.WithCancel(ctx)
	var running, sending sync.WaitGroup
	defer func() { vstop(); running.Wait() }()
	start := time.Now()
	for i := range vs {
		vs[i] = chatsim.NewVisitor(chatsim.VisitorConfig{Edge: c.Edges[i%len(c.Edges)].URL, Site: c.Demo.Site,
			Chatflow: c.Demo.ChatflowID, IDPrefix: fmt.Sprintf("v%03d", i)})
		running.Add(1)
		go func() { defer running.Done(); vs[i].Run(vctx) }()
		sending.Add(1)
		go func() {
			defer sending.Done()
			for k := range perVisitor {
				at := start.Add(time.Duration(k)*spacing + rand.N(spacing))
				select {
				case <-time.After(time.Until(at)):
				case <-vctx.Done():
					return
				}
				id, err := vs[i].Send(vctx, fmt.Sprintf("visitor %d message %d", i, k+1))
				if err != nil {
					t.Errorf("visitor %d: %v", i, err)
					return
				}
				sent[i] = append(sent[i], id)
			}
		}()
	}

	// Chaos, while the messages flow.
	for _, ev := range events {
		time.Sleep(time.Until(start.Add(ev.at)))
		ev.kill()
		t.Logf("%5.1fs %s killed", time.Since(start).Seconds(), ev.what)
		time.Sleep(downFor)
		ev.start()
		t.Logf("%5.1fs %s up again", time.Since(start).Seconds(), ev.what)
	}

	sending.Wait()
	t.Logf("%5.1fs every visitor has sent its %d messages", time.Since(start).Seconds(), perVisitor)
	const total = visitors * perVisitor
	settled := func(want int) bool {
		for _, v := range vs {
			if v.Unsent() > 0 {
				return false
			}
		}
		for _, w := range ws {
			if deliveredCount(w) < want {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(90 * time.Second)
	for !settled(total) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	// Then one more message from each visitor: each agent socket gets it
	// after everything before it in its conversation, so a late duplicate
	// would have shown by the time every one has arrived.
	for i, v := range vs {
		id, err := v.Send(vctx, fmt.Sprintf("visitor %d last message", i))
		if err != nil {
			t.Errorf("visitor %d: %v", i, err)
			continue
		}
		sent[i] = append(sent[i], id)
	}
	const fenced = total + visitors
	for !settled(fenced) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	for i, w := range ws {
		t.Logf("%5.1fs settled: %d delivered to the agent on backend %d", time.Since(start).Seconds(), deliveredCount(w), watchers[i]+1)
	}
	vstop()
	running.Wait()
	wstop()
	for _, w := range ws {
		w.w.Wait()
	}

	var unsent int
	var dials int64
	for _, v := range vs {
		unsent += v.Unsent()
		dials += v.Dials()
	}

	// What the database holds.
	type row struct {
		ClientID string `db:"client_id"`
		Conv     int64  `db:"conversation_id"`
		Seq      int64  `db:"seq"`
	}
	var rows []row
	if err := c.DB.Select(&rows, `SELECT client_id, conversation_id, seq FROM messages
		WHERE author_type = 'visitor' ORDER BY conversation_id, seq`); err != nil {
		t.Fatal(err)
	}
	stored := map[string][]row{}
	for _, r := range rows {
		stored[r.ClientID] = append(stored[r.ClientID], r)
	}

	var lost, duplicated, reordered int
	var problems []string
	report := func(format string, args ...any) {
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	sentTotal := 0
	for i, ids := range sent {
		sentTotal += len(ids)
		var prev row
		for k, id := range ids {
			rs := stored[id]
			switch {
			case len(rs) == 0:
				lost++
				report("visitor %d message %s was never stored", i, id)
				continue
			case len(rs) > 1:
				duplicated += len(rs) - 1
				report("visitor %d message %s stored %d times: %+v", i, id, len(rs), rs)
			}
			r := rs[0]
			if k > 0 && prev.ClientID != "" && (r.Conv != prev.Conv || r.Seq <= prev.Seq) {
				reordered++
				report("visitor %d message %s stored at conversation %d seq %d, after %s at %d seq %d", i, id, r.Conv, r.Seq, prev.ClientID, prev.Conv, prev.Seq)
			}
			prev = r
		}
	}
	if sentTotal != fenced {
		t.Errorf("the visitors sent %d messages, want %d", sentTotal, fenced)
	}

	// What reached each agent socket: every stored message once, in seq order.
	convs, redials := -1, 0
	for wi, w := range ws {
		w.mu.Lock()
		for conv, fs := range w.delivered {
			seen := map[int64]bool{}
			var last int64
			for _, f := range fs {
				switch {
				case seen[f.Seq]:
					duplicated++
					report("agent %d got conversation %d seq %d again", wi, conv, f.Seq)
				case f.Seq < last:
					reordered++
					report("agent %d got conversation %d seq %d after seq %d", wi, conv, f.Seq, last)
				}
				seen[f.Seq] = true
				last = max(last, f.Seq)
			}
		}
		for _, r := range rows {
			found := false
			for _, f := range w.delivered[r.Conv] {
				if f.Seq == r.Seq {
					found = true
					if f.ID != r.ClientID {
						reordered++
						report("agent %d got %q as conversation %d seq %d, the database holds %q", wi, f.ID, r.Conv, r.Seq, r.ClientID)
					}
					break
				}
			}
			if !found {
				lost++
				report("message %s (conversation %d seq %d) never reached agent %d", r.ClientID, r.Conv, r.Seq, wi)
			}
		}
		if convs < 0 || len(w.delivered) < convs {
			convs = len(w.delivered)
		}
		redials += int(w.w.Redials())
		w.mu.Unlock()
	}

	t.Logf("visitors=%d sent=%d stored=%d agent_sockets=%d unacked=%d conversations=%d visitor_sockets_opened=%d agent_socket_redials=%d",
		visitors, sentTotal, len(rows), len(ws), unsent, convs, dials, redials)
	fmt.Printf("chaos: lost=%d duplicated=%d reordered=%d\n", lost, duplicated, reordered)
	t.Logf("lost=%d duplicated=%d reordered=%d", lost, duplicated, reordered)
	if lost+duplicated+reordered > 0 {
		sort.Strings(problems)
		t.Fatalf("lost=%d duplicated=%d reordered=%d:\n%s", lost, duplicated, reordered, strings.Join(problems, "\n"))
	}
	if unsent > 0 {
		t.Fatalf("%d messages still unacknowledged at the visitors", unsent)
	}
	// The chaos must have bitten: visitors lost their sockets and dialed again.
	if dials < int64(visitors+visitors/len(c.Edges)) {
		t.Fatalf("the chaos did not bite: %d visitor sockets opened by %d visitors", dials, visitors)
	}
	if convs != visitors {
		t.Fatalf("%d conversations reached the agent, want one per visitor (%d)", convs, visitors)
	}
}

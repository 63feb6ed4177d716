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
	const (
		visitors   = 200
		perVisitor = 10
		spacing    = 1500 * time.Millisecond // a visitor's messages: one per spacing, jittered within it
		downFor    = time.Second
	)
	c := StartCluster(t, ClusterOptions{Backends: 1, Edges: 2})
	backend, edge1 := c.Backends[0], c.Edges[0]
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()

	// The agent watches from the backend's own address, so it sees what
	// arrives whichever edge the visitors use.
	agent, err := chatsim.SignIn(ctx, backend.URL, c.Demo.AgentEmail, c.Demo.AgentPass)
	if err != nil {
		t.Fatal(err)
	}
	var amu sync.Mutex
	delivered := map[int64][]chatsim.LiveFrame{} // by conversation, in delivery order
	wctx, wstop := context.WithCancel(ctx)
	watcher := agent.Watch(wctx, func(f chatsim.LiveFrame) {
		amu.Lock()
		delivered[f.Conversation] = append(delivered[f.Conversation], f)
		amu.Unlock()
	})
	defer func() { wstop(); watcher.Wait() }()
	deliveredCount := func() int {
		amu.Lock()
		defer amu.Unlock()
		n := 0
		for _, fs := range delivered {
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
		vs[i] = chatsim.NewVisitor(chatsim.VisitorConfig{Edge: c.Edges[i%2].URL, Site: c.Demo.Site,
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
	at := func(d time.Duration) { time.Sleep(time.Until(start.Add(d))) }
	at(3 * time.Second)
	backend.Kill()
	t.Logf("%5.1fs backend killed", time.Since(start).Seconds())
	time.Sleep(downFor)
	backend.Start()
	t.Logf("%5.1fs backend up again", time.Since(start).Seconds())
	at(7 * time.Second)
	edge1.Kill()
	t.Logf("%5.1fs edge 1 killed", time.Since(start).Seconds())
	time.Sleep(downFor)
	edge1.Start()
	t.Logf("%5.1fs edge 1 up again", time.Since(start).Seconds())
	at(11 * time.Second)
	backend.Kill()
	t.Logf("%5.1fs backend killed", time.Since(start).Seconds())
	time.Sleep(downFor)
	backend.Start()
	t.Logf("%5.1fs backend up again", time.Since(start).Seconds())

	sending.Wait()
	t.Logf("%5.1fs every visitor has sent its %d messages", time.Since(start).Seconds(), perVisitor)
	const total = visitors * perVisitor
	settled := func() bool {
		for _, v := range vs {
			if v.Unsent() > 0 {
				return false
			}
		}
		return deliveredCount() >= total
	}
	deadline := time.Now().Add(40 * time.Second)
	for !settled() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	// A moment more, so a late duplicate would show.
	time.Sleep(300 * time.Millisecond)
	t.Logf("%5.1fs settled: %d delivered to the agent", time.Since(start).Seconds(), deliveredCount())
	vstop()
	running.Wait()
	wstop()
	watcher.Wait()

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
	if sentTotal != total {
		t.Errorf("the visitors sent %d messages, want %d", sentTotal, total)
	}

	// What reached the agent: every stored message once, in seq order.
	amu.Lock()
	for conv, fs := range delivered {
		seen := map[int64]bool{}
		var last int64
		for _, f := range fs {
			switch {
			case seen[f.Seq]:
				duplicated++
				report("the agent got conversation %d seq %d again", conv, f.Seq)
			case f.Seq < last:
				reordered++
				report("the agent got conversation %d seq %d after seq %d", conv, f.Seq, last)
			}
			seen[f.Seq] = true
			last = max(last, f.Seq)
		}
	}
	for _, r := range rows {
		found := false
		for _, f := range delivered[r.Conv] {
			if f.Seq == r.Seq {
				found = true
				if f.ID != r.ClientID {
					reordered++
					report("the agent got %q as conversation %d seq %d, the database holds %q", f.ID, r.Conv, r.Seq, r.ClientID)
				}
				break
			}
		}
		if !found {
			lost++
			report("message %s (conversation %d seq %d) never reached the agent", r.ClientID, r.Conv, r.Seq)
		}
	}
	convs := len(delivered)
	amu.Unlock()

	t.Logf("visitors=%d sent=%d stored=%d delivered_to_agent=%d unacked=%d conversations=%d visitor_sockets_opened=%d agent_socket_redials=%d",
		visitors, sentTotal, len(rows), deliveredCount(), unsent, convs, dials, watcher.Redials())
	fmt.Printf("chaos: lost=%d duplicated=%d reordered=%d\n", lost, duplicated, reordered)
	t.Logf("lost=%d duplicated=%d reordered=%d", lost, duplicated, reordered)
	if lost+duplicated+reordered > 0 {
		sort.Strings(problems)
		t.Fatalf("lost=%d duplicated=%d reordered=%d:\n%s", lost, duplicated, reordered, strings.Join(problems, "\n"))
	}
	if unsent > 0 {
		t.Fatalf("%d messages still unacknowledged at the visitors", unsent)
	}
	// The chaos must have bitten: every visitor lost its socket at least
	// twice (the two backend kills), and the agent's sockets redialed.
	if dials < 3*visitors || watcher.Redials() == 0 {
		t.Fatalf("the chaos did not bite: %d visitor sockets opened, %d agent redials", dials, watcher.Redials())
	}
	if convs != visitors {
		t.Fatalf("%d conversations reached the agent, want one per visitor (%d)", convs, visitors)
	}
}

package edge

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/parleychat/parley/widget"
)

// TestDrainClosesVisitorsWithServiceRestart: a draining edge closes every
// visitor socket with 1012 while its links stay up, and refuses new sockets.
func TestDrainClosesVisitorsWithServiceRestart(t *testing.T) {
	_, backend := newFakeBackend(t)
	srv, hs := startEdge(t, backend.URL, Settings{LinkCount: 1}, 1)
	a, b := dialVisitor(t, hs.URL), dialVisitor(t, hs.URL)
	a.echo("hello")
	b.echo("hi")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	drained := make(chan time.Duration)
	go func() { srv.Drain(ctx); drained <- time.Since(start) }()
	// The visitors read on, as widgets do, and so answer the close.
	a.expectClose(widget.CloseServiceRestart)
	b.expectClose(widget.CloseServiceRestart)
	if took := <-drained; took > 2*time.Second {
		t.Fatalf("drain took %v with two responsive visitors", took)
	}
	if !srv.Draining() || srv.Pool.Live() != 1 {
		t.Fatalf("draining %v, links %d: the links stay up while draining", srv.Draining(), srv.Pool.Live())
	}

	res, err := http.Get(hs.URL + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a new socket while draining: %d, want 503", res.StatusCode)
	}
}

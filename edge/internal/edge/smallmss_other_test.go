//go:build !linux

package edge

import (
	"net"
	"testing"
)

// listenSmallSegments listens on loopback (the segment size is Linux's
// way to keep the edge's send buffer small; elsewhere the tests only take
// longer).
func listenSmallSegments(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

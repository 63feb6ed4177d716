package edge

import (
	"context"
	"net"
	"syscall"
	"testing"
)

// listenSmallSegments listens on loopback with a small segment size. The
// kernel sizes a sender's buffer by segments, 64 KB each on loopback: so
// the edge's link to this listener buffers tens of kilobytes, not
// megabytes, before its writes block.
func listenSmallSegments(t *testing.T) net.Listener {
	t.Helper()
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, 1200)
		}); err != nil {
			return err
		}
		return serr
	}}
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

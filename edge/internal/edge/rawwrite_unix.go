//go:build unix

package edge

import (
	"net"
	"syscall"
)

// rawConnOf returns conn's raw connection when writes to it can be tried
// without blocking (a plain TCP socket, not TLS).
func rawConnOf(conn net.Conn) syscall.RawConn {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// tryWrite writes what the socket takes of b at once, without waiting for
// room: n < len(b) with a nil error when its buffer is full.
func tryWrite(rc syscall.RawConn, b []byte) (n int, err error) {
	var werr error
	if err := rc.Write(func(fd uintptr) bool {
		for {
			n, werr = syscall.Write(int(fd), b)
			if werr != syscall.EINTR {
				return true
			}
		}
	}); err != nil {
		return 0, err
	}
	if n < 0 {
		n = 0
	}
	if werr == syscall.EAGAIN {
		return n, nil
	}
	return n, werr
}

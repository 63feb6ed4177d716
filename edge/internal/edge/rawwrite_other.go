//go:build !unix

package edge

import (
	"errors"
	"net"
	"syscall"
)

// rawConnOf returns nil: writes are never tried without blocking here.
func rawConnOf(net.Conn) syscall.RawConn { return nil }

func tryWrite(syscall.RawConn, []byte) (int, error) {
	return 0, errors.ErrUnsupported
}

// Package localsock carries the edge's traffic to a backend on the same
// machine over a Unix socket (BACKEND_SOCKET) instead of loopback TCP.
//
// Every visitor message crosses the edge–backend hop twice (the message,
// its acknowledgement) and an agent's live page once more; over loopback
// TCP each write runs the whole TCP stack twice (sender and receiver) and
// its acknowledgements, over a Unix socket it is a copy between two
// buffers. The socket changes nothing else: the same HTTP, links and
// WebSockets, the same link secret.
package localsock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
)

// Peer is the address handlers see for a peer on the socket: loopback,
// since only a process of this machine can reach the socket, as only one
// can reach a port on 127.0.0.1. Trusted-proxy rules (which believe an
// edge's X-Forwarded-For from loopback by default) apply to it unchanged.
var Peer = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 0}

// Listen listens on the Unix socket at path. A socket file left there by
// a process that is gone is replaced; any other file is an error, never
// removed. The socket is made connectable by every local user (0666): the
// directory it is in decides who may reach it, as for a port on loopback
// anyone on the machine may.
func Listen(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("localsock: %s exists and is not a socket", path)
		}
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("localsock: %s is in use by a running process", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return nil, err
	}
	return listener{ln}, nil
}

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return conn{c}, nil
}

// conn reports Peer as its remote address (a Unix socket's peer has none).
type conn struct{ net.Conn }

func (conn) RemoteAddr() net.Addr { return Peer }

// Transport is an HTTP transport (plain HTTP and WebSocket upgrades) whose
// every connection is made to the Unix socket at path, whatever host the
// request names; the request keeps its URL, so Host headers are unchanged.
func Transport(path string) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}
	return t
}

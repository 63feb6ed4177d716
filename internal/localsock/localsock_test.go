package localsock_test

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parleychat/parley/internal/localsock"
)

// A request through Transport reaches the server on the socket whatever
// host its URL names, with that Host, from the loopback peer address.
func TestTransportReachesTheSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "backend.sock")
	ln, err := localsock.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Host+" "+r.RemoteAddr)
	})}
	go srv.Serve(ln)
	defer srv.Close()

	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o666 {
		t.Fatalf("socket file: %v %v, want mode 0666", fi, err)
	}
	// Port 1 on loopback: nothing listens there, so only the socket can answer.
	c := &http.Client{Transport: localsock.Transport(path)}
	res, err := c.Get("http://127.0.0.1:1/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if got := string(body); !strings.HasPrefix(got, "127.0.0.1:1 127.0.0.1:") {
		t.Fatalf("the server saw %q, want host 127.0.0.1:1 from a loopback peer", got)
	}
}

// Listen replaces a socket file nobody listens on any more, and refuses a
// socket in use and a file that is not a socket (which it leaves alone).
func TestListenReplacesOnlyStaleSockets(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "backend.sock")
	ln, err := localsock.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := localsock.Listen(path); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("a second Listen on a live socket: %v, want it refused as in use", err)
	}
	ln.Close()

	// A process that died leaves its socket file behind.
	stale := path + ".stale"
	raw, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	raw.(*net.UnixListener).SetUnlinkOnClose(false)
	raw.Close()
	if _, err := os.Stat(stale); err != nil {
		t.Fatalf("the stale socket file is gone already: %v", err)
	}
	ln2, err := localsock.Listen(stale)
	if err != nil {
		t.Fatalf("Listen over a stale socket file: %v", err)
	}
	ln2.Close()

	file := filepath.Join(dir, "notes.txt")
	os.WriteFile(file, []byte("keep me"), 0o600)
	if _, err := localsock.Listen(file); err == nil {
		t.Fatal("Listen on a regular file succeeded")
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "keep me" {
		t.Fatalf("the regular file was touched: %q %v", b, err)
	}
}

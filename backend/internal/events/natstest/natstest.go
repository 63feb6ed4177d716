// Package natstest runs throwaway NATS servers for tests: one node, or a
// cluster of three whose nodes a test can kill and bring back. The binary
// is the real nats-server, built by the Makefile (bin/nats-server, with
// `go install`) or named by PARLEY_NATS.
package natstest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Node is one running (or stopped) nats-server.
type Node struct {
	Port, ClusterPort int
	bin               string
	routes            []string
	cmd               *exec.Cmd
	t                 testing.TB
}

// Cluster is a set of nodes routed to each other.
type Cluster struct {
	Nodes []*Node
}

// Binary finds nats-server: PARLEY_NATS, bin/nats-server of the repository
// the test runs in, or nats-server on PATH.
func Binary() (string, error) {
	if b := os.Getenv("PARLEY_NATS"); b != "" {
		return b, nil
	}
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			b := filepath.Join(d, "bin", "nats-server")
			if _, err := os.Stat(b); err == nil {
				return b, nil
			}
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if b, err := exec.LookPath("nats-server"); err == nil {
		return b, nil
	}
	return "", fmt.Errorf("nats-server not found: run `make bin/nats-server` (go install github.com/nats-io/nats-server/v2) or set PARLEY_NATS")
}

// Start runs one node until the test ends.
func Start(t testing.TB) *Node {
	return StartCluster(t, 1).Nodes[0]
}

// StartCluster runs n nodes routed into one cluster until the test ends,
// and waits until each accepts clients.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{}
	var routes []string
	for i := 0; i < n; i++ {
		nd := &Node{Port: freePort(t), bin: bin, t: t}
		if n > 1 {
			nd.ClusterPort = freePort(t)
			routes = append(routes, "nats://127.0.0.1:"+strconv.Itoa(nd.ClusterPort))
		}
		c.Nodes = append(c.Nodes, nd)
	}
	for _, nd := range c.Nodes {
		nd.routes = routes
		nd.Start()
		t.Cleanup(nd.Kill)
	}
	return c
}

// URL is the cluster's client address list, as BUS_URL takes it.
func (c *Cluster) URL() string {
	var us []string
	for _, nd := range c.Nodes {
		us = append(us, nd.URL())
	}
	return strings.Join(us, ",")
}

// URL is the node's client address.
func (nd *Node) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(nd.Port) }

// Start starts (or restarts, on the same ports) the node and waits until
// it accepts clients.
func (nd *Node) Start() {
	nd.t.Helper()
	args := []string{"-a", "127.0.0.1", "-p", strconv.Itoa(nd.Port)}
	if nd.ClusterPort != 0 {
		args = append(args, "--cluster_name", "parley", "--cluster", "nats://127.0.0.1:"+strconv.Itoa(nd.ClusterPort),
			"--routes", strings.Join(nd.routes, ","))
	}
	nd.cmd = exec.Command(nd.bin, args...)
	nd.cmd.Stdout, nd.cmd.Stderr = nil, nil
	if err := nd.cmd.Start(); err != nil {
		nd.t.Fatalf("nats-server: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(nd.Port), time.Second)
		if err == nil {
			// A client port that answers "INFO" is ready for clients.
			buf := make([]byte, 4)
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			_, rerr := c.Read(buf)
			c.Close()
			if rerr == nil && string(buf) == "INFO" {
				return
			}
		}
		if time.Now().After(deadline) {
			nd.t.Fatalf("nats-server did not start on port %d", nd.Port)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill ends the node at once (SIGKILL), as a crash would.
func (nd *Node) Kill() {
	if nd.cmd == nil || nd.cmd.Process == nil {
		return
	}
	nd.cmd.Process.Kill()
	nd.cmd.Wait()
	nd.cmd = nil
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

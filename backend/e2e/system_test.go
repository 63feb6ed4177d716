package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleychat/parley/backend/internal/dbtest"
	"github.com/parleychat/parley/backend/internal/pgcluster"
	"github.com/parleychat/parley/backend/internal/seed"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/internal/hostpage"
)

// repoRoot is the repository's top folder.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

var (
	buildOnce sync.Once
	binDir    string
	assetDir  string
	buildErr  error
)

// binaries returns the folder with parley-backend and parley-edge and the
// folder with the wasm build: PARLEY_BIN and PARLEY_BUILD (set by `make
// test`), or a fresh build into a temporary folder.
func binaries(t *testing.T) (string, string) {
	t.Helper()
	buildOnce.Do(func() {
		binDir, assetDir = os.Getenv("PARLEY_BIN"), os.Getenv("PARLEY_BUILD")
		root := repoRoot()
		if binDir == "" {
			binDir, buildErr = os.MkdirTemp("", "parley-bin-")
			if buildErr != nil {
				return
			}
			buildErr = run(root, nil, "go", "build", "-o", binDir+"/", "./backend/cmd/parley-backend", "./edge/cmd/parley-edge")
		}
		if assetDir == "" && buildErr == nil {
			assetDir, buildErr = os.MkdirTemp("", "parley-build-")
			if buildErr != nil {
				return
			}
			buildErr = run(root, []string{"GOOS=js", "GOARCH=wasm"}, "go", "build", "-trimpath", "-gcflags=all=-l", "-ldflags=-s -w", "-o", filepath.Join(assetDir, "widget.wasm"), "./wasm")
			if buildErr == nil {
				goroot, _ := exec.Command("go", "env", "GOROOT").Output()
				buildErr = run(root, nil, "cp", filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"), assetDir)
			}
		}
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return binDir, assetDir
}

func run(dir string, env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %v: %v\n%s", name, args, err, out)
	}
	return nil
}

// System is a running Parley: a backend and an edge as real processes on a
// fresh database holding the demo account.
type System struct {
	*Cluster
	Edge string // http://127.0.0.1:port
}

// Host is where the demo host pages are: an origin of their own, like an
// owner's website, with the script tag pointing at the first edge.
func (s *System) Host() string { return s.Pages.URL }

// StartSystem starts backend and edge; both stop when the test ends.
func StartSystem(t *testing.T) *System {
	t.Helper()
	c := StartCluster(t, ClusterOptions{})
	return &System{Cluster: c, Edge: c.Edges[0].URL}
}

// KillBackend stops the backend with SIGKILL, as a crash would.
func (s *System) KillBackend() { s.Backends[0].Kill() }

// StartBackend starts the backend again after KillBackend.
func (s *System) StartBackend() { s.Backends[0].Start() }

// ClusterOptions shape a Cluster; zero values mean one of each.
type ClusterOptions struct {
	Backends int // backend processes on the one database
	Edges    int // edge processes
	// EdgeBackend returns which backend edge i links to (its BACKEND_URL);
	// nil means backend i modulo the number of backends.
	EdgeBackend func(edge int) int
	// Env is extra environment for every process (EDGE_RATE_BURST=..., say).
	Env []string
	// Empty starts on a database without any account: a first install
	// (Cluster.Demo is then nil).
	Empty bool
	// BinDir holds the parley-backend and parley-edge to run instead of
	// the ones the harness builds (release binaries, say).
	BinDir string
	// EdgeTLS makes the edges serve HTTPS (and wss://) with a certificate
	// made for the test (Cluster.Cert); browsers must be told to accept it.
	EdgeTLS bool
	// Socket has each backend listen on a Unix socket as well
	// (BACKEND_SOCKET) and its edges reach it only there, as deploy/
	// installs one machine: the edges' BACKEND_URL names a port nothing
	// listens on, so whatever the socket does not carry fails.
	Socket bool
}

// Cluster is a running Parley of several backends and edges as real
// processes on one fresh database holding the demo account (unless Empty). Any node can
// be killed and started again; all stop when the test ends.
type Cluster struct {
	t        *testing.T
	DSN      string
	DB       *sqlx.DB
	Store    *store.Store
	Demo     *seed.Demo
	Backends []*Node
	Edges    []*Node
	// Pages serves the demo host pages on their own origin, pointing at
	// the first edge.
	Pages *hostpage.Server
	// Cert is the test's own certificate for 127.0.0.1, localhost and
	// *.test names, made on first use.
	Cert *testCert
}

// Node is one backend or edge process.
type Node struct {
	Name string // "backend 1", "edge 2"
	Addr string // 127.0.0.1:port
	URL  string // http://127.0.0.1:port
	// Socket is a backend's Unix socket (ClusterOptions.Socket), else "".
	Socket string

	c    *Cluster
	path string
	env  []string
	p    *proc
}

type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	log  strings.Builder
}

// StartCluster starts the backends, then the edges, and waits until each
// answers /healthz.
func StartCluster(t *testing.T, o ClusterOptions) *Cluster {
	t.Helper()
	o.Backends, o.Edges = max(o.Backends, 1), max(o.Edges, 1)
	if o.EdgeBackend == nil {
		o.EdgeBackend = func(i int) int { return i % o.Backends }
	}
	bin, build := binaries(t)
	if o.BinDir != "" {
		bin = o.BinDir
	}
	dsn := dbtest.URL(t)
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := store.New(db)
	var demo *seed.Demo
	if !o.Empty {
		if demo, err = seed.EnsureDemo(context.Background(), st, filepath.Join(t.TempDir(), "demo.json")); err != nil {
			t.Fatal(err)
		}
	}
	c := &Cluster{t: t, DSN: dsn, DB: db, Store: st, Demo: demo}
	common := append([]string{"DATABASE_URL=" + dsn, "LINK_SECRET=" + store.NewToken(),
		"PUBLIC_DIR=" + filepath.Join(repoRoot(), "public"), "BUILD_DIR=" + build, "EDGE_CONFIG_TTL=1s",
		"CHAT_NEW_VISITORS_PER_ADDRESS=100000", // every test visitor comes from 127.0.0.1
		// Metrics listeners have fixed default ports; processes of parallel
		// tests would fight for them. A test that reads metrics sets its own.
		"BACKEND_METRICS_ADDR=off", "EDGE_METRICS_ADDR=off"}, o.Env...)
	for i := range o.Backends {
		n := c.node(fmt.Sprintf("backend %d", i+1), filepath.Join(bin, "parley-backend"))
		n.env = append(append(n.env, common...), "BACKEND_ADDR="+n.Addr)
		if o.Socket {
			n.Socket = filepath.Join(t.TempDir(), "backend.sock")
			n.env = append(n.env, "BACKEND_SOCKET="+n.Socket)
		}
		c.Backends = append(c.Backends, n)
	}
	for i := range o.Edges {
		n := c.node(fmt.Sprintf("edge %d", i+1), filepath.Join(bin, "parley-edge"))
		backend := c.Backends[o.EdgeBackend(i)]
		backendURL := backend.URL
		if backend.Socket != "" {
			port, err := pgcluster.FreePort()
			if err != nil {
				t.Fatal(err)
			}
			backendURL = fmt.Sprintf("http://127.0.0.1:%d", port)
			n.env = append(n.env, "BACKEND_SOCKET="+backend.Socket)
		}
		n.env = append(append(n.env, common...), "EDGE_ADDR="+n.Addr, "BACKEND_URL="+backendURL)
		if o.EdgeTLS {
			cert := c.TestCert()
			n.URL = "https://" + n.Addr
			n.env = append(n.env, "EDGE_TLS_CERT="+cert.CertFile, "EDGE_TLS_KEY="+cert.KeyFile)
		}
		c.Edges = append(c.Edges, n)
	}
	for _, n := range c.Backends {
		n.env = append(n.env, "PUBLIC_URL="+c.Edges[0].URL) // links the backend hands out lead to the first edge
	}
	t.Cleanup(func() {
		// Edges first: their visitors' sessions end before the backends go.
		for _, n := range append(append([]*Node(nil), c.Edges...), c.Backends...) {
			n.stop()
		}
		if t.Failed() {
			for _, n := range append(append([]*Node(nil), c.Backends...), c.Edges...) {
				t.Logf("%s log:\n%s", n.Name, n.Log())
			}
		}
	})
	for _, n := range append(append([]*Node(nil), c.Backends...), c.Edges...) {
		n.Start()
	}
	if c.Demo != nil {
		c.Pages = c.HostPages(hostpage.Options{})
	}
	return c
}

// HostPages serves the demo host pages on a new origin of their own
// (127.0.0.1 on a free port), stopped when the test ends. o.Edge defaults
// to the first edge and o.Site to the demo site.
func (c *Cluster) HostPages(o hostpage.Options) *hostpage.Server {
	c.t.Helper()
	return c.hostPages(o, nil)
}

// HostPagesTLS is HostPages over HTTPS with the cluster's certificate.
func (c *Cluster) HostPagesTLS(o hostpage.Options) *hostpage.Server {
	c.t.Helper()
	return c.hostPages(o, &c.TestCert().TLS)
}

func (c *Cluster) hostPages(o hostpage.Options, cert *tls.Certificate) *hostpage.Server {
	c.t.Helper()
	if o.Edge == "" {
		o.Edge = c.Edges[0].URL
	}
	if o.Site == "" {
		o.Site = c.Demo.Site
	}
	h, err := hostpage.Start("127.0.0.1:0", o, cert)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { h.Close() })
	return h
}

func (c *Cluster) node(name, path string) *Node {
	port, err := pgcluster.FreePort()
	if err != nil {
		c.t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	return &Node{Name: name, Addr: addr, URL: "http://" + addr, c: c, path: path}
}

// Start starts the node's process (again, after Kill) and waits until it
// answers /healthz. Its output of every run is kept for Log.
func (n *Node) Start() {
	t := n.c.t
	t.Helper()
	if n.p != nil {
		select {
		case <-n.p.done:
		default:
			t.Fatalf("%s is already running", n.Name)
		}
	}
	p := &proc{cmd: exec.Command(n.path), done: make(chan struct{})}
	if n.p != nil {
		p.log.WriteString(n.p.output() + "--- restarted ---\n")
	}
	p.cmd.Env = append(os.Environ(), n.env...)
	out, _ := p.cmd.StdoutPipe()
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.p = p
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
		p.cmd.Wait()
		close(p.done)
	}()
	waitHealthy(t, n.URL+"/healthz", p)
}

// Kill stops the node with SIGKILL, as a crash would, and waits until it is gone.
func (n *Node) Kill() {
	n.p.cmd.Process.Kill()
	<-n.p.done
}

// Log returns everything the node's process has printed, over all its runs.
func (n *Node) Log() string {
	if n.p == nil {
		return ""
	}
	return n.p.output()
}

func (n *Node) stop() {
	if n.p == nil {
		return
	}
	n.p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.p.done:
	case <-time.After(5 * time.Second):
		n.p.cmd.Process.Kill()
		<-n.p.done
	}
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// testClient also reaches edges serving the test's own certificate.
var testClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
	TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // only /healthz, only on loopback
}}

func waitHealthy(t *testing.T, url string, p *proc) {
	t.Helper()
	// A loaded machine (make test beside other work) can take that long to start a process.
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("%s exited:\n%s", p.cmd.Path, p.output())
		default:
		}
		if res, err := testClient.Get(url); err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never became healthy:\n%s", url, p.output())
}

package e2e

import (
	"bufio"
	"context"
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

	"github.com/parleychat/parley/backend/dbtest"
	"github.com/parleychat/parley/backend/pgcluster"
	"github.com/parleychat/parley/backend/seed"
	"github.com/parleychat/parley/backend/store"
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
			buildErr = run(root, []string{"GOOS=js", "GOARCH=wasm"}, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(assetDir, "widget.wasm"), "./wasm")
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
	t           *testing.T
	Edge        string // http://127.0.0.1:port
	DB          *sqlx.DB
	Store       *store.Store
	Demo        *seed.Demo
	env         []string
	backendAddr string
	edgeAddr    string
	backend     *proc
	edge        *proc
}

type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	log  strings.Builder
}

// StartSystem starts backend and edge; both stop when the test ends.
func StartSystem(t *testing.T) *System {
	t.Helper()
	bin, build := binaries(t)
	dsn := dbtest.URL(t)
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := store.New(db)
	demo, err := seed.EnsureDemo(context.Background(), st, filepath.Join(t.TempDir(), "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	bport, _ := pgcluster.FreePort()
	eport, _ := pgcluster.FreePort()
	s := &System{t: t, DB: db, Store: st, Demo: demo,
		backendAddr: fmt.Sprintf("127.0.0.1:%d", bport), edgeAddr: fmt.Sprintf("127.0.0.1:%d", eport)}
	s.Edge = "http://" + s.edgeAddr
	s.env = []string{"DATABASE_URL=" + dsn, "LINK_SECRET=" + store.NewToken(),
		"BACKEND_ADDR=" + s.backendAddr, "BACKEND_URL=http://" + s.backendAddr, "EDGE_ADDR=" + s.edgeAddr,
		"PUBLIC_DIR=" + filepath.Join(repoRoot(), "public"), "BUILD_DIR=" + build, "EDGE_CONFIG_TTL=1s"}
	s.backend = s.start(filepath.Join(bin, "parley-backend"), "http://"+s.backendAddr+"/healthz")
	s.edge = s.start(filepath.Join(bin, "parley-edge"), s.Edge+"/healthz")
	t.Cleanup(func() {
		s.stop(s.edge)
		s.stop(s.backend)
		if t.Failed() {
			t.Logf("backend log:\n%s", s.backend.output())
			t.Logf("edge log:\n%s", s.edge.output())
		}
	})
	return s
}

func (s *System) start(path, health string) *proc {
	s.t.Helper()
	p := &proc{cmd: exec.Command(path), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), s.env...)
	out, _ := p.cmd.StdoutPipe()
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
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
	waitHealthy(s.t, health, p)
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

func waitHealthy(t *testing.T, url string, p *proc) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("%s exited:\n%s", p.cmd.Path, p.output())
		default:
		}
		if res, err := http.Get(url); err == nil {
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

func (s *System) stop(p *proc) {
	if p == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// KillBackend stops the backend with SIGKILL, as a crash would.
func (s *System) KillBackend() {
	s.backend.cmd.Process.Kill()
	<-s.backend.done
}

// StartBackend starts the backend again after KillBackend.
func (s *System) StartBackend() {
	s.backend = s.start(s.backend.cmd.Path, "http://"+s.backendAddr+"/healthz")
}

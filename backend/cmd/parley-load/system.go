package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleychat/parley/backend/internal/pgcluster"
	"github.com/parleychat/parley/backend/internal/seed"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/migrations"
)

// system is a throwaway Parley for one bench step: a private PostgreSQL
// cluster with production settings (fsync and synchronous commit on), the
// demo account, and backend and edge processes from the bin folder.
type system struct {
	dirs   dirs
	root   string
	pg     *pgcluster.Cluster
	dsn    string
	db     *sqlx.DB
	demo   *seed.Demo
	secret string

	mu      sync.Mutex
	procs   []*process
	mailpit *process          // the mail step's Mailpit
	sockets map[string]string // a backend's URL → its Unix socket (-link socket)
}

// linkOver is how edges reach their backend (the -link flag): "socket" or "tcp".
var linkOver string

// linkDesc says how edges reach their backend, for the steps' reports.
func linkDesc() string {
	if linkOver == "socket" {
		return "edge → backend over a Unix socket"
	}
	return "edge → backend over loopback TCP"
}

// dirs are where the binaries and the assets are.
type dirs struct{ bin, public, build string }

func startSystem(ctx context.Context, d dirs) (*system, error) {
	root, err := os.MkdirTemp("", "parley-bench-")
	if err != nil {
		return nil, err
	}
	s := &system{dirs: d, root: root, secret: store.NewToken()}
	if err := s.startDatabase(ctx); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *system) startDatabase(ctx context.Context) error {
	if err := os.Chmod(s.root, 0o755); err != nil { // the postgres user must reach the data folder
		return err
	}
	port, err := pgcluster.FreePort()
	if err != nil {
		return err
	}
	if s.pg, err = pgcluster.New(filepath.Join(s.root, "data"), port); err != nil {
		return err
	}
	if err := s.pg.Init(); err != nil {
		return err
	}
	if pgStatements > 0 {
		f, err := os.OpenFile(filepath.Join(s.pg.Dir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		_, err = f.WriteString("\nshared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.track = all\npg_stat_statements.track_planning = on\n")
		f.Close()
		if err != nil {
			return err
		}
	}
	if err := s.pg.Start(ctx, false); err != nil { // false: fsync on, as in production
		return err
	}
	if err := s.pg.CreateDatabase(ctx, "parley"); err != nil {
		return err
	}
	s.dsn = s.pg.URL("parley")
	if s.db, err = sqlx.Open("postgres", s.dsn); err != nil {
		return err
	}
	if _, err := migrations.Apply(ctx, s.db.DB); err != nil {
		return err
	}
	if pgStatements > 0 {
		if _, err := s.db.ExecContext(ctx, `CREATE EXTENSION pg_stat_statements`); err != nil {
			return err
		}
	}
	s.demo, err = seed.EnsureDemo(ctx, store.New(s.db), filepath.Join(s.root, "demo.json"))
	return err
}

// describeDatabase is the line every step prints about the cluster it measures.
func (s *system) describeDatabase(ctx context.Context) string {
	show := func(name string) string {
		var v string
		if err := s.db.QueryRowContext(ctx, "SHOW "+name).Scan(&v); err != nil {
			return "?"
		}
		return v
	}
	var version string
	s.db.QueryRowContext(ctx, "SHOW server_version").Scan(&version)
	return fmt.Sprintf("PostgreSQL %s, throwaway cluster with production settings: fsync=%s synchronous_commit=%s full_page_writes=%s shared_buffers=%s",
		version, show("fsync"), show("synchronous_commit"), show("full_page_writes"), show("shared_buffers"))
}

func (s *system) close() {
	s.mu.Lock()
	procs := s.procs
	s.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].stop()
	}
	if s.db != nil {
		s.db.Close()
	}
	if s.pg != nil {
		s.pg.Stop()
	}
	os.RemoveAll(s.root)
}

// startBackend runs parley-backend on a free port.
func (s *system) startBackend(ctx context.Context, env ...string) (*process, error) {
	port, err := pgcluster.FreePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// Every load visitor comes from this machine's one address: lift the
	// per-address limit on new visitors that exists to stop exactly that.
	env = append([]string{"DATABASE_URL=" + s.dsn, "LINK_SECRET=" + s.secret, "BACKEND_ADDR=" + addr,
		"CHAT_NEW_VISITORS_PER_ADDRESS=100000000"}, env...)
	sock := ""
	if linkOver == "socket" {
		sock = filepath.Join(s.root, fmt.Sprintf("backend-%d.sock", port))
		env = append(env, "BACKEND_SOCKET="+sock)
	}
	p, err := s.start(ctx, "parley-backend", addr, env)
	if err == nil && sock != "" {
		s.mu.Lock()
		if s.sockets == nil {
			s.sockets = map[string]string{}
		}
		s.sockets[p.url] = sock
		s.mu.Unlock()
	}
	return p, err
}

// startPair runs a backend and an edge in front of it with the visitor
// rate limit lifted, serving pprof on pprof and edgePprof when not empty.
func (s *system) startPair(ctx context.Context, pprof, edgePprof string) (be, edge *process, err error) {
	var benv, eenv []string
	if pprof != "" {
		benv = append(benv, "BACKEND_PPROF_ADDR="+pprof)
	}
	if edgePprof != "" {
		eenv = append(eenv, "EDGE_PPROF_ADDR="+edgePprof)
	}
	if be, err = s.startBackend(ctx, benv...); err != nil {
		return nil, nil, err
	}
	edge, err = s.startEdge(ctx, be.url, append(eenv, "EDGE_RATE_BURST=1000000", "EDGE_RATE_PER_SECOND=1000000")...)
	return be, edge, err
}

// startEdge runs parley-edge on a free port in front of backendURL.
func (s *system) startEdge(ctx context.Context, backendURL string, env ...string) (*process, error) {
	port, err := pgcluster.FreePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	env = append([]string{"LINK_SECRET=" + s.secret, "EDGE_ADDR=" + addr, "BACKEND_URL=" + backendURL,
		"PUBLIC_DIR=" + s.dirs.public, "BUILD_DIR=" + s.dirs.build}, env...)
	s.mu.Lock()
	if sock := s.sockets[backendURL]; sock != "" {
		env = append(env, "BACKEND_SOCKET="+sock)
	}
	s.mu.Unlock()
	p, err := s.start(ctx, "parley-edge", addr, env)
	if err != nil {
		return nil, err
	}
	// Healthy is not yet linked: wait for the links to the backend.
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(p.url + "/healthz")
		if err == nil {
			var body []byte
			body, _ = io.ReadAll(res.Body)
			res.Body.Close()
			if !strings.Contains(string(body), `"links":0,`) {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, errors.New("parley-load: the edge never linked to the backend")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// process is one backend or edge.
type process struct {
	name string
	url  string
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	log  strings.Builder
}

func (s *system) start(ctx context.Context, name, addr string, env []string) (*process, error) {
	p := &process{name: name, url: "http://" + addr, done: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(s.dirs.bin, name))
	p.cmd.Env = append(os.Environ(), env...)
	out, _ := p.cmd.StdoutPipe()
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("parley-load: %s: %w (run `make build` first, or pass -bin)", name, err)
	}
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			if p.log.Len() < 1<<20 {
				p.log.WriteString(sc.Text() + "\n")
			}
			p.mu.Unlock()
		}
		p.cmd.Wait()
		close(p.done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-p.done:
			return nil, fmt.Errorf("parley-load: %s exited:\n%s", name, p.output())
		case <-ctx.Done():
			return nil, ctx.Err()
		default:
		}
		if res, err := http.Get(p.url + "/healthz"); err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("parley-load: %s never became healthy:\n%s", name, p.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

func (p *process) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// rssKB returns the process's resident set size from /proc/PID/status.
func (p *process) rssKB() (int64, error) {
	return rssOf(p.cmd.Process.Pid)
}

func rssOf(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, errors.New("parley-load: no VmRSS in /proc status")
}

// pgStatements is how many of PostgreSQL's costliest statements a step
// prints (-pg-statements; 0: pg_stat_statements is not loaded).
var pgStatements int

// printStatements prints the costliest statements since the last reset, and resets.
func (s *system) printStatements(ctx context.Context) {
	if pgStatements <= 0 {
		return
	}
	rows, err := s.db.QueryContext(ctx, `SELECT calls, total_exec_time, total_plan_time, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 160)
		FROM pg_stat_statements ORDER BY total_exec_time + total_plan_time DESC LIMIT $1`, pgStatements)
	if err != nil {
		fmt.Println("   pg_stat_statements:", err)
		return
	}
	defer rows.Close()
	fmt.Println("   costliest statements (calls, ms executing, ms planning, rows, query):")
	for rows.Next() {
		var calls, n int64
		var ms, plan float64
		var q string
		rows.Scan(&calls, &ms, &plan, &n, &q)
		fmt.Printf("     %7d %9.1f %8.1f %8d  %s\n", calls, ms, plan, n, q)
	}
	s.db.ExecContext(ctx, `SELECT pg_stat_statements_reset()`)
}

// Command parley-dev is what `make run` starts: a private PostgreSQL cluster
// in a git-ignored folder (unless DATABASE_URL is set), migrations, the demo
// account, then the backend and edge binaries. Ctrl-C stops everything it started.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleychat/parley/backend/internal/pgcluster"
	"github.com/parleychat/parley/backend/internal/seed"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/internal/hostpage"
	"github.com/parleychat/parley/migrations"
)

func main() {
	dataDir := flag.String("data", ".data", "folder for the local database and demo credentials")
	pgPort := flag.Int("pg-port", 54329, "port of the local PostgreSQL")
	binDir := flag.String("bin", "bin", "folder holding parley-backend and parley-edge")
	edgeAddr := flag.String("edge", envOr("EDGE_ADDR", "127.0.0.1:8080"), "edge listen address")
	backendAddr := flag.String("backend", envOr("BACKEND_ADDR", "127.0.0.1:8081"), "backend listen address")
	flag.StringVar(&mailpitSMTP, "mailpit-smtp", "127.0.0.1:1025", "SMTP address of the local Mailpit (unless SMTP_HOST is set)")
	flag.StringVar(&mailpitUI, "mailpit-ui", "127.0.0.1:8025", "web address of the local Mailpit's mailbox")
	demoAddr := flag.String("demo", envOr("DEMO_ADDR", "127.0.0.1:8090"), "listen address of the demo host pages (an origin of their own, like a customer's site)")
	flag.Parse()
	if err := run(*dataDir, *pgPort, *binDir, *edgeAddr, *backendAddr, *demoAddr); err != nil {
		slog.Error("parley-dev", "err", err)
		os.Exit(1)
	}
}

// Where the local Mailpit listens.
var mailpitSMTP, mailpitUI string

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func run(dataDir string, pgPort int, binDir, edgeAddr, backendAddr, demoAddr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	dsn := os.Getenv("DATABASE_URL")
	if dsn == "" {
		c, err := pgcluster.New(filepath.Join(dataDir, "pg"), pgPort)
		if err != nil {
			return err
		}
		if err := c.Init(); err != nil {
			return err
		}
		if !c.Running() {
			fmt.Println("starting PostgreSQL in", c.Dir, "on port", pgPort)
			if err := c.Start(ctx, false); err != nil {
				return err
			}
			defer func() {
				fmt.Println("stopping PostgreSQL")
				if err := c.Stop(); err != nil {
					slog.Error("stop PostgreSQL", "err", err)
				}
			}()
		}
		if err := c.CreateDatabase(ctx, "parley"); err != nil {
			return err
		}
		dsn = c.URL("parley")
	}

	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		return err
	}
	if _, err := migrations.Apply(ctx, db.DB); err != nil {
		return err
	}
	demo, err := seed.EnsureDemo(ctx, store.New(db), filepath.Join(dataDir, "demo-credentials.json"))
	db.Close()
	if err != nil {
		return err
	}

	secret := os.Getenv("LINK_SECRET")
	if secret == "" {
		secret = store.NewToken()
	}
	env := append(os.Environ(), "DATABASE_URL="+dsn, "LINK_SECRET="+secret,
		"BACKEND_ADDR="+backendAddr, "EDGE_ADDR="+edgeAddr, "BACKEND_URL=http://"+backendAddr)
	var wg sync.WaitGroup
	mailbox := "(SMTP_HOST is set: email goes to " + os.Getenv("SMTP_HOST") + ")"
	if os.Getenv("SMTP_HOST") == "" {
		// Every email Parley sends lands in a local Mailpit, never in a real inbox.
		host, port, _ := net.SplitHostPort(mailpitSMTP)
		mp, err := start(&wg, filepath.Join(binDir, "mailpit"), "mailpit", os.Environ(), "--smtp", mailpitSMTP, "--listen", mailpitUI,
			"--database", filepath.Join(dataDir, "mailpit.db"), "--disable-version-check", "--smtp-disable-rdns", "--quiet")
		if err != nil {
			return err
		}
		defer terminate(mp)
		if err := waitHealthy(ctx, "http://"+mailpitUI+"/api/v1/messages?limit=1"); err != nil {
			return err
		}
		env = append(env, "SMTP_HOST="+host, "SMTP_PORT="+port, "SMTP_TLS=none", "MAIL_FROM=parley@localhost",
			"PUBLIC_URL=http://"+edgeAddr)
		mailbox = "http://" + mailpitUI
	}
	backend, err := start(&wg, filepath.Join(binDir, "parley-backend"), "backend", env)
	if err != nil {
		return err
	}
	defer terminate(backend)
	if err := waitHealthy(ctx, "http://"+backendAddr+"/healthz"); err != nil {
		return err
	}
	edge, err := start(&wg, filepath.Join(binDir, "parley-edge"), "edge", env)
	if err != nil {
		return err
	}
	defer terminate(edge)
	if err := waitHealthy(ctx, "http://"+edgeAddr+"/healthz"); err != nil {
		return err
	}

	base := "http://" + edgeAddr
	// The demo site lives on its own origin, as every customer's site
	// does; the edge serves only what a production edge serves.
	pages, err := hostpage.Start(demoAddr, hostpage.Options{Edge: base, Site: demo.Site}, nil)
	if err != nil {
		return fmt.Errorf("demo host pages: %w", err)
	}
	defer pages.Close()
	fmt.Printf(`
Parley is running.

  Demo host page:  %s/demo/   (a site of its own origin, with the script tag)
  Agent inbox:     %s/inbox   (sign in as %s / %s)
  Admin REST:      %s/api/v1  (Authorization: Bearer %s)
  Script tag:      <script src="%s/loader.js" data-site="%s" async></script>
  Mailbox:         %s   (every email Parley sends)

Press Ctrl-C to stop.
`, pages.URL, base, demo.AgentEmail, demo.AgentPass, base, demo.APIKey, base, demo.Site, mailbox)

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-ctx.Done():
		fmt.Println("\nstopping")
	case <-done:
		return fmt.Errorf("a server exited")
	}
	return nil
}

// child is a running server binary.
type child struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// start runs a server binary with its output prefixed by name.
func start(wg *sync.WaitGroup, path, name string, env []string, args ...string) (*child, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = env
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (did `make build` run?): %w", path, err)
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	wg.Add(1)
	go func() {
		defer wg.Done()
		prefix(out, name)
		cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

func prefix(r io.Reader, name string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fmt.Printf("%-7s | %s\n", name, sc.Text())
	}
}

// terminate asks c to stop, and kills it after 5 seconds.
func terminate(c *child) {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
}

func waitHealthy(ctx context.Context, url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not become healthy", url)
}

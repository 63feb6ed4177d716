// Package pgcluster runs a private PostgreSQL cluster in a folder: the one
// `make run` keeps between runs and the throwaway ones tests start.
package pgcluster

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/lib/pq" // the driver the cluster is checked with
)

// Cluster is a PostgreSQL server whose data lives in Dir and which listens on
// 127.0.0.1:Port only, for user "parley" with a random password kept beside
// Dir (Dir + ".password", readable by this user only): another local user or
// process cannot connect without reading that file.
type Cluster struct {
	Dir      string
	Port     int
	bin      string
	cred     *syscall.Credential
	password string
}

// User is the superuser every cluster is created with.
const User = "parley"

// BinDir finds the folder holding initdb, pg_ctl and postgres.
func BinDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Dir(real), nil
		}
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("pgcluster: PostgreSQL server binaries not found (install Debian's postgresql package)")
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// New describes a cluster in dir listening on port; nothing starts yet.
// PostgreSQL refuses to run as root, so as root the cluster runs as the
// "postgres" system user that Debian's package creates.
func New(dir string, port int) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: abs, Port: port, bin: bin}
	if b, err := os.ReadFile(c.passwordFile()); err == nil {
		c.password = strings.TrimSpace(string(b))
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pgcluster: running as root needs the postgres system user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	return c, nil
}

// URL is the connection string for database name, password included.
func (c *Cluster) URL(name string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", User, url.QueryEscape(c.password), c.Port, name)
}

// Password is the superuser's password (PGPASSWORD for PostgreSQL's tools).
func (c *Cluster) Password() string { return c.password }

func (c *Cluster) passwordFile() string { return c.Dir + ".password" }

// ensurePassword makes the password and its file if there is none yet.
func (c *Cluster) ensurePassword() error {
	if c.password != "" {
		return nil
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	pw := hex.EncodeToString(b[:])
	if err := os.WriteFile(c.passwordFile(), []byte(pw+"\n"), 0o600); err != nil {
		return err
	}
	c.password = pw
	return nil
}

// hbaConf allows the superuser in with its password only, over TCP on the
// loopback addresses (the server has no Unix socket).
const hbaConf = `# Written by Parley's pgcluster: password (SCRAM) only, loopback only.
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
`

// requirePassword turns a cluster made before clusters had passwords (it
// trusted every local connection) into one that wants the password: it
// sets the password, rewrites pg_hba.conf and reloads. A no-op otherwise.
func (c *Cluster) requirePassword(ctx context.Context) error {
	hbaPath := filepath.Join(c.Dir, "pg_hba.conf")
	hba, err := os.ReadFile(hbaPath)
	if err != nil {
		return err
	}
	if string(hba) == hbaConf {
		return nil
	}
	if err := c.ensurePassword(); err != nil {
		return err
	}
	db, err := sql.Open("postgres", c.URL("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `SET password_encryption = 'scram-sha-256'`); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `ALTER ROLE `+quoteIdent(User)+` PASSWORD '`+c.password+`'`); err != nil {
		return fmt.Errorf("pgcluster: set the password: %w", err)
	}
	if err := os.WriteFile(hbaPath, []byte(hbaConf), 0o600); err != nil {
		return err
	}
	if out, err := c.cmd("pg_ctl", "-D", c.Dir, "reload").CombinedOutput(); err != nil {
		return fmt.Errorf("pgcluster: pg_ctl reload: %v\n%s", err, out)
	}
	return nil
}

func (c *Cluster) cmd(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd
}

func (c *Cluster) chown(path string) error {
	if c.cred == nil {
		return nil
	}
	return os.Chown(path, int(c.cred.Uid), int(c.cred.Gid))
}

// Initialized reports whether Dir already holds a cluster.
func (c *Cluster) Initialized() bool {
	_, err := os.Stat(filepath.Join(c.Dir, "PG_VERSION"))
	return err == nil
}

// Init creates the cluster if Dir holds none yet.
func (c *Cluster) Init() error {
	if c.Initialized() {
		return nil
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return err
	}
	if err := c.chown(c.Dir); err != nil {
		return err
	}
	// The postgres user must be able to reach the folder.
	for p := filepath.Dir(c.Dir); c.cred != nil && p != "/"; p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o001 == 0 {
			_ = os.Chmod(p, fi.Mode().Perm()|0o001)
		}
	}
	if err := c.ensurePassword(); err != nil {
		return err
	}
	// initdb reads the password from a file (as the postgres user when root).
	pwFile, err := os.CreateTemp("", "parley-pgpw-")
	if err != nil {
		return err
	}
	defer os.Remove(pwFile.Name())
	_, err = pwFile.WriteString(c.password + "\n")
	if cerr := pwFile.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = c.chown(pwFile.Name())
	}
	if err != nil {
		return err
	}
	out, err := c.cmd("initdb", "-D", c.Dir, "-U", User, "--auth=scram-sha-256", "--pwfile="+pwFile.Name(),
		"-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgcluster: initdb: %v\n%s", err, out)
	}
	return os.WriteFile(filepath.Join(c.Dir, "pg_hba.conf"), []byte(hbaConf), 0o600)
}

// Start starts the server and waits until it accepts connections. fast trades
// durability for speed (fsync off): for throwaway test clusters only.
func (c *Cluster) Start(ctx context.Context, fast bool) error {
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -c unix_socket_directories='' -c max_connections=300", c.Port)
	if fast {
		opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	}
	logFile := filepath.Join(c.Dir, "server.log")
	out, err := c.cmd("pg_ctl", "-D", c.Dir, "-l", logFile, "-o", opts, "-w", "-t", "60", "start").CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(logFile)
		return fmt.Errorf("pgcluster: pg_ctl start: %v\n%s\n%s", err, out, tail(string(log), 2000))
	}
	if err := c.waitReady(ctx); err != nil {
		return err
	}
	return c.requirePassword(ctx)
}

func (c *Cluster) waitReady(ctx context.Context) error {
	db, err := sql.Open("postgres", c.URL("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err = db.PingContext(ctx); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pgcluster: server did not accept connections: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop stops the server (fast shutdown). Stopping a stopped cluster is not an error.
func (c *Cluster) Stop() error {
	if _, err := os.Stat(filepath.Join(c.Dir, "postmaster.pid")); err != nil {
		return nil
	}
	out, err := c.cmd("pg_ctl", "-D", c.Dir, "-m", "fast", "-w", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgcluster: pg_ctl stop: %v\n%s", err, out)
	}
	return nil
}

// Running reports whether the server answers.
func (c *Cluster) Running() bool {
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", c.Port), 200*time.Millisecond)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// CreateDatabase creates database name unless it exists.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) error {
	db, err := sql.Open("postgres", c.URL("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	var exists bool
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = db.ExecContext(ctx, `CREATE DATABASE `+quoteIdent(name))
	return err
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// FreePort asks the kernel for a free loopback TCP port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

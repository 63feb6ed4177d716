package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/cmd/parley-load/chatsim"
	"github.com/parleychat/parley/backend/internal/pgcluster"
	"github.com/parleychat/parley/widget"
)

// TestCaddyInFrontOfTheEdge runs deploy/Caddyfile (its site address and
// upstream swapped for the test's, with Caddy's internal certificate
// authority instead of a public one) in front of an edge that reaches its
// backend over a Unix socket, as deploy/parley.env sets one machine up: a
// visitor and an agent chat through it over HTTPS and wss://, trusting
// only that CA.
func TestCaddyInFrontOfTheEdge(t *testing.T) {
	caddy, err := exec.LookPath("caddy")
	if err != nil {
		t.Fatal("caddy is not installed: run `make deps-caddy` (Debian's caddy package)")
	}
	c := StartCluster(t, ClusterOptions{Env: []string{"EDGE_TRUSTED_PROXIES=127.0.0.1"}, Socket: true})
	port, _ := pgcluster.FreePort()
	httpPort, _ := pgcluster.FreePort()
	dir := t.TempDir()

	example, err := os.ReadFile(filepath.Join(repoRoot(), "deploy", "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	site := strings.Replace(string(example), "chat.example.com {", fmt.Sprintf("localhost:%d {\n\ttls internal", port), 1)
	site = strings.Replace(site, "reverse_proxy 127.0.0.1:8080", "reverse_proxy "+c.Edges[0].Addr, 1)
	if site == string(example) || !strings.Contains(site, "tls internal") || !strings.Contains(site, c.Edges[0].Addr) {
		t.Fatalf("deploy/Caddyfile no longer has the lines this test adapts:\n%s", example)
	}
	conf := fmt.Sprintf("{\n\tadmin off\n\thttp_port %d\n\tskip_install_trust\n\tstorage file_system %s\n}\n\n%s", httpPort, filepath.Join(dir, "data"), site)
	confPath := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(caddy, "run", "--config", confPath, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, "xdg"), "XDG_CONFIG_HOME="+filepath.Join(dir, "xdg"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("caddy:\n%s", out.String())
		}
	})

	// Caddy's internal root certificate: the only one the clients trust.
	rootPath := filepath.Join(dir, "data", "pki", "authorities", "local", "root.crt")
	waitFor(t, "Caddy's internal CA", 60*time.Second, func() bool { _, err := os.Stat(rootPath); return err == nil })
	pem, err := os.ReadFile(rootPath)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatal("Caddy's root certificate does not parse")
	}
	tlsConf := &tls.Config{RootCAs: roots}
	// The agent's client (chatsim) uses the default transport.
	def := http.DefaultTransport.(*http.Transport)
	old := def.TLSClientConfig
	def.TLSClientConfig = tlsConf
	t.Cleanup(func() { def.TLSClientConfig = old })

	front := fmt.Sprintf("https://localhost:%d", port)
	waitFor(t, "the edge through Caddy", 60*time.Second, func() bool {
		res, err := http.Get(front + "/healthz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200 && res.TLS != nil
	})
	res, err := http.Get(front + "/loader.js")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("loader.js through Caddy: %d", res.StatusCode)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	agent, err := chatsim.SignIn(ctx, front, c.Demo.AgentEmail, c.Demo.AgentPass)
	if err != nil {
		t.Fatalf("agent sign-in through Caddy: %v", err)
	}
	list, err := agent.DialLive(ctx)
	if err != nil {
		t.Fatalf("the agent's live socket through Caddy: %v", err)
	}
	defer list.CloseNow()
	if err := chatsim.WriteLive(ctx, list, "list", 0, 0); err != nil {
		t.Fatal(err)
	}
	readLiveFrame(t, ctx, list, "list")

	v := chatsim.NewVisitor(chatsim.VisitorConfig{Edge: front, Site: c.Demo.Site, Chatflow: c.Demo.ChatflowID, IDPrefix: "c", TLS: tlsConf})
	vctx, vstop := context.WithCancel(ctx)
	vdone := make(chan struct{})
	go func() { defer close(vdone); v.Run(vctx) }()
	defer func() { vstop(); <-vdone }()
	waitFor(t, "the visitor's welcome over wss://", 15*time.Second, v.Connected)
	v.Send(ctx, "Hello through Caddy")
	var item *chatsim.ListItem
	for item == nil || !strings.Contains(item.Preview, "Hello through Caddy") {
		f := readLiveFrame(t, ctx, list, "rows")
		for i := range f.Items {
			item = &f.Items[i]
		}
	}
	if _, err := agent.Reply(ctx, item.ID, "r1", "Hello back over HTTPS"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the agent's reply at the visitor", 10*time.Second, func() bool {
		for _, e := range v.Entries() {
			if e.From == widget.FromAgent && e.Text == "Hello back over HTTPS" {
				return true
			}
		}
		return false
	})
}

// TestDeployEnvListsEverySetting: deploy/parley.env names every setting
// the backend and the edge read from the environment.
func TestDeployEnvListsEverySetting(t *testing.T) {
	env, err := os.ReadFile(filepath.Join(repoRoot(), "deploy", "parley.env"))
	if err != nil {
		t.Fatal(err)
	}
	read := regexp.MustCompile(`(?:os\.Getenv|os\.LookupEnv|envOr|envInt|envDuration|StartFromEnv)\("([A-Z][A-Z0-9_]+)"`)
	listed := regexp.MustCompile(`(?m)^#?([A-Z][A-Z0-9_]+)=`)
	have := map[string]bool{}
	for _, m := range listed.FindAllStringSubmatch(string(env), -1) {
		have[m[1]] = true
	}
	var missing []string
	for _, root := range []string{"backend", "edge", "internal", "migrations"} {
		filepath.WalkDir(filepath.Join(repoRoot(), root), func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(repoRoot(), p)
			if d.IsDir() && (strings.HasPrefix(rel, "backend/cmd/parley-dev") || strings.HasPrefix(rel, "backend/cmd/parley-load") ||
				rel == "backend/e2e" || rel == "backend/internal/dbtest" || rel == "backend/internal/pgcluster" || strings.HasSuffix(rel, "test") && rel != "backend/e2e") {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, m := range read.FindAllStringSubmatch(string(b), -1) {
				if !have[m[1]] {
					missing = append(missing, m[1]+" ("+rel+")")
				}
			}
			return nil
		})
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("deploy/parley.env lacks settings the binaries read: %v", missing)
	}
}

// Package mailpittest runs a throwaway Mailpit (a real SMTP server with a
// REST API) for tests, and reads what it caught. The binary comes from the
// Makefile (bin/mailpit, built by `go install`), or PARLEY_MAILPIT.
package mailpittest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Mailpit is a running Mailpit.
type Mailpit struct {
	SMTPPort int
	HTTPPort int
	bin, dir string
	cmd      *exec.Cmd
	t        testing.TB
}

// Binary finds the mailpit binary: PARLEY_MAILPIT, bin/mailpit of the
// repository the test runs in, or mailpit on PATH.
func Binary() (string, error) {
	if b := os.Getenv("PARLEY_MAILPIT"); b != "" {
		return b, nil
	}
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			b := filepath.Join(d, "bin", "mailpit")
			if _, err := os.Stat(b); err == nil {
				return b, nil
			}
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if b, err := exec.LookPath("mailpit"); err == nil {
		return b, nil
	}
	return "", fmt.Errorf("mailpit not found: run `make bin/mailpit` (go install github.com/axllent/mailpit) or set PARLEY_MAILPIT")
}

// Start runs a Mailpit on free ports until the test ends.
func Start(t testing.TB) *Mailpit {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	m := &Mailpit{bin: bin, dir: t.TempDir(), t: t, SMTPPort: freePort(t), HTTPPort: freePort(t)}
	m.Start()
	t.Cleanup(m.Stop)
	return m
}

// Start starts (or restarts, on the same ports and mailbox) the server and
// waits until both its SMTP and HTTP ports answer.
func (m *Mailpit) Start() {
	m.t.Helper()
	m.cmd = exec.Command(m.bin, "--smtp", "127.0.0.1:"+strconv.Itoa(m.SMTPPort), "--listen", "127.0.0.1:"+strconv.Itoa(m.HTTPPort),
		"--database", filepath.Join(m.dir, "mailpit.db"), "--smtp-auth-accept-any", "--smtp-auth-allow-insecure",
		"--disable-version-check", "--smtp-disable-rdns", "--quiet", "--max", "0")
	m.cmd.Stdout, m.cmd.Stderr = os.Stderr, os.Stderr
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("mailpit: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", m.SMTPAddr(), time.Second)
		if err == nil {
			c.Close()
			if r, err := http.Get(m.APIURL() + "/api/v1/messages?limit=1"); err == nil {
				r.Body.Close()
				if r.StatusCode == 200 {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("mailpit did not start on %s", m.SMTPAddr())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends the server (an SMTP outage); Start brings it back.
func (m *Mailpit) Stop() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	m.cmd.Process.Kill()
	m.cmd.Wait()
	m.cmd = nil
}

// SMTPAddr is host:port of the SMTP server.
func (m *Mailpit) SMTPAddr() string { return "127.0.0.1:" + strconv.Itoa(m.SMTPPort) }

// APIURL is the base URL of the web UI and REST API.
func (m *Mailpit) APIURL() string { return "http://127.0.0.1:" + strconv.Itoa(m.HTTPPort) }

// Address is a mailbox address.
type Address struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

// Summary is a message in the list.
type Summary struct {
	ID        string    `json:"ID"`
	MessageID string    `json:"MessageID"`
	From      Address   `json:"From"`
	To        []Address `json:"To"`
	Subject   string    `json:"Subject"`
}

// Message is one message in full.
type Message struct {
	ID        string    `json:"ID"`
	MessageID string    `json:"MessageID"`
	From      Address   `json:"From"`
	To        []Address `json:"To"`
	ReplyTo   []Address `json:"ReplyTo"`
	Subject   string    `json:"Subject"`
	Text      string    `json:"Text"`
	HTML      string    `json:"HTML"`
}

// Messages lists every message caught, newest first.
func (m *Mailpit) Messages() ([]Summary, error) {
	var out struct {
		Messages []Summary `json:"messages"`
	}
	if err := m.get("/api/v1/messages?limit=5000", &out); err != nil {
		return nil, err
	}
	return out.Messages, nil
}

// Message reads one message in full.
func (m *Mailpit) Message(id string) (*Message, error) {
	var out Message
	return &out, m.get("/api/v1/message/"+id, &out)
}

// To returns the full messages sent to addr, oldest first.
func (m *Mailpit) To(addr string) ([]*Message, error) {
	list, err := m.Messages()
	if err != nil {
		return nil, err
	}
	var out []*Message
	for i := len(list) - 1; i >= 0; i-- {
		for _, a := range list[i].To {
			if a.Address == addr {
				msg, err := m.Message(list[i].ID)
				if err != nil {
					return nil, err
				}
				out = append(out, msg)
				break
			}
		}
	}
	return out, nil
}

// WaitTo waits until at least n messages to addr have arrived and returns them.
func (m *Mailpit) WaitTo(t testing.TB, addr string, n int, timeout time.Duration) []*Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got, err := m.To(addr)
		if err == nil && len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit: %d messages to %s after %v, want %d (err %v)", len(got), addr, timeout, n, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (m *Mailpit) get(path string, out any) error {
	r, err := http.Get(m.APIURL() + path)
	if err != nil {
		return err
	}
	defer r.Body.Close()
	if r.StatusCode != 200 {
		return fmt.Errorf("mailpit %s: %s", path, r.Status)
	}
	return json.NewDecoder(r.Body).Decode(out)
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

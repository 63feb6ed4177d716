// Command parley-chat is a terminal chat with a running Parley, built on
// the app SDK (widget/client) the way a mobile app uses it: it resolves a
// mobile tag to its chatflow, starts a conversation, sends each line typed
// on stdin, prints the team's messages, and resumes after the connection
// drops or the command restarts.
//
//	parley-chat -edge http://127.0.0.1:8080 -site demo -tag app.support
//
// Output lines: "* <state or notice>", "[agent] Name: text" for messages,
// "* stored <id> as #<seq>" when the server has a message of yours. The
// visitor token, the conversation and the last seq seen are kept in the
// -state file (mode 0600: the token is a secret), so the next run continues
// the conversation without repeating what was already shown. Type /quit
// (or end stdin) to leave once everything typed is stored; /email ADDRESS
// leaves an email address.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"github.com/parleychat/parley/widget/client"
)

// state is what the -state file keeps between runs.
type state struct {
	Site         string `json:"site"`
	Chatflow     string `json:"chatflow"`
	Token        string `json:"token"`
	Conversation string `json:"conversation"`
	LastSeq      int64  `json:"last_seq"`
}

func main() {
	edgeURL := flag.String("edge", "http://127.0.0.1:8080", "the Parley edge's URL")
	site := flag.String("site", "", "the site key (required)")
	tag := flag.String("tag", "", "the mobile tag that picks the chatflow (required unless -chatflow)")
	cfID := flag.String("chatflow", "", "a chatflow id to use instead of resolving -tag")
	statePath := flag.String("state", "parley-chat.json", "file keeping the token, conversation and last seq between runs; empty keeps nothing")
	drain := flag.Duration("drain", 15*time.Second, "how long to wait at exit for typed messages to be stored")
	flag.Parse()
	if *site == "" || (*tag == "" && *cfID == "") {
		fmt.Fprintln(os.Stderr, "usage: parley-chat -edge URL -site KEY -tag TAG [-state FILE]")
		os.Exit(2)
	}
	if err := run(*edgeURL, *site, *tag, *cfID, *statePath, *drain, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "parley-chat:", err)
		os.Exit(1)
	}
}

func run(edgeURL, site, tag, cfID, statePath string, drain time.Duration, in io.Reader, stdout io.Writer) error {
	out := &printer{w: stdout}
	if cfID == "" {
		cf, err := client.Resolve(edgeURL, site, tag)
		if err != nil {
			return err
		}
		cfID = cf.ID
		out.line("* chatflow %s: %s", cf.ID, clean(cf.HeadingName))
		if cf.Welcome != "" {
			out.line("* %s", clean(cf.Welcome))
		}
	}
	prev, err := loadState(statePath)
	if err != nil {
		return err
	}
	l := &listener{out: out, path: statePath, st: state{Site: site, Chatflow: cfID}}
	c, err := client.NewChat(edgeURL, site, cfID, l)
	if err != nil {
		return err
	}
	l.c = c
	if prev.Site == site && prev.Token != "" {
		c.Resume(prev.Token, prev.Conversation, prev.LastSeq)
		out.line("* resuming conversation %s after #%d", prev.Conversation, prev.LastSeq)
	}
	c.Connect()

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
loop:
	for {
		select {
		case <-sig:
			break loop
		case text, ok := <-lines:
			if !ok || strings.TrimSpace(text) == "/quit" {
				waitStored(c, drain, out)
				break loop
			}
			if addr, ok := strings.CutPrefix(strings.TrimSpace(text), "/email "); ok {
				if err := c.SubmitEmail(addr); err != nil {
					out.line("* %s", err)
				}
				continue
			}
			if _, err := c.Send(text); err != nil {
				out.line("* %s", err)
			}
		}
	}
	c.Close()
	return l.save()
}

// waitStored gives messages typed just before the end time to be stored.
func waitStored(c *client.Chat, d time.Duration, out *printer) {
	deadline := time.Now().Add(d)
	for c.Unsent() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := c.Unsent(); n > 0 {
		out.line("* %d message(s) not stored: the chat is unreachable", n)
	}
}

// listener prints what the client reports and keeps the state file current.
type listener struct {
	out  *printer
	path string
	c    *client.Chat

	mu sync.Mutex
	st state
}

func (l *listener) OnState(s string) {
	l.out.line("* %s", s)
	if s == "connected" {
		l.save() // the token a first welcome brings
	}
}

func (l *listener) OnMessage(m *client.Message) {
	name := clean(m.Name)
	if m.From == "visitor" {
		name = "you"
	}
	l.out.line("[%s] %s: %s", m.From, name, clean(m.Text))
	l.save()
}

func (l *listener) OnSent(id string, seq int64) {
	l.out.line("* stored %s as #%d", id, seq)
	l.save()
}

func (l *listener) OnError(code, id, text string) {
	l.out.line("* %s (%s)", text, code)
}

func (l *listener) OnPresence(state, text string) {
	if text != "" {
		l.out.line("* team %s: %s", state, clean(text))
	}
}

func (l *listener) OnTyping(name string) { l.out.line("* %s is typing…", clean(name)) }

// save writes the state file atomically: a crash leaves the old or the new one.
func (l *listener) save() error {
	if l.path == "" || l.c == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.st.Token, l.st.Conversation, l.st.LastSeq = l.c.Token(), l.c.Conversation(), l.c.LastSeq()
	if l.st.Token == "" {
		return nil
	}
	b, _ := json.MarshalIndent(l.st, "", "  ")
	tmp, err := os.CreateTemp(filepath.Dir(l.path), ".parley-chat-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), l.path) // CreateTemp made it 0600
}

func loadState(path string) (state, error) {
	var st state
	if path == "" {
		return st, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("state file %s is not readable (%v); remove it to start a new conversation", path, err)
	}
	return st, nil
}

// printer writes whole lines from any goroutine.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printer) line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", args...)
}

// clean makes text from the other side safe for a terminal: control
// characters (escape sequences could rewrite the screen) become visible
// escapes and newlines stay on one output line.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return ' '
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			return '\uFFFD'
		}
		return r
	}, s)
}

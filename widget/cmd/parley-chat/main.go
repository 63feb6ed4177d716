// Command parley-chat is a terminal chat with a running Parley, built on
// the app SDK (widget/client) the way a mobile app uses it, and so a
// reference client of the visitor protocol: it resolves a mobile tag to
// its chatflow, starts a conversation, sends each line typed on stdin,
// prints the team's messages, and resumes after the connection drops or
// the command restarts.
//
//	parley-chat -edge http://127.0.0.1:8080 -site demo -tag app.support
//
// Output lines: "* <state or notice>", "[agent] Name: text" for messages,
// "* stored <id> as #<seq>" when the server has a message of yours. Lines
// starting with / are commands (/commands lists them): consent (/consent,
// /agree KIND, /refuse KIND), the survey (/survey SCORE [COMMENT]), quick
// replies (/reply N), files (/file PATH, /get SEQ PATH), the Help tab
// (/help, /search WORDS, /article ID), email (/email ADDRESS), push
// (/push apns|fcm TOKEN, /unpush), /typing, /presence and /quit.
//
// The -state file (mode 0600) is the SDK's storage: once the visitor
// accepted cookies (or the chatflow asks no cookie consent) it keeps the
// visitor token, the conversation and the last seq seen, so the next run
// continues the conversation without repeating what was already shown.
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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"github.com/parleychat/parley/widget"
	"github.com/parleychat/parley/widget/client"
)

func main() {
	edgeURL := flag.String("edge", "http://127.0.0.1:8080", "the Parley edge's URL")
	site := flag.String("site", "", "the site key (required)")
	tag := flag.String("tag", "", "the mobile tag that picks the chatflow (required unless -chatflow)")
	cfID := flag.String("chatflow", "", "a chatflow id to use instead of resolving -tag (no consent notices, Help tab or language then)")
	statePath := flag.String("state", "parley-chat.json", "file the SDK keeps the chat in between runs; empty keeps nothing")
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
	st, err := openStore(statePath)
	if err != nil {
		return err
	}
	l := &listener{out: out}
	var (
		c  *client.Chat
		cf *client.Chatflow
	)
	if cfID == "" {
		if cf, err = client.Resolve(edgeURL, site, tag); err != nil {
			return err
		}
		out.line("* chatflow %s: %s", cf.ID, clean(cf.HeadingName))
		if cf.HeadingImage != "" {
			out.line("* heading image: %s", clean(cf.HeadingImage))
		}
		if cf.ShowCloseButton {
			out.line("* (the app shows a close button)")
		}
		if cf.Welcome != "" {
			out.line("* %s", clean(cf.Welcome))
		}
		c, err = cf.NewChat(l)
	} else {
		c, err = client.NewChat(edgeURL, site, cfID, l)
	}
	if err != nil {
		return err
	}
	l.c = c
	c.SetStorage(st)
	if conv := c.Conversation(); conv != "" {
		out.line("* resuming conversation %s after #%d", conv, c.LastSeq())
	}
	if cf != nil {
		showConsents(out, cf, c)
		if cf.HelpTab {
			out.line("* help articles: /help, /search WORDS, /article ID")
		}
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
			if strings.HasPrefix(strings.TrimSpace(text), "/") {
				command(strings.TrimSpace(text), cf, c, l, out)
				continue
			}
			if _, err := c.Send(text); err != nil {
				out.line("* %s", err)
			} else if c.SendBlocked() {
				out.line("* %s (/agree data_processing)", clean(sentence(cf, "err_consent_required")))
			}
		}
	}
	c.Close()
	return nil
}

func sentence(cf *client.Chatflow, key string) string {
	if cf == nil {
		return client.Sentence("en", key)
	}
	return cf.Sentence(key)
}

// showConsents prints the notices the chatflow asks.
func showConsents(out *printer, cf *client.Chatflow, c *client.Chat) {
	for _, kind := range []string{client.ConsentCookie, client.ConsentDataProcessing, client.ConsentCommunication} {
		n := cf.Consent(kind)
		if n == nil {
			continue
		}
		var b strings.Builder
		for i := 0; i < n.PartCount(); i++ {
			b.WriteString(n.PartText(i))
			if href := n.PartLink(i); href != "" {
				b.WriteString(" <" + href + ">")
			}
		}
		state := ""
		switch {
		case kind == client.ConsentCookie && !c.ConsentNeeded(kind, true):
			state = " (answered)"
		case kind == client.ConsentDataProcessing && n.Mode == "explicit" && !c.SendBlocked():
			state = " (agreed)"
		}
		out.line("* consent %s%s: %s", kind, state, clean(b.String()))
		if n.Accept != "" || n.Decline != "" {
			out.line("*   /agree %s (%s) or /refuse %s (%s)", kind, clean(n.Accept), kind, clean(n.Decline))
		}
	}
}

// command carries out one /command line.
func command(line string, cf *client.Chatflow, c *client.Chat, l *listener, out *printer) {
	name, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	fail := func(err error) {
		if err != nil {
			out.line("* %s", clean(err.Error()))
		}
	}
	needHelp := func() *client.Help {
		if cf == nil || cf.Help() == nil {
			out.line("* this chatflow has no Help tab")
			return nil
		}
		return cf.Help()
	}
	switch name {
	case "/commands":
		out.line("* /consent /agree KIND /refuse KIND /survey SCORE [COMMENT] /reply N /file PATH /get SEQ PATH")
		out.line("* /help /search WORDS /article ID /email ADDRESS /push apns|fcm TOKEN /unpush /typing /presence /quit")
	case "/email":
		fail(c.SubmitEmail(arg))
	case "/consent":
		if cf == nil {
			out.line("* no chatflow settings (started with -chatflow)")
			return
		}
		showConsents(out, cf, c)
	case "/agree":
		fail(c.Agree(arg))
	case "/refuse":
		fail(c.Refuse(arg))
	case "/survey":
		s, comment, _ := strings.Cut(arg, " ")
		score, err := strconv.Atoi(s)
		if err != nil {
			out.line("* %s", clean(sentence(cf, "survey_pick")))
			return
		}
		fail(c.AnswerSurvey(score, comment))
	case "/reply":
		n, err := strconv.Atoi(arg)
		label := l.quickReply(n)
		if err != nil || label == "" {
			out.line("* no quick reply %s", clean(arg))
			return
		}
		_, err = c.Send(label)
		fail(err)
	case "/file":
		data, err := os.ReadFile(arg)
		if err != nil {
			fail(err)
			return
		}
		if err := c.CheckFile(filepath.Base(arg), data); err != nil {
			out.line("* not sent: %s", clean(err.Error()))
			return
		}
		out.line("* %s", clean(strings.ReplaceAll(sentence(cf, "uploading"), "{name}", filepath.Base(arg))))
		id, err := c.SendFile(filepath.Base(arg), data)
		if err != nil {
			out.line("* not sent: %s", clean(err.Error()))
			return
		}
		out.line("* file stored as %s", id)
	case "/get":
		s, path, _ := strings.Cut(arg, " ")
		seq, _ := strconv.ParseInt(s, 10, 64)
		a := l.attachment(seq)
		if a == nil || path == "" {
			out.line("* usage: /get SEQ PATH, SEQ a message with a file")
			return
		}
		data, err := c.Download(a)
		if err == nil {
			err = os.WriteFile(path, data, 0o600)
		}
		if err != nil {
			fail(err)
			return
		}
		out.line("* saved %s (%s) to %s", clean(a.Name), a.SizeText(), clean(path))
	case "/help":
		h := needHelp()
		if h == nil {
			return
		}
		cs, err := h.Categories()
		if err != nil {
			fail(err)
			return
		}
		for i := 0; i < cs.Len(); i++ {
			cat := cs.Get(i)
			out.line("* %s (%d)", clean(cat.Name), cat.ArticleCount)
			for j := 0; j < cat.ArticleLen(); j++ {
				out.line("*   %d: %s", cat.ArticleID(j), clean(cat.ArticleTitle(j)))
			}
		}
	case "/search":
		h := needHelp()
		if h == nil {
			return
		}
		rs, err := h.Search(arg)
		if err != nil {
			fail(err)
			return
		}
		if rs.Len() == 0 {
			out.line("* %s", clean(sentence(cf, "help_none")))
		}
		for i := 0; i < rs.Len(); i++ {
			r := rs.Get(i)
			var b strings.Builder
			for j := 0; j < r.PartCount(); j++ {
				if r.PartMarked(j) {
					b.WriteString("*" + r.PartText(j) + "*")
				} else {
					b.WriteString(r.PartText(j))
				}
			}
			out.line("* %d: %s — %s", r.ArticleID, clean(r.Title), clean(b.String()))
		}
	case "/article":
		h := needHelp()
		if h == nil {
			return
		}
		id, _ := strconv.ParseInt(arg, 10, 64)
		a, err := h.Article(id)
		if err != nil {
			fail(err)
			return
		}
		out.line("* article %d: %s", a.ID, clean(a.Title))
		for _, p := range strings.Split(a.Text, "\n") {
			out.line("*   %s", clean(p))
		}
	case "/push":
		platform, token, _ := strings.Cut(arg, " ")
		fail(c.RegisterPush(platform, strings.TrimSpace(token)))
	case "/unpush":
		fail(c.RemovePush())
	case "/typing":
		c.Typing()
	case "/presence":
		p := c.Presence()
		out.line("* team %s: %s (back at %s, hide %v)", p.State, clean(p.Text), p.BackAt, p.Hide)
	default:
		out.line("* unknown command %s (/commands lists them)", clean(name))
	}
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

// listener prints what the client reports.
type listener struct {
	out *printer
	c   *client.Chat

	mu    sync.Mutex
	quick []string                     // the newest message's quick replies
	files map[int64]*client.Attachment // files of the conversation by seq
	asked bool                         // the email prompt was printed
}

func (l *listener) OnState(s string) { l.out.line("* %s", s) }

func (l *listener) OnMessage(m *client.Message) {
	name := clean(m.Name)
	if m.From == widget.FromVisitor {
		name = "you"
	}
	l.out.line("[%s] %s: %s", m.From, name, clean(m.Text))
	l.mu.Lock()
	l.quick = nil
	for i := 0; i < m.QuickReplyCount(); i++ {
		l.quick = append(l.quick, m.QuickReply(i))
		l.out.line("*   /reply %d: %s", i+1, clean(m.QuickReply(i)))
	}
	if m.Attachment != nil {
		if l.files == nil {
			l.files = map[int64]*client.Attachment{}
		}
		l.files[m.Seq] = m.Attachment
		l.out.line("*   file %s (%s, %s): /get %d PATH", clean(m.Attachment.Name), m.Attachment.Type, m.Attachment.SizeText(), m.Seq)
	}
	l.mu.Unlock()
	if m.Link != "" {
		l.out.line("*   article: %s <%s> (/article %d)", clean(m.LinkTitle), m.Link, m.ArticleID)
	}
	l.c.MarkRead() // the terminal shows it at once
	l.askEmail()
}

func (l *listener) quickReply(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n < 1 || n > len(l.quick) {
		return ""
	}
	return l.quick[n-1]
}

func (l *listener) attachment(seq int64) *client.Attachment {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.files[seq]
}

// askEmail prints the chatflow's email prompt once, when its rule says so.
func (l *listener) askEmail() {
	if !l.c.AskEmail() {
		return
	}
	l.mu.Lock()
	asked := l.asked
	l.asked = true
	l.mu.Unlock()
	if !asked {
		l.out.line("* %s (/email ADDRESS)", clean(l.c.EmailPrompt()))
	}
}

func (l *listener) OnSent(id string, seq int64) {
	l.out.line("* stored %s as #%d", id, seq)
	l.askEmail()
}

func (l *listener) OnError(code, id, text string) { l.out.line("* %s (%s)", clean(text), code) }

func (l *listener) OnPresence(p *client.Presence) {
	line := "* team " + p.State
	if p.Text != "" {
		line += ": " + clean(p.Text)
	}
	if p.BackAt != "" {
		line += " (back at " + clean(p.BackAt) + ")"
	}
	if p.Hide {
		line += " (hidden)"
	}
	l.out.line("%s", line)
	l.askEmail()
}

func (l *listener) OnTyping(name string) { l.out.line("* %s is typing…", clean(name)) }
func (l *listener) OnRead(seq int64)     { l.out.line("* seen up to #%d", seq) }
func (l *listener) OnSurvey(s *client.Survey) {
	var labels []string
	for n := 1; n <= 5; n++ {
		labels = append(labels, strconv.Itoa(n)+"="+s.ScoreLabel(n))
	}
	comment := ""
	if s.AllowComment {
		comment = " [COMMENT]"
	}
	l.out.line("* survey: %s %s (/survey SCORE%s)", clean(s.Question), strings.Join(labels, " "), comment)
}
func (l *listener) OnSurveyAnswered(score int, comment string) {
	l.out.line("* survey answered: %d %s", score, clean(comment))
}
func (l *listener) OnConversationEnd(string) { l.out.line("* the conversation has ended") }
func (l *listener) OnEmail(email string)     { l.out.line("* email stored: %s", clean(email)) }
func (l *listener) OnConsent(kind, d string) { l.out.line("* consent %s %s", kind, d) }
func (l *listener) OnPush(registered bool)   { l.out.line("* push token registered: %v", registered) }

// fileStore is the SDK's Storage in a JSON file, written atomically
// (a crash leaves the old or the new one) with mode 0600.
type fileStore struct {
	path string
	mu   sync.Mutex
	m    map[string]string
}

func openStore(path string) (client.Storage, error) {
	if path == "" {
		return nil, nil
	}
	fs := &fileStore{path: path, m: map[string]string{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return fs, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &fs.m); err != nil {
		return nil, fmt.Errorf("state file %s is not readable (%v); remove it to start a new conversation", path, err)
	}
	return fs, nil
}

func (f *fileStore) Load(key string) string { f.mu.Lock(); defer f.mu.Unlock(); return f.m[key] }
func (f *fileStore) Save(key, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[key] = value
	f.write()
}
func (f *fileStore) Remove(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.m[key]; ok {
		delete(f.m, key)
		f.write()
	}
}

func (f *fileStore) write() {
	b, _ := json.MarshalIndent(f.m, "", "  ")
	tmp, err := os.CreateTemp(filepath.Dir(f.path), ".parley-chat-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, "parley-chat:", err)
		return
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(b, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.path) // CreateTemp made it 0600
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "parley-chat:", err)
	}
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

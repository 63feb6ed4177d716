package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
	"github.com/parleychat/parley/widget/client"
)

// mobileAPI calls the admin REST API through the edge with the demo key.
func mobileAPI(t *testing.T, s *System, method, path, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, s.Edge+"/api/v1"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.Demo.APIKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	json.Unmarshal(raw, &out)
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %s %s", method, path, res.Status, raw)
	}
	return out
}

// resolveUntil resolves tag through the SDK until it gives want (the edge
// caches answers for EDGE_CONFIG_TTL) and returns the last answer.
func resolveUntil(t *testing.T, s *System, tag, want string) *client.Chatflow {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cf, err := client.Resolve(s.Edge, s.Demo.Site, tag)
		if err == nil && cf.ID == want {
			return cf
		}
		if time.Now().After(deadline) {
			t.Fatalf("tag %q resolves to %+v (%v), want chatflow %s", tag, cf, err, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestMobileChatflows runs the mobile checks on one running system (a
// start costs seconds).
func TestMobileChatflows(t *testing.T) {
	s := StartSystem(t)
	t.Run("tag resolution", func(t *testing.T) { mobileTagResolution(t, s) })
	t.Run("terminal chat resumes", func(t *testing.T) { terminalChatResumes(t, s) })
}

// mobileTagResolution: two enabled mobile chatflows share a tag and the
// higher priority one is served, with its mobile settings; disabling it
// serves the other; a tag nobody uses is a clear "not found".
func mobileTagResolution(t *testing.T, s *System) {
	inboxID := mobileInbox(t, s)
	create := func(name string, priority int, extra string) (publicID, id string) {
		cf := mobileAPI(t, s, "POST", "/chatflows", `{"name":"`+name+`","channel":"mobile","mobile_tag":"app.support","enabled":true,
			"priority":`+strconv.Itoa(priority)+`,"inbox_id":`+inboxID+extra+`}`)
		return cf["public_id"].(string), strconv.Itoa(int(cf["id"].(float64)))
	}
	kb := mobileAPI(t, s, "POST", "/knowledge-bases", `{"name":"Mobile app help (e2e)","language":"nl"}`)
	kbID := int64(kb["id"].(float64))
	low, _ := create("Low", 1, `,"language":"de"`)
	high, highID := create("High", 7, `,"language":"nl","look":{"show_close_button":true},"options":{"knowledge_base_id":`+strconv.FormatInt(kbID, 10)+`}`)

	cf := resolveUntil(t, s, "app.support", high)
	if cf.Priority != 7 || cf.Language != "nl" || !cf.ShowCloseButton || cf.KnowledgeBaseID != kbID || cf.PresenceState == "" || cf.Channel != "mobile" {
		t.Fatalf("resolved %+v, want the priority 7 chatflow with its close button, knowledge base and language", cf)
	}

	mobileAPI(t, s, "PATCH", "/chatflows/"+highID, `{"enabled":false}`)
	if cf := resolveUntil(t, s, "app.support", low); cf.Priority != 1 || cf.Language != "de" || cf.ShowCloseButton {
		t.Fatalf("after disabling: %+v", cf)
	}

	_, err := client.Resolve(s.Edge, s.Demo.Site, "app.nobody")
	if err == nil || !strings.Contains(err.Error(), "no enabled mobile chatflow") {
		t.Fatalf("unknown tag: %v, want a clear not-found error", err)
	}
	res, err := http.Get(s.Edge + "/v1/sites/" + s.Demo.Site + "/mobile/app.nobody")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 404 || !strings.Contains(string(body), `"error":"not_found"`) {
		t.Fatalf("unknown tag over HTTP: %d %s", res.StatusCode, body)
	}
}

// mobileInbox returns the id of the demo account's inbox.
func mobileInbox(t *testing.T, s *System) string {
	t.Helper()
	list, _ := mobileAPI(t, s, "GET", "/inboxes", "")["inboxes"].([]any)
	if len(list) == 0 {
		t.Fatal("the demo account has no inbox")
	}
	return strconv.Itoa(int(list[0].(map[string]any)["id"].(float64)))
}

// chatProc is one run of the parley-chat command, driven through its
// stdin and stdout.
type chatProc struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}

	mu    sync.Mutex
	lines []string
}

func startChat(t *testing.T, bin string, args ...string) *chatProc {
	t.Helper()
	p := &chatProc{t: t, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Stderr = os.Stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
		p.cmd.Wait()
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("parley-chat output:\n%s", strings.Join(p.output(), "\n"))
		}
	})
	return p
}

func (p *chatProc) output() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

func (p *chatProc) say(text string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, text+"\n"); err != nil {
		p.t.Fatal(err)
	}
}

// waitLine waits until a line after line index from contains want and
// returns the index after it.
func (p *chatProc) waitLine(from int, want string) int {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		lines := p.output()
		for i := from; i < len(lines); i++ {
			if strings.Contains(lines[i], want) {
				return i + 1
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("parley-chat never printed %q after line %d:\n%s", want, from, strings.Join(lines, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// count returns how many lines contain s.
func (p *chatProc) count(s string) int {
	n := 0
	for _, l := range p.output() {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// terminalChatResumes drives the parley-chat command like a user: it
// resolves a tag, starts a conversation, exchanges messages with an agent,
// rides out an edge restart (messages typed and answered meanwhile arrive
// once each), and a restart of the command resumes the same conversation
// without repeating what it showed.
func terminalChatResumes(t *testing.T, s *System) {
	bin := filepath.Join(t.TempDir(), "parley-chat")
	if err := run(repoRoot(), nil, "go", "build", "-o", bin, "./widget/cmd/parley-chat"); err != nil {
		t.Fatal(err)
	}
	inboxID := mobileInbox(t, s)
	cf := mobileAPI(t, s, "POST", "/chatflows", `{"name":"App","channel":"mobile","mobile_tag":"app.terminal","enabled":true,"inbox_id":`+inboxID+`,
		"welcome":{"messages":{"en":"Hi from the app team"}}}`)
	resolveUntil(t, s, "app.terminal", cf["public_id"].(string))

	ctx := context.Background()
	agent, err := s.Store.UserByLogin(ctx, s.Demo.AgentEmail)
	if err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(t.TempDir(), "state.json")
	args := []string{"-edge", s.Edge, "-site", s.Demo.Site, "-tag", "app.terminal", "-state", statePath}
	chat := startChat(t, bin, args...)
	at := chat.waitLine(0, "Hi from the app team")
	at = chat.waitLine(at, "* connected")
	// The chatflow asks cookie consent: the command keeps nothing until it is given.
	chat.say("/agree cookie")
	at = chat.waitLine(at, "* consent cookie granted")

	chat.say("Hello from the terminal")
	at = chat.waitLine(at, "as #1")
	conv := conversationOf(t, s, statePath)
	agentSays := func(text string) {
		t.Helper()
		if _, _, err := s.Store.AppendMessage(ctx, store.NewMessage{ConversationID: conv.ID, AuthorType: store.AuthorAgent, AuthorID: agent.ID, Body: text}); err != nil {
			t.Fatal(err)
		}
	}
	agentSays("Hi, Ada here. How can I help?")
	at = chat.waitLine(at, "[agent] Ada Agent: Hi, Ada here. How can I help?")

	// The edge goes down: the command reconnects with backoff. What the
	// visitor types meanwhile waits in the outbox; what the agent writes
	// meanwhile is replayed after the resume.
	s.Edges[0].Kill()
	at = chat.waitLine(at, "* reconnecting")
	chat.say("Typed while the edge was down")
	agentSays("Written while you were away")
	s.Edges[0].Start()
	chat.waitLine(at, "[agent] Ada Agent: Written while you were away")
	at = chat.waitLine(at, "* stored")
	agentSays("Last one")
	at = chat.waitLine(at, "Last one")

	for _, line := range []string{"Hi, Ada here", "Written while you were away", "Last one"} {
		if n := chat.count(line); n != 1 {
			t.Errorf("%q printed %d times, want once", line, n)
		}
	}
	// The agent's line is stored at once; the visitor's when the edge is back.
	wantBodies := []string{"Hello from the terminal", "Hi, Ada here. How can I help?", "Written while you were away", "Typed while the edge was down", "Last one"}
	checkThread(t, s, conv.ID, wantBodies)

	// The command ends (end of input) and starts again from its state file:
	// the same conversation, only what is new.
	chat.stdin.Close()
	select {
	case <-chat.done:
	case <-time.After(20 * time.Second):
		t.Fatal("parley-chat did not exit at the end of its input")
	}
	agentSays("Are you still there?")
	again := startChat(t, bin, args...)
	at = again.waitLine(0, "* connected")
	at = again.waitLine(at, "[agent] Ada Agent: Are you still there?")
	again.say("Yes, back again")
	again.waitLine(at, "* stored")
	for _, old := range []string{"Hi, Ada here", "Written while you were away", "Last one", "Hello from the terminal"} {
		if n := again.count(old); n != 0 {
			t.Errorf("the restarted command repeated %q", old)
		}
	}
	checkThread(t, s, conv.ID, append(wantBodies, "Are you still there?", "Yes, back again"))
}

// conversationOf reads the conversation the command's SDK saved in its state file.
func conversationOf(t *testing.T, s *System, statePath string) *store.Conversation {
	t.Helper()
	var sc widget.StoredChat
	deadline := time.Now().Add(10 * time.Second)
	for sc.Conversation == "" {
		b, _ := os.ReadFile(statePath)
		var m map[string]string
		json.Unmarshal(b, &m)
		sc, _ = widget.ParseStoredChat(m["parley:"+s.Demo.Site+":chat"])
		if time.Now().After(deadline) {
			t.Fatalf("state file has no conversation: %s", b)
		}
		if sc.Conversation == "" {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if sc.Token == "" {
		t.Fatal("state file has no token")
	}
	fi, err := os.Stat(statePath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v (%v), want 0600: it holds the visitor token", fi.Mode().Perm(), err)
	}
	c, err := s.Store.ConversationByPublicID(context.Background(), sc.Conversation)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkThread asserts the conversation holds exactly want, in order: no
// message lost, none stored twice.
func checkThread(t *testing.T, s *System, convID int64, want []string) {
	t.Helper()
	var got []string
	if err := s.DB.Select(&got, `SELECT body FROM messages WHERE conversation_id = $1 AND NOT internal ORDER BY seq`, convID); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("conversation holds:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

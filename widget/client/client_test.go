package client

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/widget"
)

// TestExportedAPIIsBindable keeps the package's exported API to what
// `gomobile bind` can carry to Java and Objective-C: basic types, []byte,
// error, pointers to the package's structs and its interfaces. A channel,
// map, slice of structs, func or another package's type fails.
func TestExportedAPIIsBindable(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	structs, ifaces := map[string]bool{}, map[string]bool{}
	var parsed []*ast.File
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
		for _, d := range f.Decls {
			if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.TYPE {
				for _, s := range gd.Specs {
					ts := s.(*ast.TypeSpec)
					switch ts.Type.(type) {
					case *ast.StructType:
						structs[ts.Name.Name] = true
					case *ast.InterfaceType:
						ifaces[ts.Name.Name] = true
					}
				}
			}
		}
	}
	ok := func(e ast.Expr) bool {
		switch e := e.(type) {
		case *ast.Ident:
			switch e.Name {
			case "string", "bool", "int", "int8", "int16", "int32", "int64", "float32", "float64", "byte", "rune", "error":
				return true
			}
			return ifaces[e.Name] && ast.IsExported(e.Name)
		case *ast.StarExpr:
			id, isID := e.X.(*ast.Ident)
			return isID && structs[id.Name] && ast.IsExported(id.Name)
		case *ast.ArrayType:
			id, isID := e.Elt.(*ast.Ident)
			return e.Len == nil && isID && id.Name == "byte"
		}
		return false
	}
	check := func(where string, fl *ast.FieldList) {
		if fl == nil {
			return
		}
		for _, f := range fl.List {
			if !ok(f.Type) {
				t.Errorf("%s: type %s is not bindable by gomobile", where, types.ExprString(f.Type))
			}
		}
	}
	n := 0
	for _, f := range parsed {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				where := d.Name.Name
				if d.Recv != nil {
					recv := d.Recv.List[0].Type
					if st, isStar := recv.(*ast.StarExpr); isStar {
						recv = st.X
					}
					if !ast.IsExported(recv.(*ast.Ident).Name) {
						continue
					}
					where = recv.(*ast.Ident).Name + "." + where
				}
				if d.Type.TypeParams != nil {
					t.Errorf("%s is generic", where)
				}
				check(where, d.Type.Params)
				check(where, d.Type.Results)
				n++
			case *ast.GenDecl:
				for _, s := range d.Specs {
					ts, isType := s.(*ast.TypeSpec)
					if !isType || !ts.Name.IsExported() {
						continue
					}
					switch typ := ts.Type.(type) {
					case *ast.StructType:
						for _, f := range typ.Fields.List {
							for _, name := range f.Names {
								if name.IsExported() && !ok(f.Type) {
									t.Errorf("%s.%s: type %s is not bindable by gomobile", ts.Name.Name, name.Name, types.ExprString(f.Type))
								}
							}
						}
					case *ast.InterfaceType:
						for _, m := range typ.Methods.List {
							fn := m.Type.(*ast.FuncType)
							check(ts.Name.Name+"."+m.Names[0].Name, fn.Params)
							check(ts.Name.Name+"."+m.Names[0].Name, fn.Results)
						}
					default:
						t.Errorf("exported type %s is neither a struct nor an interface", ts.Name.Name)
					}
				}
			}
		}
	}
	if n < 10 {
		t.Fatalf("checked only %d exported functions and methods", n)
	}
}

// scriptServer is a real WebSocket server speaking the server side of the
// protocol from a script, to check what the client does on the wire.
type scriptServer struct {
	t      *testing.T
	mu     sync.Mutex
	hellos []widget.Frame
	sends  []widget.Frame
	conns  chan *websocket.Conn
	frames chan widget.Frame
}

func (s *scriptServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	s.conns <- c
	for {
		_, b, err := c.Read(context.Background())
		if err != nil {
			return
		}
		var f widget.Frame
		json.Unmarshal(b, &f)
		s.frames <- f
	}
}

func (s *scriptServer) next(typ string) widget.Frame {
	s.t.Helper()
	for {
		select {
		case f := <-s.frames:
			if f.Type == typ {
				return f
			}
		case <-time.After(10 * time.Second):
			s.t.Fatalf("the client sent no %s frame", typ)
		}
	}
}

func write(t *testing.T, c *websocket.Conn, f widget.Frame) {
	t.Helper()
	if err := c.Write(context.Background(), websocket.MessageText, []byte(widget.EncodeFrame(f))); err != nil {
		t.Fatal(err)
	}
}

// recorder is a Listener that records what it heard, one line per call.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) add(s string)     { r.mu.Lock(); r.lines = append(r.lines, s); r.mu.Unlock() }
func (r *recorder) OnState(s string) { r.add("state " + s) }
func (r *recorder) OnMessage(m *Message) {
	r.add("message " + m.From + " " + m.Text)
}
func (r *recorder) OnSent(id string, seq int64)   { r.add("sent " + id) }
func (r *recorder) OnError(code, id, text string) { r.add("error " + code) }
func (r *recorder) OnPresence(p *Presence)        { r.add("presence " + p.State) }
func (r *recorder) OnTyping(name string)          { r.add("typing " + name) }
func (r *recorder) OnRead(seq int64)              { r.add("read") }
func (r *recorder) OnSurvey(s *Survey)            { r.add("survey " + s.Question) }
func (r *recorder) OnSurveyAnswered(int, string)  { r.add("survey answered") }
func (r *recorder) OnConversationEnd(string)      { r.add("end") }
func (r *recorder) OnEmail(email string)          { r.add("email " + email) }
func (r *recorder) OnConsent(kind, d string)      { r.add("consent " + kind + " " + d) }
func (r *recorder) OnPush(registered bool)        { r.add("push") }

func (r *recorder) wait(t *testing.T, line string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, l := range r.lines {
			if l == line {
				r.mu.Unlock()
				return
			}
		}
		r.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("listener never heard %q: %q", line, r.lines)
}

func (r *recorder) count(line string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, l := range r.lines {
		if l == line {
			n++
		}
	}
	return n
}

// TestReconnectResendsAndDedupes: after the socket drops, the client says
// hello with its token, conversation and last seq, resends the message
// that was never acknowledged under the same id, and shows a replayed
// message once.
func TestReconnectResendsAndDedupes(t *testing.T) {
	srv := &scriptServer{t: t, conns: make(chan *websocket.Conn, 4), frames: make(chan widget.Frame, 64)}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	rec := &recorder{}
	c, err := NewChat(hs.URL, "demo", "cf_1", rec)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Resume("tok-earlier", "conv_1", 3)
	first, err := c.Send("queued before connecting")
	if err != nil {
		t.Fatal(err)
	}
	c.Connect()

	conn := <-srv.conns
	h := srv.next(widget.FrameHello)
	if h.V != widget.ProtocolVersion || h.Site != "demo" || h.Chatflow != "cf_1" || h.Token != "tok-earlier" || h.Conversation != "conv_1" || h.LastSeq != 3 {
		t.Fatalf("hello %+v", h)
	}
	write(t, conn, widget.Frame{Type: widget.FrameWelcome, Token: "tok-earlier", Conversation: "conv_1", LastSeq: 4})
	if s := srv.next(widget.FrameSend); s.ID != first || s.Text != "queued before connecting" {
		t.Fatalf("send %+v", s)
	}
	write(t, conn, widget.Frame{Type: widget.FrameMessage, Seq: 4, From: widget.FromAgent, Name: "Ada", Text: "missed while away"})
	rec.wait(t, "message agent missed while away")

	// A second message goes out but the socket drops before its ack.
	second, _ := c.Send("lost ack")
	srv.next(widget.FrameSend)
	conn.CloseNow()

	conn = <-srv.conns
	h = srv.next(widget.FrameHello)
	if h.Token != "tok-earlier" || h.Conversation != "conv_1" || h.LastSeq != 4 {
		t.Fatalf("hello after the drop %+v, want last_seq 4", h)
	}
	write(t, conn, widget.Frame{Type: widget.FrameWelcome, Token: "tok-earlier", Conversation: "conv_1", LastSeq: 6})
	ids := []string{srv.next(widget.FrameSend).ID, srv.next(widget.FrameSend).ID}
	if ids[0] != first || ids[1] != second {
		t.Fatalf("resent %v, want %s then %s under their own ids", ids, first, second)
	}
	// The server stored the first before the drop: its replay confirms it;
	// the agent's message is replayed again and must not show twice.
	write(t, conn, widget.Frame{Type: widget.FrameMessage, Seq: 4, From: widget.FromAgent, Name: "Ada", Text: "missed while away"})
	write(t, conn, widget.Frame{Type: widget.FrameMessage, Seq: 5, ID: first, From: widget.FromVisitor, Text: "queued before connecting"})
	write(t, conn, widget.Frame{Type: widget.FrameAck, ID: second, Seq: 6, Conversation: "conv_1"})
	write(t, conn, widget.Frame{Type: widget.FrameMessage, Seq: 6, ID: second, From: widget.FromVisitor, Text: "lost ack"})
	write(t, conn, widget.Frame{Type: widget.FrameMessage, Seq: 7, From: widget.FromAgent, Name: "Ada", Text: "done"})
	rec.wait(t, "message agent done")

	if n := rec.count("message agent missed while away"); n != 1 {
		t.Errorf("replayed message shown %d times", n)
	}
	if rec.count("sent "+first) != 1 || rec.count("sent "+second) != 1 || c.Unsent() != 0 {
		t.Errorf("sent reports %q, unsent %d", rec.lines, c.Unsent())
	}
	if rec.count("message visitor queued before connecting") != 0 || rec.count("message visitor lost ack") != 0 {
		t.Errorf("the visitor's own messages came back as new: %q", rec.lines)
	}
	if c.LastSeq() != 7 || c.Token() != "tok-earlier" || c.Conversation() != "conv_1" {
		t.Errorf("resume state %q %q %d", c.Token(), c.Conversation(), c.LastSeq())
	}
	c.Close()
	rec.wait(t, "state closed")
}

// TestUnknownChatflowStops: close 4404 is final; the client does not retry.
func TestUnknownChatflowStops(t *testing.T) {
	srv := &scriptServer{t: t, conns: make(chan *websocket.Conn, 4), frames: make(chan widget.Frame, 64)}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	rec := &recorder{}
	c, _ := NewChat(hs.URL, "demo", "cf_gone", rec)
	defer c.Close()
	c.Connect()
	conn := <-srv.conns
	srv.next(widget.FrameHello)
	write(t, conn, widget.Frame{Type: widget.FrameError, Code: widget.ErrNotFound, Message: "Unknown chatflow."})
	conn.Close(widget.CloseNotFound, "unknown chatflow")
	rec.wait(t, "state unavailable")
	rec.wait(t, "error not_found")
	select {
	case <-srv.conns:
		t.Fatal("the client reconnected after 4404")
	case <-time.After(1500 * time.Millisecond):
	}
}

func TestBadInput(t *testing.T) {
	if _, err := NewChat("ftp://x", "demo", "cf", nil); err == nil {
		t.Error("an ftp edge URL was accepted")
	}
	if _, err := Resolve("http://127.0.0.1:1", "", "tag"); err == nil || !strings.Contains(err.Error(), "site") {
		t.Errorf("empty site: %v", err)
	}
	c, _ := NewChat("https://chat.example.com", "demo", "cf", nil)
	if _, err := c.Send("   "); err == nil {
		t.Error("an empty message was queued")
	}
	if _, err := c.Send(strings.Repeat("x", widget.MaxTextRunes+1)); err == nil {
		t.Error("an oversized message was queued")
	}
	if c.Unsent() != 0 {
		t.Errorf("unsent %d after refusals", c.Unsent())
	}
	c.Close()
	if _, err := c.Send("after close"); err == nil {
		t.Error("sent after Close")
	}
}

// TestIdentifyGoesIntoHello: an identified chat sends email and id_token
// in every hello and reports the welcome's outcome.
func TestIdentifyGoesIntoHello(t *testing.T) {
	srv := &scriptServer{t: t, conns: make(chan *websocket.Conn, 4), frames: make(chan widget.Frame, 64)}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c, _ := NewChat(hs.URL, "demo", "cf", nil)
	defer c.Close()
	c.Identify("ann@example.com", "id-tok")
	c.Connect()
	conn := <-srv.conns
	h := srv.next(widget.FrameHello)
	if h.Email != "ann@example.com" || h.IDToken != "id-tok" {
		t.Fatalf("hello %+v", h)
	}
	if err := conn.Write(context.Background(), websocket.MessageText,
		[]byte(`{"type":"welcome","token":"v","warning":"The identification token has expired."}`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.IdentificationWarning() == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c.Identified() || c.IdentificationWarning() != "The identification token has expired." {
		t.Fatalf("identified=%v warning=%q", c.Identified(), c.IdentificationWarning())
	}
}

package widget

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestProtocolDocMatchesCode keeps PROTOCOL.md and the code in step: every
// frame type, frame field, error code and close code the code declares is
// documented, and everything documented exists, both directions.
func TestProtocolDocMatchesCode(t *testing.T) {
	doc, err := os.ReadFile("PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	md := string(doc)
	code := protocolConsts(t)

	docClient := column(t, md, "### Frames a client sends")
	docServer := column(t, md, "### Frames the server sends")
	// A client frame is in the client table, a server frame in the server
	// table; the server may also send a client frame type back (typing,
	// read, email), so the server table may name those too.
	same(t, "frames a client sends", docClient, code.client)
	for _, typ := range code.server {
		if !slices.Contains(docServer, typ) {
			t.Errorf("frame type %q (server) is not in PROTOCOL.md's server table", typ)
		}
	}
	for _, typ := range docServer {
		if !slices.Contains(code.server, typ) && !slices.Contains(code.client, typ) {
			t.Errorf("PROTOCOL.md documents server frame %q, which protocol.go does not declare", typ)
		}
	}

	same(t, "error codes", column(t, md, "### Error codes"), code.errors)
	same(t, "close codes", column(t, md, "### Close codes"), code.closes)

	var fields []string
	ft := reflect.TypeFor[Frame]()
	for i := range ft.NumField() {
		fields = append(fields, strings.Split(ft.Field(i).Tag.Get("json"), ",")[0])
	}
	same(t, "frame fields", column(t, md, "### Frame fields"), fields)

	if !strings.Contains(md, "Protocol version: **"+strconv.Itoa(ProtocolVersion)+"**") {
		t.Errorf("PROTOCOL.md does not say Protocol version: **%d**", ProtocolVersion)
	}
}

// codeConsts are the protocol's constants as declared in the package's source.
type codeConsts struct {
	client, server, errors, closes []string
}

// protocolConsts reads every Frame*, Err* (string) and Close* constant of
// the package. A frame type is the client's or the server's by the doc
// comment of its const block ("a client sends" / "the server sends").
func protocolConsts(t *testing.T) codeConsts {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var out codeConsts
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			block := strings.ToLower(gd.Doc.Text())
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok {
						continue
					}
					n := id.Name
					switch {
					case strings.HasPrefix(n, "Frame") && lit.Kind == token.STRING:
						v, _ := strconv.Unquote(lit.Value)
						switch {
						case strings.Contains(block, "client"):
							out.client = append(out.client, v)
						case strings.Contains(block, "server"):
							out.server = append(out.server, v)
						default:
							t.Errorf("%s: declare frame type %s in the client or the server const block", fset.Position(id.Pos()), n)
						}
					case strings.HasPrefix(n, "Err") && lit.Kind == token.STRING:
						v, _ := strconv.Unquote(lit.Value)
						out.errors = append(out.errors, v)
					case strings.HasPrefix(n, "Close") && lit.Kind == token.INT:
						out.closes = append(out.closes, lit.Value)
					}
				}
			}
		}
	}
	if len(out.client) == 0 || len(out.server) == 0 || len(out.errors) == 0 || len(out.closes) == 0 {
		t.Fatalf("found no protocol constants: %+v", out)
	}
	return out
}

// column returns the first column of the first table after heading, with
// code quotes removed.
func column(t *testing.T, md, heading string) []string {
	t.Helper()
	i := strings.Index(md, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("PROTOCOL.md has no heading %q", heading)
	}
	var vals []string
	inTable := false
	for _, line := range strings.Split(md[i+len(heading)+2:], "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if inTable || strings.HasPrefix(line, "#") {
				break
			}
			continue
		}
		cell := strings.TrimSpace(strings.Split(line, "|")[1])
		if !inTable { // the header row
			inTable = true
			continue
		}
		if strings.Trim(cell, "-: ") == "" {
			continue // the separator row
		}
		vals = append(vals, strings.Trim(cell, "`"))
	}
	if len(vals) == 0 {
		t.Fatalf("PROTOCOL.md: no table rows under %q", heading)
	}
	return vals
}

// same reports what is in one list and not the other, and duplicates.
func same(t *testing.T, what string, doc, code []string) {
	t.Helper()
	for i, v := range doc {
		if slices.Contains(doc[:i], v) {
			t.Errorf("%s: PROTOCOL.md lists %q twice", what, v)
		}
		if !slices.Contains(code, v) {
			t.Errorf("%s: PROTOCOL.md documents %q, which the code does not have", what, v)
		}
	}
	for _, v := range code {
		if !slices.Contains(doc, v) {
			t.Errorf("%s: the code has %q, which PROTOCOL.md does not document", what, v)
		}
	}
}

package inbox

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestProtocolDocMatchesCode keeps PROTOCOL.md and live.go in step: every
// frame type, frame field, row field and close code the code has is
// documented, and everything documented exists, both directions.
func TestProtocolDocMatchesCode(t *testing.T) {
	doc, err := os.ReadFile("PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	md := string(doc)
	page, server, closes, params := liveConsts(t)

	same(t, "frames a page sends", column(t, md, "### Frames a page sends"), page)
	// The server answers some of the page's types in kind (list, alerts,
	// typing, read): its table may name those too, and must name its own.
	docServer := column(t, md, "### Frames the server sends")
	for _, typ := range server {
		if !slices.Contains(docServer, typ) {
			t.Errorf("frame type %q (server) is not in PROTOCOL.md's server table", typ)
		}
	}
	for i, typ := range docServer {
		if slices.Contains(docServer[:i], typ) {
			t.Errorf("PROTOCOL.md lists server frame %q twice", typ)
		}
		if !slices.Contains(server, typ) && !slices.Contains(page, typ) {
			t.Errorf("PROTOCOL.md documents server frame %q, which live.go does not declare", typ)
		}
	}

	var fields []string
	for _, v := range []any{clientFrame{}, serverFrame{}} {
		for _, f := range jsonFields(v) {
			if !slices.Contains(fields, f) {
				fields = append(fields, f)
			}
		}
	}
	same(t, "frame fields", column(t, md, "### Frame fields"), fields)
	same(t, "row fields", column(t, md, "### Row fields"), jsonFields(listItem{}))
	same(t, "close codes", column(t, md, "### Close codes"), closes)
	same(t, "handshake parameters", column(t, md, "### Handshake parameters"), params)
	// The page asks for every parameter the document names.
	js, err := os.ReadFile("../../../public/inbox/inbox.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range params {
		if !strings.Contains(string(js), "/inbox/ws?"+p+"=") {
			t.Errorf("inbox.js does not open the socket with %q", p)
		}
	}
}

// jsonFields are the JSON names of a struct's exported fields.
func jsonFields(v any) []string {
	var out []string
	ft := reflect.TypeOf(v)
	for i := range ft.NumField() {
		f := ft.Field(i)
		if !f.IsExported() {
			continue
		}
		out = append(out, strings.Split(f.Tag.Get("json"), ",")[0])
	}
	return out
}

// liveConsts reads live.go's frame types, by the doc comment of their
// const block ("a page sends" / "the server sends"), its close codes and
// its handshake's query parameters (param…).
func liveConsts(t *testing.T) (page, server, closes, params []string) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "live.go", nil, parser.ParseComments)
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
				switch n := id.Name; {
				case strings.HasPrefix(n, "live") && lit.Kind == token.STRING:
					v, _ := strconv.Unquote(lit.Value)
					switch {
					case strings.Contains(block, "a page sends"):
						page = append(page, v)
					case strings.Contains(block, "the server sends"):
						server = append(server, v)
					default:
						t.Errorf("%s: declare frame type %s in the page's or the server's const block", fset.Position(id.Pos()), n)
					}
				case strings.HasPrefix(n, "Close") && lit.Kind == token.INT:
					closes = append(closes, lit.Value)
				case strings.HasPrefix(n, "param") && lit.Kind == token.STRING:
					v, _ := strconv.Unquote(lit.Value)
					params = append(params, v)
				}
			}
		}
	}
	if len(page) == 0 || len(server) == 0 || len(closes) == 0 || len(params) == 0 {
		t.Fatalf("found no protocol constants: %v %v %v %v", page, server, closes, params)
	}
	return page, server, closes, params
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

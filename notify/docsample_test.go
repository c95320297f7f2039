package notify_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDocSampleMatches keeps the receiver sample of docs/alerts.md
// identical to sample_test.go, which compiles with these tests and is run
// against real deliveries: the doc's code is tested code.
func TestDocSampleMatches(t *testing.T) {
	doc, err := os.ReadFile("../docs/alerts.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- sample: notify/sample_test.go -->\\s*```go\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/alerts.md has no block after <!-- sample: notify/sample_test.go -->")
	}
	file, err := os.ReadFile("sample_test.go")
	if err != nil {
		t.Fatal(err)
	}
	docImports, docBody := split(t, "docs/alerts.md", m[1])
	fileImports, fileBody := split(t, "sample_test.go", file)
	if !slices.Equal(docImports, fileImports) {
		t.Errorf("imports differ:\ndoc  %v\nfile %v", docImports, fileImports)
	}
	if docBody != fileBody {
		t.Errorf("the doc's sample differs from sample_test.go after the imports:\n--- doc\n%s\n--- file\n%s", docBody, fileBody)
	}
}

// split parses a Go file and returns its import paths and its text after
// the import declaration.
func split(t *testing.T, name string, src []byte) ([]string, string) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		t.Fatalf("%s does not parse: %v", name, err)
	}
	var paths []string
	for _, imp := range f.Imports {
		paths = append(paths, strings.Trim(imp.Path.Value, `"`))
	}
	var end token.Pos
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.IMPORT {
			end = g.End()
		}
	}
	if !end.IsValid() {
		t.Fatalf("%s has no imports", name)
	}
	return paths, strings.TrimSpace(string(src[fset.Position(end).Offset:]))
}

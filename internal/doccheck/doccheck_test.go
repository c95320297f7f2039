package doccheck_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/internal/doccheck"
)

// TestHIPAACitationsExist: every test docs/hipaa.md tells an auditor to
// run exists, in the package the command names, and its links lead to
// files that exist.
func TestHIPAACitationsExist(t *testing.T) {
	root := moduleRoot(t)
	path := filepath.Join(root, "docs", "hipaa.md")
	md, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cits, err := doccheck.Citations(string(md), true)
	if err != nil {
		t.Error(err)
	}
	if len(cits) < 30 {
		t.Errorf("docs/hipaa.md cites %d tests; the mapping of every safeguard cites more", len(cits))
	}
	for _, p := range doccheck.Missing(root, cits) {
		t.Error("docs/hipaa.md " + p)
	}
	for _, p := range doccheck.BrokenLinks(path, string(md)) {
		t.Error("docs/hipaa.md " + p)
	}
}

// TestDocsCitationsExist: the same for the tests any other document
// names in the command form (other mentions of go test are free there).
func TestDocsCitationsExist(t *testing.T) {
	root := moduleRoot(t)
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range append(docs, filepath.Join(root, "README.md")) {
		md, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, path)
		cits, err := doccheck.Citations(string(md), false)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
		}
		for _, p := range doccheck.Missing(root, cits) {
			t.Errorf("%s %s", rel, p)
		}
	}
}

// TestCheckerFindsWhatIsMissing: a fabricated document citing a test that
// does not exist, a package that does not exist, an unknown subtest, a
// pattern that is not one name and a missing file is refused for each.
func TestCheckerFindsWhatIsMissing(t *testing.T) {
	root := moduleRoot(t)
	md := strings.Join([]string{
		"| x | `go test ./sqlite/ -run '^TestAppendOnlyTriggers$'` |",                          // 1: exists
		"| x | `go test ./sqlite/ -run '^TestNoSuchThing$'` |",                                 // 2: no such test
		"| x | `go test ./nosuchpkg/ -run '^TestAppendOnlyTriggers$'` |",                       // 3: no such package
		"| x | `go test ./sqlite/ -run '^TestConformance$/^Filters$'` |",                       // 4: exists
		"| x | `go test ./sqlite/ -run '^TestConformance$/^NoSuchSub$'` |",                     // 5: no such subtest
		"| x | `go test ./ -run '^TestPrepareGolden$'` |",                                      // 6: the root package, exists
		"| x | `go test ./sqlite/ -run 'TestAppend'` |",                                        // 7: not anchored
		"| x | `go test ./sqlite/ -run TestAppendOnlyTriggers` |",                              // 8: not quoted: not a citation
		"[a doc](ledger.md) and [none](no-such-file.md#part) and [web](https://example.org/x)", // 9
	}, "\n")
	cits, err := doccheck.Citations(md, true)
	if err == nil || !strings.Contains(err.Error(), "line 7: -run 'TestAppend'") || !strings.Contains(err.Error(), "line 8: a go test command not of the form") {
		t.Errorf("malformed citations: %v", err)
	}
	var lines []int
	for _, c := range cits {
		lines = append(lines, c.Line)
	}
	if !slices.Equal(lines, []int{1, 2, 3, 4, 5, 6}) {
		t.Errorf("citations on lines %v", lines)
	}
	if loose, err := doccheck.Citations(md, false); err != nil || len(loose) != len(cits) {
		t.Errorf("not strict, other patterns are left alone: %d citations, %v", len(loose), err)
	}
	missing := doccheck.Missing(root, cits)
	want := []string{
		"line 2: go test ./sqlite/ -run '^TestNoSuchThing$': no test TestNoSuchThing in ./sqlite",
		"line 3: go test ./nosuchpkg/ -run '^TestAppendOnlyTriggers$': no test files in ./nosuchpkg",
		"line 5: go test ./sqlite/ -run '^TestConformance$/^NoSuchSub$': no t.Run(\"NoSuchSub\", ...) in the module",
	}
	if !slices.Equal(missing, want) {
		t.Errorf("missing:\n  %s\nwant:\n  %s", strings.Join(missing, "\n  "), strings.Join(want, "\n  "))
	}
	broken := doccheck.BrokenLinks(filepath.Join(root, "docs", "x.md"), md)
	if !slices.Equal(broken, []string{"line 9: no-such-file.md: no such file"}) {
		t.Errorf("broken links %v", broken)
	}
}

// moduleRoot is the directory of the module's go.mod, above the test's.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module github.com/vigilhq/vigil\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod of github.com/vigilhq/vigil above the test's directory")
		}
		dir = parent
	}
}

package archtest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/internal/archtest"
)

// TestImportRules: every package of the module imports only what its rule
// allows, and the table places exactly the packages there are.
func TestImportRules(t *testing.T) {
	for _, v := range archtest.Check(listPackages(t), archtest.Rules, archtest.Confined) {
		t.Error(v)
	}
}

// TestArchitectureDocShowsTheRules: docs/architecture.md shows the table
// the test checks, row for row.
func TestArchitectureDocShowsTheRules(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(moduleRoot(t), "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := archtest.Table(archtest.Rules); !strings.Contains(string(doc), want) {
		t.Errorf("docs/architecture.md does not show the import rules of internal/archtest; its table must read:\n\n%s", want)
	}
}

const m = archtest.Module

// A small tree that keeps its rules; each case of TestCheckFindsViolations
// breaks it one way.
func tree() ([]archtest.Package, map[string]archtest.Rule, map[string][]string) {
	pkgs := []archtest.Package{
		{ImportPath: m, Imports: []string{"context", "time"}},
		{ImportPath: m + "/ledger", Imports: []string{m, "crypto/sha256"}},
		{ImportPath: m + "/sqlite", Imports: []string{m, m + "/ledger", "modernc.org/sqlite"},
			XTestImports: []string{m, m + "/sqlite", m + "/storetest", "testing"}},
		{ImportPath: m + "/storetest", Imports: []string{m, "testing"}},
		{ImportPath: m + "/http", Imports: []string{m, "net/http"}, XTestImports: []string{m + "/http", m + "/sqlite"}},
		{ImportPath: m + "/cmd/vigil", Imports: []string{m + "/http", m + "/sqlite"}, TestImports: []string{m + "/storetest"}},
	}
	rules := map[string]archtest.Rule{
		".":         {},
		"ledger":    {Imports: []string{"."}},
		"sqlite":    {Imports: []string{".", "ledger"}, Tests: []string{"storetest"}},
		"storetest": {Imports: []string{"."}, TestHelper: true},
		"http":      {Imports: []string{"."}, Tests: []string{"sqlite"}},
		"cmd/vigil": {Command: true},
	}
	confined := map[string][]string{"modernc.org/sqlite": {"sqlite"}}
	return pkgs, rules, confined
}

func pkg(pkgs []archtest.Package, path string) *archtest.Package {
	for i := range pkgs {
		if pkgs[i].ImportPath == path {
			return &pkgs[i]
		}
	}
	panic(path)
}

// TestCheckFindsViolations: the checker passes a tree that keeps its rules
// and names each way of breaking them.
func TestCheckFindsViolations(t *testing.T) {
	for _, c := range []struct {
		name   string
		break_ func(pkgs *[]archtest.Package, rules map[string]archtest.Rule, confined map[string][]string)
		want   []string
	}{
		{"kept", func(*[]archtest.Package, map[string]archtest.Rule, map[string][]string) {}, nil},
		{"the root imports a store", func(p *[]archtest.Package, _ map[string]archtest.Rule, _ map[string][]string) {
			pkg(*p, m).Imports = append(pkg(*p, m).Imports, m+"/sqlite")
		}, []string{". imports sqlite: it may import only nothing of the module"}},
		{"code imports what only its tests may", func(p *[]archtest.Package, _ map[string]archtest.Rule, _ map[string][]string) {
			pkg(*p, m+"/http").Imports = append(pkg(*p, m+"/http").Imports, m+"/sqlite")
		}, []string{"http imports sqlite: it may import only ."}},
		{"tests import beyond their rule", func(p *[]archtest.Package, _ map[string]archtest.Rule, _ map[string][]string) {
			pkg(*p, m+"/ledger").XTestImports = []string{m + "/ledger", m + "/http"}
		}, []string{"ledger (tests) imports http: its tests may import only ."}},
		{"a command's code imports a test helper", func(p *[]archtest.Package, _ map[string]archtest.Rule, _ map[string][]string) {
			pkg(*p, m+"/cmd/vigil").Imports = append(pkg(*p, m+"/cmd/vigil").Imports, m+"/storetest")
		}, []string{"cmd/vigil imports storetest: storetest is a test helper: only tests may import it"}},
		{"a package no rule places", func(p *[]archtest.Package, _ map[string]archtest.Rule, _ map[string][]string) {
			*p = append(*p, archtest.Package{ImportPath: m + "/engine", Imports: []string{m}})
			pkg(*p, m+"/ledger").Imports = append(pkg(*p, m+"/ledger").Imports, m+"/engine")
		}, []string{
			"engine: no rule places it: add its line to Rules in internal/archtest and its row to docs/architecture.md",
			"ledger imports engine: no rule places engine",
		}},
		{"a rule of no package", func(_ *[]archtest.Package, r map[string]archtest.Rule, _ map[string][]string) {
			r["postgres"] = archtest.Rule{Imports: []string{".", "ledger"}}
		}, []string{"postgres: has a rule but no such package exists: remove its line (and its row in docs/architecture.md)"}},
		{"a rule allowing what no rule places", func(_ *[]archtest.Package, r map[string]archtest.Rule, _ map[string][]string) {
			r["http"] = archtest.Rule{Imports: []string{".", "engine"}, Tests: []string{"sqlite", "nats"}}
		}, []string{
			"http: its rule allows engine, which no rule places",
			"http: its rule lets its tests import nats, which no rule places",
		}},
		{"a rule letting code import a test helper", func(_ *[]archtest.Package, r map[string]archtest.Rule, _ map[string][]string) {
			r["http"] = archtest.Rule{Imports: []string{".", "storetest"}, Tests: []string{"sqlite"}}
		}, []string{"http: its rule lets its code import the test helper storetest"}},
		{"a confined dependency outside its package", func(p *[]archtest.Package, _ map[string]archtest.Rule, _ map[string][]string) {
			pkg(*p, m+"/http").Imports = append(pkg(*p, m+"/http").Imports, "modernc.org/sqlite/lib")
			pkg(*p, m+"/ledger").Imports = append(pkg(*p, m+"/ledger").Imports, "modernc.org/sqlite")
			pkg(*p, m+"/cmd/vigil").Imports = append(pkg(*p, m+"/cmd/vigil").Imports, "modernc.org/sqlite")
			pkg(*p, m+"/http").XTestImports = append(pkg(*p, m+"/http").XTestImports, "modernc.org/sqlite") // tests may
		}, []string{
			"cmd/vigil imports modernc.org/sqlite: modernc.org/sqlite is confined to sqlite",
			"http imports modernc.org/sqlite/lib: modernc.org/sqlite is confined to sqlite",
			"ledger imports modernc.org/sqlite: modernc.org/sqlite is confined to sqlite",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			pkgs, rules, confined := tree()
			c.break_(&pkgs, rules, confined)
			var got []string
			for _, v := range archtest.Check(pkgs, rules, confined) {
				got = append(got, v.String())
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("violations:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
			}
		})
	}
}

// TestTableRendersEveryKind: the table names commands and test helpers,
// and what each may import, in path order.
func TestTableRendersEveryKind(t *testing.T) {
	_, rules, _ := tree()
	want := "| package | its code may import | its tests may also import |\n| --- | --- | --- |\n" +
		"| `.` | nothing | — |\n" +
		"| `cmd/vigil` (command) | every package but the test helpers | the test helpers |\n" +
		"| `http` | `.` | `sqlite` |\n" +
		"| `ledger` | `.` | — |\n" +
		"| `sqlite` | `.`, `ledger` | `storetest` |\n" +
		"| `storetest` (test helper) | `.` | — |\n"
	if got := archtest.Table(rules); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

// listPackages asks the go command what every package of the module
// imports, as CI builds it.
func listPackages(t *testing.T) []archtest.Package {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH (go test puts its own there): %v", err)
	}
	root := moduleRoot(t)
	readSources(t, root)
	cmd := exec.Command(goCmd, "list", "-json=ImportPath,Imports,TestImports,XTestImports", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []archtest.Package
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p archtest.Package
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("reading go list's answer: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// readSources reads every Go file and directory of the module. go test
// caches a passing result until a file the test itself opened changes; go
// list's reads are another process's, so without this a new package or
// import would be answered from the cache.
func readSources(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			if _, err := os.ReadDir(path); err != nil {
				return err
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") || d.Name() == "go.mod" {
			_, err = os.ReadFile(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
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
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module "+m+"\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod of %s above the test's directory", m)
		}
		dir = parent
	}
}

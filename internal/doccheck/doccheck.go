// Package doccheck keeps the documents' references to the code true.
// docs/hipaa.md hands an auditor commands such as
//
//	go test ./sqlite/ -run '^TestAppendOnlyTriggers$'
//
// and each must name a test that exists in the package it names: a test
// renamed or removed would otherwise leave the document citing evidence
// that no longer runs. Its relative links must lead to files that exist.
package doccheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Citation is one test a document cites, as a command:
// go test ./DIR/ -run '^Name$', or '^Name$/^Sub$' for a subtest.
type Citation struct {
	Line     int
	Dir      string // the package's directory, relative to the module ("." for the root)
	Test     string // a top-level Test or Fuzz function
	Subtests []string
}

func (c Citation) String() string {
	run := "^" + c.Test + "$"
	for _, s := range c.Subtests {
		run += "/^" + s + "$"
	}
	return fmt.Sprintf("line %d: go test ./%s -run '%s'", c.Line, strings.TrimPrefix(c.Dir+"/", "./"), run)
}

var (
	command = regexp.MustCompile(`go test \./([A-Za-z0-9_./-]*?)/? -run '([^']*)'`)
	anyRun  = regexp.MustCompile("go test [^`\n]*?-run")
	anchor  = regexp.MustCompile(`^\^([A-Za-z0-9_]+)\$$`)
	link    = regexp.MustCompile(`\]\(([^)#\s]+)(#[^)\s]*)?\)`)
)

// Citations returns every command of a Markdown text that runs tests by
// name: go test ./DIR/ -run '...' whose pattern is one anchored name
// (^Name$) per level. With strict (a document that cites tests as
// evidence), every go test command that selects tests with -run must be
// of that form: a pattern that could match several tests, or none, is an
// error, since the document could then cite a test that is gone (commands
// without -run, such as go test ./..., name no test and are free).
// Without strict, other patterns are not citations and are left alone.
func Citations(md string, strict bool) ([]Citation, error) {
	var out []Citation
	var problems []string
	for i, line := range strings.Split(md, "\n") {
		found := command.FindAllStringSubmatchIndex(line, -1)
		if strict && len(anyRun.FindAllString(line, -1)) != len(found) {
			problems = append(problems, fmt.Sprintf("line %d: a go test command not of the form go test ./DIR/ -run '^Name$'", i+1))
		}
		for _, m := range found {
			dir := line[m[2]:m[3]]
			if dir == "" {
				dir = "."
			}
			c := Citation{Line: i + 1, Dir: dir}
			for j, part := range strings.Split(line[m[4]:m[5]], "/") {
				name := anchor.FindStringSubmatch(part)
				if name == nil {
					if strict {
						problems = append(problems, fmt.Sprintf("line %d: -run '%s': each part must be one anchored name, ^Name$", i+1, line[m[4]:m[5]]))
					}
					c.Test = ""
					break
				}
				if j == 0 {
					c.Test = name[1]
				} else {
					c.Subtests = append(c.Subtests, name[1])
				}
			}
			if c.Test != "" {
				out = append(out, c)
			}
		}
	}
	if len(problems) > 0 {
		return out, fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	return out, nil
}

// Missing returns a problem for each citation whose package directory
// under root has no such top-level Test or Fuzz function in its test
// files, or whose subtest no t.Run of the module names.
func Missing(root string, cits []Citation) []string {
	var out []string
	tests := map[string]map[string]bool{}
	var runs map[string]bool
	for _, c := range cits {
		names, ok := tests[c.Dir]
		if !ok {
			var err error
			if names, err = testFuncs(filepath.Join(root, c.Dir)); err != nil {
				out = append(out, c.String()+": "+err.Error())
				tests[c.Dir] = nil
				continue
			}
			tests[c.Dir] = names
		}
		if names == nil {
			continue // its directory was reported already
		}
		if !names[c.Test] {
			out = append(out, c.String()+": no test "+c.Test+" in ./"+c.Dir)
			continue
		}
		for _, s := range c.Subtests {
			if runs == nil {
				runs = subtestNames(root)
			}
			if !runs[s] {
				out = append(out, c.String()+": no t.Run(\""+s+"\", ...) in the module")
			}
		}
	}
	return out
}

// BrokenLinks returns the relative links of a Markdown file (at path,
// under root) that lead to no file or directory.
func BrokenLinks(path, md string) []string {
	var out []string
	for i, line := range strings.Split(md, "\n") {
		for _, m := range link.FindAllStringSubmatch(line, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(path), target)); err != nil {
				out = append(out, fmt.Sprintf("line %d: %s: no such file", i+1, target))
			}
		}
	}
	return out
}

// testFuncs returns the names of the top-level Test and Fuzz functions of
// the test files in dir.
func testFuncs(dir string) (map[string]bool, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no test files in ./%s", filepath.Base(dir))
	}
	names := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, d := range file.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil &&
				(strings.HasPrefix(fn.Name.Name, "Test") || strings.HasPrefix(fn.Name.Name, "Fuzz")) {
				names[fn.Name.Name] = true
			}
		}
	}
	return names, nil
}

var tRun = regexp.MustCompile(`\.Run\("([^"]+)"`)

// subtestNames returns the names given to t.Run as string literals in the
// module's Go files, as go test matches them (spaces become underscores).
func subtestNames(root string) map[string]bool {
	names := map[string]bool{}
	filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		for _, m := range tRun.FindAllStringSubmatch(string(b), -1) {
			names[strings.ReplaceAll(m[1], " ", "_")] = true
		}
		return nil
	})
	return names
}

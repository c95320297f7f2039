package archtest

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Package is what the go command reports of one package
// (go list -json=ImportPath,Imports,TestImports,XTestImports).
type Package struct {
	ImportPath   string
	Imports      []string // of its code
	TestImports  []string // of its in-package tests
	XTestImports []string // of its external (_test package) tests
}

// Violation is one way the tree departs from the rules.
type Violation struct {
	Package string // the package, relative to the module ("." is the root)
	Import  string // what it imports: relative for the module's packages; empty when the problem is the rule itself
	InTests bool   // the import is its tests'
	Problem string
}

func (v Violation) String() string {
	switch {
	case v.Import == "":
		return v.Package + ": " + v.Problem
	case v.InTests:
		return v.Package + " (tests) imports " + v.Import + ": " + v.Problem
	default:
		return v.Package + " imports " + v.Import + ": " + v.Problem
	}
}

// Check compares what the packages import with the rules and the confined
// dependencies and returns every violation, sorted. It also checks the
// table itself: a rule for a package that does not exist, or one allowing
// an import of a package the table does not place, is a violation too,
// so the table stays the tree's.
func Check(pkgs []Package, rules map[string]Rule, confined map[string][]string) []Violation {
	var out []Violation
	found := map[string]bool{}
	for _, p := range pkgs {
		self, ok := relative(p.ImportPath)
		if !ok {
			continue // not the module's
		}
		found[self] = true
		rule, placed := rules[self]
		if !placed {
			out = append(out, Violation{Package: self, Problem: "no rule places it: add its line to Rules in internal/archtest and its row to docs/architecture.md"})
			continue
		}
		for _, imp := range p.Imports {
			out = append(out, checkImport(self, rule, imp, false, rules, confined)...)
		}
		for _, imp := range union(p.TestImports, p.XTestImports) {
			out = append(out, checkImport(self, rule, imp, true, rules, confined)...)
		}
	}
	for name, rule := range rules {
		if !found[name] {
			out = append(out, Violation{Package: name, Problem: "has a rule but no such package exists: remove its line (and its row in docs/architecture.md)"})
		}
		for _, allowed := range rule.Imports {
			switch r, ok := rules[allowed]; {
			case !ok:
				out = append(out, Violation{Package: name, Problem: "its rule allows " + allowed + ", which no rule places"})
			case r.TestHelper && !rule.TestHelper:
				out = append(out, Violation{Package: name, Problem: "its rule lets its code import the test helper " + allowed})
			}
		}
		for _, allowed := range rule.Tests {
			if _, ok := rules[allowed]; !ok {
				out = append(out, Violation{Package: name, Problem: "its rule lets its tests import " + allowed + ", which no rule places"})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func checkImport(self string, rule Rule, imp string, inTests bool, rules map[string]Rule, confined map[string][]string) []Violation {
	if dep, ok := confinedModule(imp, confined); ok {
		if !inTests && !slices.Contains(confined[dep], self) {
			return []Violation{{Package: self, Import: imp,
				Problem: dep + " is confined to " + strings.Join(confined[dep], ", ")}}
		}
		return nil
	}
	target, ok := relative(imp)
	if !ok || target == self {
		return nil // the standard library, another module, or a test of the package itself
	}
	tr, placed := rules[target]
	switch {
	case !placed:
		return []Violation{{Package: self, Import: target, InTests: inTests, Problem: "no rule places " + target}}
	case rule.Command && (inTests || !tr.TestHelper):
		return nil
	case rule.Command:
		return []Violation{{Package: self, Import: target, Problem: target + " is a test helper: only tests may import it"}}
	case slices.Contains(rule.Imports, target):
		return nil
	case inTests && slices.Contains(rule.Tests, target):
		return nil
	case inTests:
		return []Violation{{Package: self, Import: target, InTests: true, Problem: "its tests may import only " + list(append(append([]string{}, rule.Imports...), rule.Tests...))}}
	default:
		return []Violation{{Package: self, Import: target, Problem: "it may import only " + list(rule.Imports)}}
	}
}

// relative returns a package path relative to the module, and whether it
// is one of the module's.
func relative(path string) (string, bool) {
	if path == Module {
		return ".", true
	}
	rest, ok := strings.CutPrefix(path, Module+"/")
	return rest, ok
}

// confinedModule returns the confined dependency an import path belongs
// to (the module itself or a package inside it).
func confinedModule(imp string, confined map[string][]string) (string, bool) {
	for dep := range confined {
		if imp == dep || strings.HasPrefix(imp, dep+"/") {
			return dep, true
		}
	}
	return "", false
}

func union(a, b []string) []string {
	out := append(append([]string{}, a...), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

func list(names []string) string {
	if len(names) == 0 {
		return "nothing of the module"
	}
	return strings.Join(names, ", ")
}

// Table renders the rules as the Markdown table docs/architecture.md
// shows, one row per package in path order.
func Table(rules map[string]Rule) string {
	names := make([]string, 0, len(rules))
	for name := range rules {
		names = append(names, name)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteString("| package | its code may import | its tests may also import |\n| --- | --- | --- |\n")
	for _, name := range names {
		r := rules[name]
		pkg := "`" + name + "`"
		switch {
		case r.Command:
			pkg += " (command)"
		case r.TestHelper:
			pkg += " (test helper)"
		}
		code := codes(r.Imports, "nothing")
		if r.Command {
			code = "every package but the test helpers"
		}
		tests := codes(r.Tests, "—")
		if r.Command {
			tests = "the test helpers"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", pkg, code, tests)
	}
	return b.String()
}

func codes(names []string, none string) string {
	if len(names) == 0 {
		return none
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = "`" + n + "`"
	}
	return strings.Join(quoted, ", ")
}

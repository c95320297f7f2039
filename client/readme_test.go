package client_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeSnippetCompiles takes the Go program from README.md's "Go
// SDK" section and builds and vets it as a package of this module, so the
// README cannot drift from the API.
func TestReadmeSnippetCompiles(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Go SDK\n")
	if !ok {
		t.Fatal(`README.md has no "## Go SDK" section`)
	}
	_, code, ok := strings.Cut(section, "```go\n")
	code, _, ok2 := strings.Cut(code, "```")
	if !ok || !ok2 || !strings.Contains(code, `"github.com/vigilhq/vigil/client"`) {
		t.Fatal("the Go SDK section has no Go program using the client")
	}
	// A directory starting with "." is a package only when named, so a
	// concurrent `go test ./...` never sees it.
	dir, err := os.MkdirTemp(".", ".readme-snippet-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "vet", "./"+filepath.Base(dir))
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the README's Go SDK program does not compile or vet:\n%s\n%s", out, code)
	}
}

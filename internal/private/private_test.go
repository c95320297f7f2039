package private_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/internal/private"
)

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestDir(t *testing.T) {
	base := t.TempDir()
	p := filepath.Join(base, "a", "b")
	if was, err := private.Dir(p); err != nil || was != 0 {
		t.Fatalf("new dir: %v %o", err, was)
	}
	if m := mode(t, p); m != 0o700 {
		t.Errorf("new dir %o", m)
	}
	os.Chmod(p, 0o755)
	if was, err := private.Dir(p); err != nil || was != 0o755 {
		t.Fatalf("open dir: %v %o", err, was)
	}
	if m := mode(t, p); m != 0o700 {
		t.Errorf("tightened dir %o", m)
	}
	// A directory already private is left as it is, even if narrower.
	os.Chmod(p, 0o500)
	if was, err := private.Dir(p); err != nil || was != 0 || mode(t, p) != 0o500 {
		t.Fatalf("read-only dir: %v %o %o", err, was, mode(t, p))
	}
	os.Chmod(p, 0o700)
}

func TestTightenFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if was, err := private.Tighten(p); err != nil || was != 0 {
		t.Fatalf("missing file: %v %o", err, was)
	}
	f, err := private.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if m := mode(t, p); m != 0o600 {
		t.Errorf("created %o", m)
	}
	if _, err := private.Create(p); err == nil {
		t.Error("Create opened an existing file")
	}
	os.Chmod(p, 0o664)
	if was, err := private.Tighten(p); err != nil || was != 0o664 || mode(t, p) != 0o600 {
		t.Fatalf("tighten: %v %o %o", err, was, mode(t, p))
	}
}

func TestTightenRefusesWhatItCannotChange(t *testing.T) {
	if os.Geteuid() == 0 {
		// root may chmod anything: /proc/self/status is a file no one can
		// chmod, and it is readable by all.
		_, err := private.Tighten("/proc/self/status")
		if err == nil || !strings.Contains(err.Error(), "chmod go-rwx /proc/self/status") {
			t.Fatalf("got %v", err)
		}
		return
	}
	_, err := private.Tighten("/")
	if err == nil || !strings.Contains(err.Error(), "could not be made private") {
		t.Fatalf("got %v", err)
	}
}

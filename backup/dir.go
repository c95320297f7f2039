package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vigilhq/vigil/internal/private"
)

// Dir is a Store in a local directory (a mounted disk, a network share):
// one file per object, 0600 in directories 0700, each written to a
// temporary file, fsync'd, and linked into place only if the name is free.
type Dir struct{ root string }

// OpenDir opens (creating it private if needed) a directory destination.
func OpenDir(root string) (*Dir, error) {
	if root == "" {
		return nil, errors.New("backup: empty destination directory")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	if _, err := private.Dir(abs); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return &Dir{root: abs}, nil
}

func (d *Dir) path(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	return filepath.Join(d.root, filepath.FromSlash(name)), nil
}

// Put implements Store.
func (d *Dir) Put(ctx context.Context, name string, r io.Reader, size int64) (err error) {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	dir := filepath.Dir(p)
	if _, err := private.Dir(dir); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".put-*")
	if err != nil {
		return err
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	if err := f.Chmod(private.FileMode); err != nil {
		return err
	}
	n, err := io.Copy(f, r)
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("backup: %s: wrote %d bytes, expected %d", name, n, size)
	}
	if err := f.Sync(); err != nil {
		return err
	}
	// A hard link fails when the name exists, which a rename would not:
	// an object is never replaced.
	if err := os.Link(f.Name(), p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("backup: %s already exists in %s: %w", name, d.root, fs.ErrExist)
		}
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Get implements Store.
func (d *Dir) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	p, err := d.path(name)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

// List implements Store.
func (d *Dir) List(ctx context.Context, prefix string) ([]string, error) {
	var names []string
	err := filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		if name := filepath.ToSlash(rel); strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
		return nil
	})
	sort.Strings(names)
	return names, err
}

// Lock implements Store: a directory has no retention of its own.
func (d *Dir) Lock() Lock {
	return Lock{Missing: "a directory cannot lock its files; objects are written once, but anyone with write access to " + d.root + " can delete them"}
}

func (d *Dir) String() string { return d.root }

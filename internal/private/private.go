// Package private keeps Vigil's files to the user that runs it: audit
// records name patients, so every file Vigil writes is 0600 and every
// directory 0700, whatever the umask, and files or directories left
// readable by others (by an older version, a package's default, a
// permissive umask) are tightened when they are opened.
package private

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// The modes of Vigil's files and directories.
const (
	FileMode fs.FileMode = 0o600
	DirMode  fs.FileMode = 0o700
)

// others are the permission bits of the group and of everyone else.
const others fs.FileMode = 0o077

// Dir creates the directory path (and its missing parents) with DirMode,
// or removes the group's and others' permissions from it if it exists.
// When it had to tighten it, it returns the mode it had, for the caller
// to log; when it cannot (another user owns it), it returns an error
// saying what to do.
func Dir(path string) (was fs.FileMode, err error) {
	if err := os.MkdirAll(path, DirMode); err != nil {
		return 0, err
	}
	return Tighten(path)
}

// Tighten removes the group's and others' permissions from an existing
// file or directory, returning the mode it had when it changed it (zero
// when nothing was to be done). A missing path is no error: it will be
// created private.
func Tighten(path string) (was fs.FileMode, err error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	perm := fi.Mode().Perm()
	if perm&others == 0 {
		return 0, nil
	}
	if err := os.Chmod(path, perm&^others); err != nil {
		return perm, fmt.Errorf("%s is open to other users (mode %04o) and could not be made private: %w (run: chmod go-rwx %s)", path, perm, err, path)
	}
	return perm, nil
}

// Create creates a new file with FileMode, failing if it exists, so a
// file is never private only after it was written.
func Create(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, FileMode)
}

// WriteFile writes a private file durably: write fills a temporary file
// beside path (FileMode), which is fsync'd and renamed over path, and the
// directory is fsync'd. A reader sees the old file or the whole new one,
// and a file that existed open to others is replaced by a private one.
func WriteFile(path string, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(FileMode); err != nil {
		return err
	}
	if err = write(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

//go:build !unix

package client

import (
	"os"
	"path/filepath"
)

// lockDir only creates the LOCK file: this platform has no flock, so
// keeping one client per spool directory is the caller's duty.
func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o600)
}

// syncDir is a no-op where directories cannot be fsync'd.
func syncDir(string) error { return nil }

//go:build !unix

package private

import (
	"errors"
	"os"
)

// ErrLocked is returned by Lock when another process holds the file.
var ErrLocked = errors.New("locked by another process")

// Lock does nothing: this platform has no flock, so keeping one process
// per directory is the caller's duty.
func Lock(*os.File) error { return nil }

// SyncDir is a no-op where directories cannot be fsync'd.
func SyncDir(string) error { return nil }

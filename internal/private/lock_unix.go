//go:build unix

package private

import (
	"errors"
	"os"
	"syscall"
)

// ErrLocked is returned by Lock when another process (or another Lock
// in this one) holds the file.
var ErrLocked = errors.New("locked by another process")

// Lock takes an exclusive lock on an open file without waiting, so that
// two processes never write the same directory (the log, the SDK spool).
// The kernel releases it when the process dies, however it dies, so a
// crash leaves nothing to clean up.
func Lock(f *os.File) error {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return ErrLocked
		}
		return err
	}
	return nil
}

// SyncDir makes a directory's entries (a created or removed file)
// durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

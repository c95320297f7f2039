//go:build unix

package filelog

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lock takes an exclusive lock on the log's LOCK file, so that two
// processes (or two Opens in one) never append to the same log and fork
// it. The kernel releases it when the process dies, however it dies, so
// a crash leaves nothing to clean up.
func lock(f *os.File, dir string) error {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("filelog: the log %s is in use by another process (or another Open in this one): its LOCK file is locked", dir)
		}
		return fmt.Errorf("filelog: locking the log %s: %w", dir, err)
	}
	return nil
}

// syncDir makes a directory's entries (a created segment) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

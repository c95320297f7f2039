package filelog

import (
	"os"
	"syscall"
)

// datasync makes a segment's appended bytes durable. fdatasync flushes
// the data and the metadata needed to read it back (the file's new
// size), not its timestamps, which nothing reads: it is cheaper than
// fsync, and the time of this one flush is the latency of every event of
// the group. It comes from syscall, as in the client's spool, because
// golang.org/x/sys is only an indirect dependency of the module and
// syscall has all this needs.
func datasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			if serr = syscall.Fdatasync(int(fd)); serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}

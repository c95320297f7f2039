//go:build !unix

package filelog

import "os"

// lock does nothing: this platform has no flock, so keeping one process
// per log directory is the caller's duty.
func lock(*os.File, string) error { return nil }

// syncDir is a no-op where directories cannot be fsync'd.
func syncDir(string) error { return nil }

//go:build !linux

package filelog

import "os"

// datasync makes a segment's appended bytes durable.
func datasync(f *os.File) error { return f.Sync() }

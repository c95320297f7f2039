//go:build !linux

package private

import "os"

// Datasync makes a file's appended bytes durable.
func Datasync(f *os.File) error { return f.Sync() }

package client

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vigilhq/vigil/internal/private"
)

// lockDir takes an exclusive lock on the spool directory, so that two
// clients (in one process or two) never write or send the same spool. The
// kernel releases it when the process dies, however it dies.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := private.Lock(f); err != nil {
		f.Close()
		if errors.Is(err, private.ErrLocked) {
			return nil, fmt.Errorf("client: the spool %s is in use by another client", dir)
		}
		return nil, fmt.Errorf("client: locking the spool %s: %w", dir, err)
	}
	return f, nil
}

// datasync and syncDir are the project's one way to make a file's
// appended bytes and a directory's entries durable.
var (
	datasync = private.Datasync
	syncDir  = private.SyncDir
)

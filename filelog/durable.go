package filelog

import (
	"errors"
	"fmt"
	"os"

	"github.com/vigilhq/vigil/internal/private"
)

// lock takes an exclusive lock on the log's LOCK file, so that two
// processes (or two Opens in one) never append to the same log and fork
// it; the kernel releases it when the process dies.
func lock(f *os.File, dir string) error {
	if err := private.Lock(f); err != nil {
		if errors.Is(err, private.ErrLocked) {
			return fmt.Errorf("filelog: the log %s is in use by another process (or another Open in this one): its LOCK file is locked: %w", dir, ErrLocked)
		}
		return fmt.Errorf("filelog: locking the log %s: %w", dir, err)
	}
	return nil
}

// datasync and syncDir are the project's one way to make a file's
// appended bytes and a directory's entries durable.
var (
	datasync = private.Datasync
	syncDir  = private.SyncDir
)

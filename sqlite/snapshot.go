package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"

	"github.com/vigilhq/vigil/internal/private"
)

// Snapshot writes a consistent copy of the database to a new file at path
// (0600), for backups: VACUUM INTO reads one transaction's view, so the
// copy is whole while writers go on, and it is compacted.
func (db *DB) Snapshot(ctx context.Context, path string) error {
	// VACUUM INTO accepts an empty file; creating it first makes it
	// private before a byte is written.
	f, err := private.Create(path)
	if err != nil {
		return fmt.Errorf("sqlite: snapshot: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	// Its own connection: the readers are query_only, which VACUUM INTO
	// refuses although it writes only the copy, and the writer's one
	// connection is the ingest path's.
	conn, err := sql.Open("sqlite", dsn(db.cfg.Path, false))
	if err != nil {
		return fmt.Errorf("sqlite: snapshot: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		os.Remove(path)
		return fmt.Errorf("sqlite: snapshot: %w", err)
	}
	return nil
}

package sqlite

import (
	"context"

	"github.com/vigilhq/vigil"
)

// LogSize implements vigil.EventLog: the size of the log acknowledged
// before the call (it waits for the projection to reach it).
func (db *DB) LogSize(ctx context.Context, workspace string) (int64, error) {
	if err := db.await(ctx, workspace); err != nil {
		return 0, err
	}
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return 0, err
	}
	n, err := db.treeSize(ctx, ws)
	if err != nil {
		return 0, vigil.Unavailable("reading the log failed", err)
	}
	return n, nil
}

// EventsFrom implements vigil.EventLog.
func (db *DB) EventsFrom(ctx context.Context, workspace string, from int64, limit int) ([]vigil.Event, error) {
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, "SELECT "+eventColumns+" FROM events e WHERE e.ws = ? AND e.seq >= ? ORDER BY e.seq LIMIT ?", ws, from, limit)
	if err != nil {
		return nil, vigil.Unavailable("reading the log failed", err)
	}
	defer rows.Close()
	var out []vigil.Event
	for rows.Next() {
		e, err := db.scanEvent(rows, workspace)
		if err != nil {
			return nil, vigil.Unavailable("reading the log failed", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, vigil.Unavailable("reading the log failed", err)
	}
	return out, nil
}

// Cursor implements vigil.CursorStore.
func (db *DB) Cursor(ctx context.Context, consumer, workspace string) (int64, error) {
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return 0, err
	}
	next, err := readCursor(ctx, db.read, consumer, ws)
	if err != nil {
		return 0, vigil.Unavailable("reading the cursor failed", err)
	}
	return next, nil
}

// SetCursor implements vigil.CursorStore.
func (db *DB) SetCursor(ctx context.Context, consumer, workspace string, next int64) error {
	// A position before the log's start, or a cursor of no consumer, is a
	// caller's bug: refused rather than stored where a follower would read
	// it back.
	if next < 0 {
		return vigil.Invalid(vigil.ErrorDetail{Field: "next", Message: "must not be negative"})
	}
	if consumer == "" {
		return vigil.Invalid(vigil.ErrorDetail{Field: "consumer", Message: "is required"})
	}
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return err
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return vigil.Unavailable("storing the cursor failed", err)
	}
	defer tx.Rollback()
	if err := writeCursor(ctx, tx, consumer, ws, next); err != nil {
		return vigil.Unavailable("storing the cursor failed", err)
	}
	if err := tx.Commit(); err != nil {
		return vigil.Unavailable("storing the cursor failed", err)
	}
	return nil
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// checkpointDue signs a checkpoint for every workspace whose log grew
// since its last one, when the interval has passed (or when forced at
// shutdown). It runs on the writer goroutine after the group's answers
// went out, so signing never delays an acknowledgement.
func (w *writer) checkpointDue(force bool) {
	if w.db.cfg.SigningKey == "" || w.paused {
		return
	}
	now := time.Now()
	for ws, st := range w.logs {
		if st.size == st.checkpointSize && !st.checkpointAt.IsZero() {
			continue
		}
		if !force && now.Sub(st.checkpointAt) < w.db.cfg.CheckpointInterval {
			continue
		}
		if err := w.issueCheckpoint(ws, st, now); err != nil {
			w.db.log.Error("signing checkpoint failed", "workspace_id", ws, "err", err)
		}
	}
}

func (w *writer) issueCheckpoint(ws int64, st *logState, now time.Time) error {
	ctx := context.Background()
	var name string
	if err := w.db.write.QueryRowContext(ctx, "SELECT name FROM workspaces WHERE id = ?", ws).Scan(&name); err != nil {
		return err
	}
	root, err := tlog.TreeHash(st.size, tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, idx := range indexes {
			level, k := tlog.SplitStoredHashIndex(idx)
			if st.edgeIndex[level] != k || st.size>>level <= k {
				return nil, fmt.Errorf("sqlite: hash %d is not on the tree's edge", idx)
			}
			out[i] = st.edge[level]
		}
		return out, nil
	}))
	if err != nil {
		return err
	}
	origin := w.db.origin(name)
	note, err := ledger.Sign(w.db.cfg.SigningKey, origin, st.size, ledger.VigilHash(root))
	if err != nil {
		return err
	}
	// The witness first: it is then never older than the database's
	// latest checkpoint, whatever crash comes between the two, so an older
	// one is always the sign of a replaced file.
	if w.db.cfg.WitnessPath != "" {
		if err := w.witness(ctx, ws, name, st.size, note); err != nil {
			return fmt.Errorf("writing the witness file: %w", err)
		}
	}
	_, err = w.db.write.ExecContext(ctx, "INSERT INTO checkpoints (ws, size, root, note, created_at) VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
		ws, st.size, root[:], string(note), now.UnixNano())
	if err != nil {
		return err
	}
	st.checkpointSize, st.checkpointAt = st.size, now
	return nil
}

// origin names a workspace's log in its checkpoints.
func (db *DB) origin(workspace string) string { return db.cfg.LogName + "/" + workspace }

// Checkpoint implements vigil.Ledger: the latest (size < 0) covers every
// event acknowledged before the call, signed on demand if need be.
func (db *DB) Checkpoint(ctx context.Context, workspace string, size int64) (vigil.Checkpoint, error) {
	if err := db.await(ctx, workspace); err != nil {
		return vigil.Checkpoint{}, err
	}
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return vigil.Checkpoint{}, err
	}
	if size < 0 {
		return db.covering(ctx, ws, workspace)
	}
	return db.storedCheckpoint(ctx, ws, workspace, size)
}

// latestCheckpoint is the latest stored checkpoint; ENOTFOUND if none.
func (db *DB) latestCheckpoint(ctx context.Context, ws int64, workspace string) (vigil.Checkpoint, error) {
	return db.storedCheckpoint(ctx, ws, workspace, -1)
}

// storedCheckpoint reads the kept checkpoint of size, or the latest when
// size < 0.
func (db *DB) storedCheckpoint(ctx context.Context, ws int64, workspace string, size int64) (vigil.Checkpoint, error) {
	q := "SELECT size, root, note, created_at FROM checkpoints WHERE ws = ? ORDER BY size DESC LIMIT 1"
	args := []any{ws}
	if size >= 0 {
		q = "SELECT size, root, note, created_at FROM checkpoints WHERE ws = ? AND size = ?"
		args = append(args, size)
	}
	var c vigil.Checkpoint
	var root []byte
	var note string
	var created int64
	err := db.read.QueryRowContext(ctx, q, args...).Scan(&c.Size, &root, &note, &created)
	if errors.Is(err, sql.ErrNoRows) {
		if size >= 0 {
			return c, vigil.Errorf(vigil.ENOTFOUND, "no checkpoint of size %d", size)
		}
		return c, vigil.Errorf(vigil.ENOTFOUND, "no checkpoint yet")
	} else if err != nil {
		return c, vigil.Unavailable("reading checkpoints failed", err)
	}
	c.Origin = db.origin(workspace)
	copy(c.Root[:], root)
	c.Note = []byte(note)
	c.CreatedAt = time.Unix(0, created).UTC()
	return c, nil
}

// Checkpoints lists the kept checkpoints of a workspace with size in
// [from, to], in increasing size.
func (db *DB) Checkpoints(ctx context.Context, workspace string, from, to int64) ([]vigil.Checkpoint, error) {
	if err := db.await(ctx, workspace); err != nil {
		return nil, err
	}
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, "SELECT size, root, note, created_at FROM checkpoints WHERE ws = ? AND size >= ? AND size <= ? ORDER BY size", ws, from, to)
	if err != nil {
		return nil, vigil.Unavailable("reading checkpoints failed", err)
	}
	defer rows.Close()
	var cps []vigil.Checkpoint
	for rows.Next() {
		var c vigil.Checkpoint
		var root []byte
		var note string
		var created int64
		if err := rows.Scan(&c.Size, &root, &note, &created); err != nil {
			return nil, err
		}
		c.Origin = db.origin(workspace)
		copy(c.Root[:], root)
		c.Note = []byte(note)
		c.CreatedAt = time.Unix(0, created).UTC()
		cps = append(cps, c)
	}
	return cps, rows.Err()
}

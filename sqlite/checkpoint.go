package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/internal/private"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// checkpointDue signs a checkpoint for every workspace whose log grew
// since its last one, when the interval has passed (or when forced at
// shutdown). It runs on the writer goroutine after the group's answers
// went out, so signing never delays an acknowledgement.
func (w *writer) checkpointDue(force bool) {
	if w.db.cfg.SigningKey == "" {
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
	_, err = w.db.write.ExecContext(ctx, "INSERT INTO checkpoints (ws, size, root, note, created_at) VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
		ws, st.size, root[:], string(note), now.UnixNano())
	if err != nil {
		return err
	}
	st.checkpointSize, st.checkpointAt = st.size, now
	if w.db.cfg.WitnessPath != "" {
		if err := w.db.writeWitness(name, note); err != nil {
			return fmt.Errorf("writing the witness file: %w", err)
		}
	}
	return nil
}

// origin names a workspace's log in its checkpoints.
func (db *DB) origin(workspace string) string { return db.cfg.LogName + "/" + workspace }

// writeWitness records the latest checkpoint of a workspace in a file
// outside the database, replaced atomically and fsync'd. A database rolled
// back to an older copy then disagrees with it.
func (db *DB) writeWitness(workspace string, note []byte) error {
	notes, err := db.readWitness()
	if err != nil {
		return err
	}
	notes[workspace] = string(note)
	b, err := json.MarshalIndent(notes, "", "  ")
	if err != nil {
		return err
	}
	return private.WriteFile(db.cfg.WitnessPath, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

func (db *DB) readWitness() (map[string]string, error) {
	notes := map[string]string{}
	if db.cfg.WitnessPath == "" {
		return notes, nil
	}
	b, err := os.ReadFile(db.cfg.WitnessPath)
	if errors.Is(err, os.ErrNotExist) {
		return notes, nil
	} else if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &notes); err != nil {
		return nil, fmt.Errorf("witness file %s: %w", db.cfg.WitnessPath, err)
	}
	return notes, nil
}

// Checkpoint implements vigil.Ledger.
func (db *DB) Checkpoint(ctx context.Context, workspace string, size int64) (vigil.Checkpoint, error) {
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return vigil.Checkpoint{}, err
	}
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
	err = db.read.QueryRowContext(ctx, q, args...).Scan(&c.Size, &root, &note, &created)
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

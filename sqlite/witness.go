package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/internal/private"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// The witness is a file outside the database (Config.WitnessPath) that
// holds the latest checkpoint of each workspace, as a JSON object from
// workspace name to signed note. The writer writes it before it stores
// the checkpoint, so it is never older than the database's latest one. A
// database rolled back to an older copy then disagrees with it (rollback),
// and a witness deleted or replaced by an older copy disagrees with the
// database (witness_rollback). Both files rolled back together agree:
// only a checkpoint kept elsewhere shows that (docs/ledger.md).

// witnessFormatError is a witness file that is not one.
type witnessFormatError struct {
	path string
	err  error
}

func (e *witnessFormatError) Error() string {
	return fmt.Sprintf("the witness file %s is not a witness file: %v", e.path, e.err)
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
		return map[string]string{}, &witnessFormatError{db.cfg.WitnessPath, err}
	}
	return notes, nil
}

// storeWitness replaces the witness file atomically and durably.
func (db *DB) storeWitness(notes map[string]string) error {
	b, err := json.MarshalIndent(notes, "", "  ")
	if err != nil {
		return err
	}
	return private.WriteFile(db.cfg.WitnessPath, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// witness writes the new checkpoint of a workspace to the witness file,
// on the writer goroutine. The file must still hold what this writer last
// put there (or found when the store opened): anything else was deleted
// or replaced behind its back, and is recorded as a finding before it is
// overwritten, so the evidence outlives it.
func (w *writer) witness(ctx context.Context, ws int64, workspace string, size int64, note []byte) error {
	notes, err := w.db.readWitness()
	var garbled *witnessFormatError
	if err != nil && !errors.As(err, &garbled) {
		return err
	}
	if prev, known := notes[workspace], w.witnessed[workspace]; prev != known || garbled != nil {
		detail := "the witness file no longer held the checkpoint this server wrote there: it was deleted or replaced"
		if garbled != nil {
			detail = garbled.Error() + ": it was replaced"
		}
		b := vigil.Break{Type: vigil.BreakWitnessRollback, Sequence: -1, Detail: detail + fmt.Sprintf(" (noticed before writing the checkpoint of %d events)", size)}
		w.db.log.Error("ledger tamper detected", "workspace", workspace, "type", b.Type, "detail", b.Detail)
		if _, err := w.db.recordFindings(ctx, ws, workspace, "the server writing its witness", []vigil.Break{b}); err != nil {
			return err
		}
	}
	notes[workspace] = string(note)
	if err := w.db.storeWitness(notes); err != nil {
		return err
	}
	w.witnessed[workspace] = string(note)
	return nil
}

// openWitness compares the witness with the database before the writer
// signs anything, and records what it shows: the writer's next checkpoint
// replaces the witness, and would take the evidence of a rollback with it.
func (w *writer) openWitness(ctx context.Context) error {
	w.witnessed = map[string]string{}
	if w.db.cfg.WitnessPath == "" || w.db.cfg.SigningKey == "" {
		return nil
	}
	vkey, err := ledger.VerifierKey(w.db.cfg.SigningKey)
	if err != nil {
		return err
	}
	notes, err := w.db.readWitness()
	var garbled *witnessFormatError
	if err != nil && !errors.As(err, &garbled) {
		return fmt.Errorf("sqlite: reading the witness file: %w", err)
	}
	rows, err := w.db.write.QueryContext(ctx, "SELECT id, name FROM workspaces")
	if err != nil {
		return err
	}
	type workspace struct {
		id   int64
		name string
	}
	var all []workspace
	for rows.Next() {
		var ws workspace
		if err := rows.Scan(&ws.id, &ws.name); err != nil {
			rows.Close()
			return err
		}
		all = append(all, ws)
	}
	rows.Close()
	for _, ws := range all {
		st := w.logs[ws.id]
		if st == nil {
			continue
		}
		w.witnessed[ws.name] = notes[ws.name]
		latest := int64(-1)
		if !st.checkpointAt.IsZero() {
			latest = st.checkpointSize
		}
		cp, breaks := judgeWitness(notes, garbled, ws.name, w.db.origin(ws.name), vkey, latest)
		truncated := !st.checkpointAt.IsZero() && st.checkpointSize > st.size
		if truncated {
			// The database's own checkpoint covers rows it no longer
			// has: they were removed. The engine puts them back from
			// the log; this is the evidence.
			breaks = append(breaks, vigil.Break{Type: vigil.BreakTruncated, Sequence: st.size,
				Detail: fmt.Sprintf("the database's latest checkpoint covers %d events but it holds %d: rows were removed (the projection is rebuilt from the log)", st.checkpointSize, st.size)})
		}
		if cp != nil && !(truncated && cp.Size <= st.checkpointSize) {
			breaks = append(breaks, w.db.witnessAgainstTree(ctx, ws.id, *cp, st.size)...)
		}
		if len(breaks) == 0 {
			continue
		}
		for _, b := range breaks {
			w.db.log.Error("ledger tamper detected", "workspace", ws.name, "type", b.Type, "detail", b.Detail)
		}
		if _, err := w.db.recordFindings(ctx, ws.id, ws.name, "the store comparing its witness when it opened", breaks); err != nil {
			return err
		}
	}
	return nil
}

// judgeWitness checks the witness entry of a workspace whose latest
// stored checkpoint has size latest (-1: none). It returns the entry's
// checkpoint when it can be compared with the tree.
func judgeWitness(notes map[string]string, garbled *witnessFormatError, workspace, origin, vkey string, latest int64) (*vigil.Checkpoint, []vigil.Break) {
	note, ok := notes[workspace]
	switch {
	case garbled != nil && latest >= 0:
		return nil, []vigil.Break{{Type: vigil.BreakWitnessRollback, Sequence: -1,
			Detail: garbled.Error() + fmt.Sprintf(": it was replaced, and cannot show the log was not rolled back (the database's latest checkpoint covers %d events)", latest)}}
	case !ok && latest >= 0:
		return nil, []vigil.Break{{Type: vigil.BreakWitnessRollback, Sequence: -1,
			Detail: fmt.Sprintf("the witness holds no checkpoint of this log, whose latest signed one covers %d events: the witness was deleted or replaced, so a rollback of the database can no longer be ruled out here", latest)}}
	case !ok:
		return nil, nil
	}
	cp, err := ledger.Open([]byte(note), vkey)
	switch {
	case err != nil:
		return nil, []vigil.Break{{Type: vigil.BreakSignatureInvalid, Sequence: -1, Detail: "the witness checkpoint: " + err.Error()}}
	case cp.Origin != origin:
		return nil, []vigil.Break{{Type: vigil.BreakWitnessRollback, Sequence: -1,
			Detail: fmt.Sprintf("the witness entry of this log is a checkpoint of %q: it was replaced", cp.Origin)}}
	case cp.Size < latest:
		// The server writes the witness before it stores a checkpoint:
		// an older one was put back. The database may still be intact
		// (the tree is compared at the witness's size too); but nothing
		// here can rule out a rollback to any size from this one on.
		return &cp, []vigil.Break{{Type: vigil.BreakWitnessRollback, Sequence: -1, ExpectedHash: cp.Root.String(),
			Detail: fmt.Sprintf("the witness holds the checkpoint of %d events; the database holds a signed checkpoint of %d: the witness was replaced by an older copy", cp.Size, latest)}}
	}
	return &cp, nil
}

// witnessAgainstTree compares the witness's checkpoint with the stored
// tree of n events, reading O(log n) hashes.
func (db *DB) witnessAgainstTree(ctx context.Context, ws int64, cp vigil.Checkpoint, n int64) []vigil.Break {
	if cp.Size > n {
		return []vigil.Break{rollbackBreak(cp, n)}
	}
	root, err := tlog.TreeHash(cp.Size, hashReader{ctx, db, ws})
	if err != nil {
		return nil // a stored hash is missing: verification reports it
	}
	if got := ledger.VigilHash(root); got != cp.Root {
		return []vigil.Break{rewrittenBreak(cp, got)}
	}
	return nil
}

func rollbackBreak(w vigil.Checkpoint, n int64) vigil.Break {
	return vigil.Break{Type: vigil.BreakRollback, Sequence: -1, ExpectedHash: w.Root.String(),
		Detail: fmt.Sprintf("the last checkpoint issued covered %d events; the database holds %d: it was rolled back or truncated", w.Size, n)}
}

func rewrittenBreak(w vigil.Checkpoint, root vigil.Hash) vigil.Break {
	return vigil.Break{Type: vigil.BreakRollback, Sequence: -1, ExpectedHash: w.Root.String(), ActualHash: root.String(),
		Detail: fmt.Sprintf("the tree of %d events differs from the last checkpoint issued: the log was rewritten", w.Size)}
}

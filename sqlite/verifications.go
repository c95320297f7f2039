package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/vigilhq/vigil"
)

var _ vigil.VerificationLog = (*DB)(nil)

// recordVerification keeps the outcome of a full verification, replacing
// the previous one.
func (db *DB) recordVerification(ctx context.Context, ws int64, rep vigil.VerifyReport) error {
	breaks := rep.Breaks
	if breaks == nil {
		breaks = []vigil.Break{}
	}
	b, err := json.Marshal(breaks)
	if err != nil {
		return err
	}
	_, err = db.write.ExecContext(ctx, `INSERT INTO ledger_verifications (ws, finished_at, events_checked, tree_size, valid, breaks)
		VALUES (?,?,?,?,?,?) ON CONFLICT (ws) DO UPDATE SET finished_at = excluded.finished_at, events_checked = excluded.events_checked,
		tree_size = excluded.tree_size, valid = excluded.valid, breaks = excluded.breaks`,
		ws, db.cfg.Now().UnixNano(), rep.EventsChecked, rep.TreeSize, rep.Valid, string(b))
	return err
}

// LastVerification implements vigil.VerificationLog.
func (db *DB) LastVerification(ctx context.Context, workspace string) (vigil.VerificationRun, error) {
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return vigil.VerificationRun{}, err
	}
	var run vigil.VerificationRun
	var at int64
	var breaks string
	err = db.read.QueryRowContext(ctx, "SELECT finished_at, events_checked, tree_size, valid, breaks FROM ledger_verifications WHERE ws = ?", ws).
		Scan(&at, &run.EventsChecked, &run.TreeSize, &run.Valid, &breaks)
	if errors.Is(err, sql.ErrNoRows) {
		return run, vigil.Errorf(vigil.ENOTFOUND, "the log was never verified in full")
	} else if err != nil {
		return run, vigil.Unavailable("reading the last verification failed", err)
	}
	run.FinishedAt = time.Unix(0, at).UTC()
	if err := json.Unmarshal([]byte(breaks), &run.Breaks); err != nil {
		return run, vigil.Unavailable("reading the last verification failed", err)
	}
	return run, nil
}

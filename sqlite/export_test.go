package sqlite

import (
	"context"

	"github.com/vigilhq/vigil"
)

// RaiseAlert stores an alert as the evaluator does (storeAlert in one
// transaction, unthrottled), for the conformance suites of the alert store
// and the outbox: vigil.AlertStore has no write of alerts.
func (db *DB) RaiseAlert(ctx context.Context, workspace string, a vigil.Alert, channels []string) (vigil.Alert, bool, error) {
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return a, false, err
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return a, false, err
	}
	defer tx.Rollback()
	a.Workspace = workspace
	isNew, err := storeAlert(ctx, tx, ws, &a, 0, route{channels: channels, version: a.RuleVersion})
	if err != nil {
		return a, false, err
	}
	return a, isNew, tx.Commit()
}

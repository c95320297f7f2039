package sqlite

import (
	"context"
	"fmt"
	"strings"
)

// rebuildMarker is the cursors row that says the projection was cleared
// and is being rebuilt from the log; Resume removes it.
const rebuildMarker = "projection_rebuild"

// projectionTables are the tables derived from the log: everything the
// engine's projection writes, which ClearProjection empties. Keys, users,
// checkpoints, findings, alerts, reports and the followers' cursors are
// state, kept.
var projectionTables = []string{"events", "event_targets", "ledger_hashes"}

// ClearProjection empties the projection of the database at cfg.Path (the
// event rows, their targets, search terms and stored hashes), so that the
// engine rebuilds it from the log when the store opens next (vigil
// reindex). It returns the number of events it removed. The server must
// not be running: the caller holds the log's lock.
//
// The append-only triggers are dropped and recreated in the same
// transaction, so a failure leaves the database as it was.
func ClearProjection(ctx context.Context, cfg Config) (int64, error) {
	db, err := Open(ctx, cfg)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var n int64
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM events").Scan(&n); err != nil {
		return 0, err
	}
	in := "'" + strings.Join(projectionTables, "','") + "'"
	rows, err := tx.QueryContext(ctx, "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ("+in+")")
	if err != nil {
		return 0, err
	}
	var names, defs []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return 0, err
		}
		names, defs = append(names, name), append(defs, def)
	}
	rows.Close()
	stmts := []string{}
	for _, name := range names {
		stmts = append(stmts, `DROP TRIGGER "`+name+`"`)
	}
	for _, t := range projectionTables {
		stmts = append(stmts, "DELETE FROM "+t)
	}
	stmts = append(stmts,
		// event_terms is contentless: its rows go with the FTS5 command.
		"INSERT INTO event_terms (event_terms) VALUES ('delete-all')",
		"DELETE FROM cursors WHERE consumer = '"+termsConsumer+"'",
		"INSERT INTO cursors (consumer, ws, next_seq) VALUES ('"+rebuildMarker+"', 0, 0) ON CONFLICT (consumer, ws) DO NOTHING")
	stmts = append(stmts, defs...)
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return 0, fmt.Errorf("sqlite: clearing the projection (%s): %w", s, err)
		}
	}
	return n, tx.Commit()
}

package sqlite

import (
	"context"
	"database/sql"
	"iter"
	"time"

	"github.com/vigilhq/vigil"
)

var _ vigil.EventScanner = (*DB)(nil)

// ScanEvents implements vigil.EventScanner. It is one query whose rows are
// read as they come: SQLite sorts what an index does not order in its own
// temporary storage, so memory stays bounded however many events match,
// and the read transaction gives the whole scan one snapshot.
func (db *DB) ScanEvents(ctx context.Context, q vigil.Query, through int64, order vigil.ScanOrder) iter.Seq2[vigil.Event, error] {
	return func(yield func(vigil.Event, error) bool) {
		ws, err := db.workspaceID(ctx, q.Workspace)
		if err != nil {
			yield(vigil.Event{}, err)
			return
		}
		where, args := whereClause(ws, q)
		cols, scan := eventColumns, scanEvent
		if order == vigil.ByActorPatient {
			cols, scan = summaryColumns, scanSummary
		}
		sel := "SELECT " + cols + " FROM events e WHERE " + where + " AND e.seq < ?"
		args = append(args, through)
		switch order {
		case vigil.ByActorPatient:
			sel += " ORDER BY e.actor_id, e.patient_id, e.seq"
		case vigil.ByOccurredAt:
			sel += " ORDER BY e.occurred_at, e.seq"
		default:
			sel += " ORDER BY e.seq"
		}
		rows, err := db.read.QueryContext(ctx, sel, args...)
		if err != nil {
			yield(vigil.Event{}, vigil.Unavailable("querying events failed", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scan(rows, q.Workspace)
			if err != nil {
				yield(e, vigil.Unavailable("reading events failed", err))
				return
			}
			if !yield(e, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(vigil.Event{}, vigil.Unavailable("reading events failed", err))
		}
	}
}

// summaryColumns are what the per-actor summaries read.
const summaryColumns = `e.seq, e.id, e.occurred_at, e.actor_id, e.actor_name, e.action, e.patient_id, e.outcome, e.purpose_of_use`

func scanSummary(s scanner, workspace string) (vigil.Event, error) {
	var e vigil.Event
	var occurred int64
	var name, patient, purpose sql.NullString
	var outcome string
	if err := s.Scan(&e.Sequence, &e.ID, &occurred, &e.ActorID, &name, &e.Action, &patient, &outcome, &purpose); err != nil {
		return e, err
	}
	e.Workspace, e.OccurredAt = workspace, time.Unix(0, occurred).UTC()
	e.ActorName, e.PatientID, e.PurposeOfUse, e.Outcome = name.String, patient.String, purpose.String, vigil.Outcome(outcome)
	return e, nil
}

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
		if err := db.await(ctx, q.Workspace); err != nil {
			yield(vigil.Event{}, err)
			return
		}
		ws, err := db.workspaceID(ctx, q.Workspace)
		if err != nil {
			yield(vigil.Event{}, err)
			return
		}
		key, err := db.readBlinder(ctx, q.Workspace)
		if err != nil {
			yield(vigil.Event{}, err)
			return
		}
		where, args := whereClause(ws, q, key)
		cols, scan := eventColumns, db.scanEvent
		if order == vigil.ByActorPatient && key == nil {
			// A workspace with sealed events reads whole rows, decrypted:
			// its actor and patient columns hold blind indexes, which
			// still group an actor's and a patient's rows together.
			cols, scan = summaryColumns, scanSummary
		}
		args = append(args, through)
		from := "events e"
		if order == vigil.ByActorPatient {
			if from, err = db.actorPatientSource(ctx, where, args, through); err != nil {
				yield(vigil.Event{}, err)
				return
			}
		}
		sel := "SELECT " + cols + " FROM " + from + " WHERE " + where + " AND e.seq < ?"
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

// broadScan is the share of a workspace's events above which a per-actor
// scan walks the actor index instead of sorting the matches.
const broadScan = 4

// actorPatientSource chooses how a scan in actor and patient order reads
// its rows. A narrow filter (a day of a large log) is best read through its
// own index and sorted whole, which is quick because it is small. A broad
// one (a year) sorted whole would hold the CPU for seconds in one SQLite
// call, out of reach of the report's pacing, and slow ingestion beside
// it; walking the actor index instead sorts one actor's rows at a time
// (SQLite's "temp b-tree for the right part of ORDER BY"), so rows flow
// from the start and the pacing between them keeps ingestion's share.
func (db *DB) actorPatientSource(ctx context.Context, where string, args []any, through int64) (string, error) {
	if through < 50_000 {
		return "events e", nil
	}
	var n int64
	if err := db.read.QueryRowContext(ctx, "SELECT count(*) FROM events e WHERE "+where+" AND e.seq < ?", args...).Scan(&n); err != nil {
		return "", vigil.Unavailable("counting events failed", err)
	}
	if n*broadScan > through {
		return "events e INDEXED BY events_actor", nil
	}
	return "events e", nil
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

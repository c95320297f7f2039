package sqlite

import (
	"context"
	"fmt"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/alert"
)

// History answers the look-ups of the stateful alert rules with indexed
// queries over stored events (alert.History).
func (db *DB) History() alert.History { return history{db} }

type history struct{ db *DB }

// scope turns an alert.Scope into SQL over events e. ok is false when the
// workspace does not exist: it has no history.
func (h history) scope(ctx context.Context, s alert.Scope) (where string, args []any, ok bool, err error) {
	ws, err := h.db.workspaceID(ctx, s.Workspace)
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		return "", nil, false, nil
	} else if err != nil {
		return "", nil, false, err
	}
	where, args = "e.ws = ? AND e.seq <= ?", []any{ws, s.Through}
	if !s.Since.IsZero() {
		where += " AND e.created_at >= ?"
		args = append(args, s.Since.UnixNano())
	}
	if s.Action != "" {
		// The unary + keeps SQLite off the action index: every look-up
		// also names an actor or a session, whose index narrows far more
		// (an action pattern matches most of a log). "(? || '')" hides the
		// bound pattern from the GLOB optimisation, which would otherwise
		// re-prepare the statement on every execution to look at it.
		where += " AND +e.action GLOB (? || '')"
		args = append(args, globPattern(s.Action))
	}
	return where, args, true, nil
}

func (h history) Countries(ctx context.Context, s alert.Scope, actorID string) ([]string, error) {
	where, args, ok, err := h.scope(ctx, s)
	if err != nil || !ok {
		return nil, err
	}
	stmt, err := h.db.readStmt(ctx, "SELECT DISTINCT e.ip_country FROM events e WHERE "+where+
		" AND e.actor_id = ? AND e.ip_country IS NOT NULL")
	if err != nil {
		return nil, err
	}
	rows, err := stmt.QueryContext(ctx, append(args, actorID)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (h history) Volume(ctx context.Context, s alert.Scope, by alert.By, key string, m alert.Measure) (int, error) {
	where, args, ok, err := h.scope(ctx, s)
	if err != nil || !ok {
		return 0, err
	}
	var col string
	switch by {
	case alert.ByActor:
		col = "e.actor_id"
	case alert.BySession:
		col = "e.session_id"
	default:
		return 0, fmt.Errorf("sqlite: history: no volume by %q", by)
	}
	var count string
	switch m {
	case alert.Patients:
		count = "count(DISTINCT e.patient_id)"
	case alert.Records:
		// A record is a resource type and id; char(0) cannot occur in
		// either, so it separates them unambiguously.
		count = "count(DISTINCT coalesce(e.resource, '') || char(0) || e.resource_id)"
	case alert.Events:
		count = "count(*)"
	default:
		return 0, fmt.Errorf("sqlite: history: no measure %q", m)
	}
	stmt, err := h.db.readStmt(ctx, "SELECT "+count+" FROM events e WHERE "+where+" AND "+col+" = ?")
	if err != nil {
		return 0, err
	}
	var n int
	err = stmt.QueryRowContext(ctx, append(args, key)...).Scan(&n)
	return n, err
}

func (h history) Failures(ctx context.Context, s alert.Scope, actorID string) (int, error) {
	where, args, ok, err := h.scope(ctx, s)
	if err != nil || !ok {
		return 0, err
	}
	stmt, err := h.db.readStmt(ctx, "SELECT count(*) FROM events e WHERE "+where+" AND e.actor_id = ? AND e.outcome != 'success'")
	if err != nil {
		return 0, err
	}
	var n int
	err = stmt.QueryRowContext(ctx, append(args, actorID)...).Scan(&n)
	return n, err
}

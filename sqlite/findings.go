package sqlite

import (
	"context"
	"database/sql"
	"maps"
	"sync"
	"time"

	"github.com/vigilhq/vigil"
)

var _ vigil.Findings = (*DB)(nil)

// found is the one place that holds what verification has found: the
// count of recorded findings by workspace and type, loaded when the store
// opens and kept up as findings are recorded.
type found struct {
	mu sync.Mutex
	by map[string]vigil.BreakSummary
}

func (f *found) add(workspace, typ string, n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.by == nil {
		f.by = map[string]vigil.BreakSummary{}
	}
	s := f.by[workspace]
	if s.Types == nil {
		s.Types = map[string]int64{}
	}
	s.Breaks += n
	s.Types[typ] += n
	f.by[workspace] = s
}

// FoundBreaks implements vigil.Findings.
func (db *DB) FoundBreaks() map[string]vigil.BreakSummary {
	db.found.mu.Lock()
	defer db.found.mu.Unlock()
	out := make(map[string]vigil.BreakSummary, len(db.found.by))
	for ws, s := range db.found.by {
		out[ws] = vigil.BreakSummary{Breaks: s.Breaks, Types: maps.Clone(s.Types)}
	}
	return out
}

// loadFound counts the findings recorded before the store opened.
func (db *DB) loadFound(ctx context.Context) error {
	rows, err := db.write.QueryContext(ctx, `SELECT w.name, f.type, count(*) FROM ledger_findings f JOIN workspaces w ON w.id = f.ws GROUP BY w.name, f.type`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var ws, typ string
		var n int64
		if err := rows.Scan(&ws, &typ, &n); err != nil {
			return err
		}
		db.found.add(ws, typ, n)
	}
	return rows.Err()
}

// recordFindings stores the breaks not already recorded, naming who found
// them, and returns them.
func (db *DB) recordFindings(ctx context.Context, ws int64, workspace, by string, breaks []vigil.Break) ([]vigil.Break, error) {
	var fresh []vigil.Break
	for _, b := range breaks {
		var seq any
		if b.Sequence >= 0 {
			seq = b.Sequence
		}
		var exists int
		err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM ledger_findings WHERE ws = ? AND type = ? AND seq IS ? AND coalesce(expected, '') = ? AND coalesce(actual, '') = ?`,
			ws, b.Type, seq, b.ExpectedHash, b.ActualHash).Scan(&exists)
		if err != nil {
			return nil, err
		}
		if exists > 0 {
			continue
		}
		_, err = db.write.ExecContext(ctx, `INSERT INTO ledger_findings (ws, type, seq, event_id, expected, actual, detail, found_at) VALUES (?,?,?,?,?,?,?,?)`,
			ws, b.Type, seq, null(b.EventID), null(b.ExpectedHash), null(b.ActualHash), by+": "+b.Detail, db.cfg.Now().UnixNano())
		if err != nil {
			return nil, err
		}
		db.found.add(workspace, b.Type, 1)
		fresh = append(fresh, b)
	}
	return fresh, nil
}

// findings returns what was recorded for a workspace.
func (db *DB) findings(ctx context.Context, ws int64) ([]vigil.Break, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT type, seq, event_id, expected, actual, detail, found_at FROM ledger_findings WHERE ws = ? ORDER BY id LIMIT ?", ws, maxBreaks)
	if err != nil {
		return nil, vigil.Unavailable("reading findings failed", err)
	}
	defer rows.Close()
	var out []vigil.Break
	for rows.Next() {
		var b vigil.Break
		var seq sql.NullInt64
		var id, exp, act, detail sql.NullString
		var at int64
		if err := rows.Scan(&b.Type, &seq, &id, &exp, &act, &detail, &at); err != nil {
			return nil, err
		}
		b.Sequence = -1
		if seq.Valid {
			b.Sequence = seq.Int64
		}
		b.EventID, b.ExpectedHash, b.ActualHash = id.String, exp.String, act.String
		b.Detail = "recorded at " + time.Unix(0, at).UTC().Format(time.RFC3339) + ", found by " + detail.String
		out = append(out, b)
	}
	return out, rows.Err()
}

// withFindings is a verification's breaks, recorded as found by by (when
// not empty), and then the ones recorded before that this verification
// did not find again (the evidence may have been restored since).
func (db *DB) withFindings(ctx context.Context, ws int64, workspace, by string, rep vigil.VerifyReport) (vigil.VerifyReport, error) {
	if by != "" {
		if _, err := db.recordFindings(ctx, ws, workspace, by, rep.Breaks); err != nil {
			return rep, vigil.Unavailable("recording findings failed", err)
		}
	}
	stored, err := db.findings(ctx, ws)
	if err != nil {
		return rep, err
	}
	type key struct {
		typ      string
		seq      int64
		exp, act string
	}
	seen := map[key]bool{}
	for _, b := range rep.Breaks {
		seen[key{b.Type, b.Sequence, b.ExpectedHash, b.ActualHash}] = true
	}
	for _, b := range stored {
		if !seen[key{b.Type, b.Sequence, b.ExpectedHash, b.ActualHash}] && len(rep.Breaks) < maxBreaks {
			rep.Breaks = append(rep.Breaks, b)
		}
	}
	rep.Valid = len(rep.Breaks) == 0
	return rep, nil
}

package sqlite

import (
	"context"
	"strings"

	"github.com/vigilhq/vigil"
)

// Search terms live in event_terms (migration 0004), written in the same
// transaction as their event by the one writer; Config.Index derives them.
// They are an index, not evidence: the ledger covers the event, and the
// terms can always be derived from it again.

// terms writes an event's search terms. Repeated terms are stored once.
func (ins *inserter) terms(ctx context.Context, ws, seq int64, ts []vigil.Term) error {
	for _, t := range ts {
		if _, err := ins.insTerm.ExecContext(ctx, ws, seq, t.Name, t.System, t.Value); err != nil {
			return err
		}
	}
	return nil
}

// indexTerms derives an event's terms, dropping any a column could not
// hold (the index never refuses an event the validator accepted).
func indexTerms(index func(vigil.Event) []vigil.Term, e vigil.Event) []vigil.Term {
	if index == nil {
		return nil
	}
	ts := index(e)
	out := ts[:0]
	for _, t := range ts {
		if t.Name == "" || !vigil.ValidText(t.Name+t.System+t.Value) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// termClause adds one TermFilter to a WHERE clause: an EXISTS over the
// event's terms, any of the filter's values matching.
func termClause(b *strings.Builder, args *[]any, f vigil.TermFilter) {
	b.WriteString(" AND EXISTS (SELECT 1 FROM event_terms t WHERE t.ws = e.ws AND t.seq = e.seq AND t.name = ? AND (")
	*args = append(*args, f.Name)
	if len(f.Values) == 0 {
		b.WriteString("0")
	}
	for i, v := range f.Values {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString("(1")
		if !v.AnySystem {
			b.WriteString(" AND t.system = ?")
			*args = append(*args, v.System)
		}
		switch {
		case v.Prefix:
			// A range over the index instead of LIKE, whose wildcards and
			// case folding would need escaping.
			b.WriteString(" AND t.value >= ? AND t.value < ?")
			*args = append(*args, v.Value, v.Value+"\U0010FFFF")
		case v.Value != "" || v.AnySystem:
			b.WriteString(" AND t.value = ?")
			*args = append(*args, v.Value)
		}
		b.WriteString(")")
	}
	b.WriteString("))")
}

// backfillTerms indexes the events stored without search terms: those
// written before migration 0004, or by a process without Config.Index. It
// runs at Open, before the writer starts, so it is the only writer.
func (db *DB) backfillTerms(ctx context.Context) (int, error) {
	if db.cfg.Index == nil {
		return 0, nil
	}
	var wss []int64
	rows, err := db.write.QueryContext(ctx, "SELECT id FROM workspaces ORDER BY id")
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var ws int64
		if err := rows.Scan(&ws); err != nil {
			rows.Close()
			return 0, err
		}
		wss = append(wss, ws)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	done := 0
	for _, ws := range wss {
		for after := int64(-1); ; {
			events, err := db.unindexed(ctx, ws, after, 1000)
			if err != nil {
				return done, err
			}
			if len(events) == 0 {
				break
			}
			if err := db.indexEvents(ctx, ws, events); err != nil {
				return done, err
			}
			done += len(events)
			after = events[len(events)-1].Sequence
		}
	}
	return done, nil
}

// unindexed reads up to n events of ws after sequence after that have no
// search terms.
func (db *DB) unindexed(ctx context.Context, ws, after int64, n int) ([]vigil.Event, error) {
	rows, err := db.write.QueryContext(ctx, "SELECT "+eventColumns+` FROM events e WHERE e.ws = ? AND e.seq > ?
		AND NOT EXISTS (SELECT 1 FROM event_terms t WHERE t.ws = e.ws AND t.seq = e.seq) ORDER BY e.seq LIMIT ?`, ws, after, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []vigil.Event
	for rows.Next() {
		e, err := scanEvent(rows, "")
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (db *DB) indexEvents(ctx context.Context, ws int64, events []vigil.Event) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, "INSERT OR IGNORE INTO event_terms (ws, seq, name, system, value) VALUES (?,?,?,?,?)")
	if err != nil {
		return err
	}
	defer ins.Close()
	for _, e := range events {
		for _, t := range indexTerms(db.cfg.Index, e) {
			if _, err := ins.ExecContext(ctx, ws, e.Sequence, t.Name, t.System, t.Value); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

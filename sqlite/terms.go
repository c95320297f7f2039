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

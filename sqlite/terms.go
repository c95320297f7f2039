package sqlite

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/vigilhq/vigil"
)

// Search terms live in event_terms (migration 0004), written in the same
// transaction as their event by the one writer; Config.Index derives them.
// They are an index, not evidence: the ledger covers the event, and the
// terms can always be derived from it again.
//
// Each event is one row of a contentless FTS5 table whose rowid is
// ws<<40 | seq. Each term becomes tokens the ascii tokenizer keeps whole
// (letters and digits only), h being 64-bit FNV-1a in hex:
//
//	e<h(name, system)><h(value)>  the exact term; "system|" is a prefix query
//	a<h(name)><h(value)>          the value in any system, for terms with one
//	p<h(name)><hex(value)>        text, matched by prefix query
//
// A term without a system needs no "a" token: a search for a value in any
// system asks for its "a" token or its system-less "e" token. A search is
// one MATCH expression: filters ANDed, the values of a filter ORed.

// termBatch is the number of events per multi-row insert of terms.
const termBatch = 512

// seqBits is how far a workspace id is shifted in an event_terms rowid;
// sequences stay below 2^40.
const seqBits = 40

func termRowID(ws, seq int64) int64 { return ws<<seqBits | seq }

// terms queues an event's search tokens (termTokens); flush writes what
// is left before the commit.
func (ins *inserter) terms(ctx context.Context, ws, seq int64, tokens string) error {
	if tokens == "" {
		return nil
	}
	ins.pendingTerms = append(ins.pendingTerms, termRowID(ws, seq), tokens)
	return nil
}

// A sealed event's terms are keyed: every hash above is the first 8
// bytes of HMAC-SHA-256 under the workspace's index key
// (vigil.Blinder.AppendToken) instead of FNV-1a, so the index names no
// value to whoever lacks the key, and a text term, which cannot be
// matched by a prefix of a keyed hash, has one token per prefix of its
// value, up to maxKeyedPrefix characters:
//
//	p<k(name)><k(prefix)>  for each prefix of the value
//
// A query matches both forms, so a workspace with events of both kinds
// is searched whole.

// maxKeyedPrefix bounds the prefixes of a keyed text term: a longer
// query prefix is matched by its first maxKeyedPrefix characters.
const maxKeyedPrefix = 64

// sealedBlinder is the key of an event's search tokens: b for a sealed
// event, nil (unkeyed tokens) for one in clear.
func sealedBlinder(e *vigil.Event, b *vigil.Blinder) *vigil.Blinder {
	if e.Seal == nil {
		return nil
	}
	return b
}

func termTokens(ts []vigil.Term, key *vigil.Blinder) string {
	b := make([]byte, 0, len(ts)*2*35)
	var value []byte // the value's hash, written once for the exact and any tokens
	for _, t := range ts {
		value = tokenHash(value[:0], key, 'v', t.Value)
		b = append(b, 'e')
		b = nameHash(b, key, 'e', t.Name, t.System)
		b = append(append(b, value...), ' ')
		if t.System != "" {
			b = append(b, 'a')
			b = nameHash(b, key, 'a', t.Name)
			b = append(append(b, value...), ' ')
		}
		if t.Text {
			if key == nil {
				b = appendPrefix(b, nil, t.Name, t.Value)
				b = append(b, ' ')
				continue
			}
			n := 0
			for i := range t.Value {
				if i > 0 {
					b = appendPrefix(b, key, t.Name, t.Value[:i])
					b = append(b, ' ')
				}
				if n++; n > maxKeyedPrefix {
					break
				}
			}
			if n <= maxKeyedPrefix {
				b = appendPrefix(b, key, t.Name, t.Value)
				b = append(b, ' ')
			}
		}
	}
	return string(b)
}

// tokenHash appends the hash of kind and parts: keyed under key, or
// FNV-1a without one.
func tokenHash(b []byte, key *vigil.Blinder, kind byte, parts ...string) []byte {
	if key != nil {
		return key.AppendToken(b, kind, parts...)
	}
	return appendHash(b, kind, parts...)
}

// nameHash is tokenHash of a parameter's name (and system), which recur.
func nameHash(b []byte, key *vigil.Blinder, kind byte, parts ...string) []byte {
	if key != nil {
		return key.AppendNameToken(b, kind, parts...)
	}
	return appendHash(b, kind, parts...)
}

func appendExact(b []byte, key *vigil.Blinder, name, system, value string) []byte {
	b = append(b, 'e')
	b = nameHash(b, key, 'e', name, system)
	return tokenHash(b, key, 'v', value)
}

func appendAny(b []byte, key *vigil.Blinder, name, value string) []byte {
	b = append(b, 'a')
	b = nameHash(b, key, 'a', name)
	return tokenHash(b, key, 'v', value)
}

// appendPrefix appends the text token of value: its hex without a key,
// the keyed hash of this one prefix with one.
func appendPrefix(b []byte, key *vigil.Blinder, name, value string) []byte {
	b = append(b, 'p')
	b = nameHash(b, key, 'p', name)
	if key != nil {
		return key.AppendToken(b, 'q', value)
	}
	return hex.AppendEncode(b, []byte(value))
}

func exactToken(key *vigil.Blinder, name, system, value string) string {
	return string(appendExact(nil, key, name, system, value))
}

func anyToken(key *vigil.Blinder, name, value string) string {
	return string(appendAny(nil, key, name, value))
}

// keyedPrefix is the token a query prefix matches among keyed terms.
func keyedPrefix(key *vigil.Blinder, name, value string) string {
	n := 0
	for i := range value {
		if n == maxKeyedPrefix {
			value = value[:i]
			break
		}
		n++
	}
	return string(appendPrefix(nil, key, name, value))
}

// appendHash appends the 64-bit FNV-1a hash of kind and parts (each
// followed by a zero byte, so parts cannot run into each other) in hex.
func appendHash(b []byte, kind byte, parts ...string) []byte {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	h = (h ^ uint64(kind)) * prime
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			h = (h ^ uint64(p[i])) * prime
		}
		h *= prime // the zero byte: h ^ 0 == h
	}
	var raw [8]byte
	binary.BigEndian.PutUint64(raw[:], h)
	return hex.AppendEncode(b, raw[:])
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

// matchExpr is the MATCH expression of a query's TermFilters: filters
// ANDed, the values of a filter ORed. With a key, each value also
// matches the keyed tokens of sealed events.
func matchExpr(fs []vigil.TermFilter, key *vigil.Blinder) string {
	var m strings.Builder
	for i, f := range fs {
		if i > 0 {
			m.WriteString(" AND ")
		}
		m.WriteString("(")
		if len(f.Values) == 0 {
			// Nothing can match; a token no term produces says so.
			m.WriteString("none")
		}
		for j, v := range f.Values {
			if j > 0 {
				m.WriteString(" OR ")
			}
			m.WriteString(valueExpr(f.Name, v, nil))
			if key != nil {
				m.WriteString(" OR " + valueExpr(f.Name, v, key))
			}
		}
		m.WriteString(")")
	}
	return m.String()
}

// valueExpr matches one value of a filter among the tokens made with key
// (nil: the unkeyed ones).
func valueExpr(name string, v vigil.TermValue, key *vigil.Blinder) string {
	switch {
	case v.Prefix && key != nil:
		return keyedPrefix(key, name, v.Value)
	case v.Prefix:
		return string(appendPrefix(nil, nil, name, v.Value)) + "*"
	case v.AnySystem:
		return anyToken(key, name, v.Value) + " OR " + exactToken(key, name, "", v.Value)
	case v.Value == "":
		return string(tokenHash([]byte{'e'}, key, 'e', name, v.System)) + "*"
	default:
		return exactToken(key, name, v.System, v.Value)
	}
}

// termsClause adds a query's TermFilters to a WHERE clause: the events
// among the workspace's rows of event_terms that MATCH.
func termsClause(b *strings.Builder, args *[]any, ws int64, fs []vigil.TermFilter, key *vigil.Blinder) {
	b.WriteString(" AND e.seq IN (SELECT rowid - ? FROM event_terms WHERE event_terms MATCH ? AND rowid >= ? AND rowid < ?)")
	lo := termRowID(ws, 0)
	*args = append(*args, lo, matchExpr(fs, key), lo, termRowID(ws+1, 0))
}

// sparseTerms is the most matches a search reads up front. Up to it, the
// query looks the matching events up by key and sorts them; beyond it, it
// walks the events in order and tests each against the matches (the
// planner cannot tell the two cases apart without statistics).
const sparseTerms = 5000

// matchTerms returns the sequences of the workspace's events matching fs,
// or ok false when there are more than sparseTerms.
func (db *DB) matchTerms(ctx context.Context, ws int64, fs []vigil.TermFilter, key *vigil.Blinder) (seqs []int64, ok bool, err error) {
	lo := termRowID(ws, 0)
	rows, err := db.read.QueryContext(ctx, "SELECT rowid - ? FROM event_terms WHERE event_terms MATCH ? AND rowid >= ? AND rowid < ? LIMIT ?",
		lo, matchExpr(fs, key), lo, termRowID(ws+1, 0), sparseTerms+1)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return nil, false, err
		}
		seqs = append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	return seqs, len(seqs) <= sparseTerms, nil
}

// seqList renders sequences as a JSON array for json_each.
func seqList(seqs []int64) string {
	b := make([]byte, 0, len(seqs)*8+2)
	b = append(b, '[')
	for i, s := range seqs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, s, 10)
	}
	return string(append(b, ']'))
}

// termsConsumer names the search index's durable cursor: the sequence up
// to which each workspace's events have their terms.
const termsConsumer = "search_terms"

func (ins *inserter) indexedThrough(ctx context.Context, ws, next int64) error {
	_, err := ins.setCursor.ExecContext(ctx, termsConsumer, ws, next)
	return err
}

// backfillTerms indexes the events stored without search terms: those
// written before migration 0004, or by a process without Config.Index,
// from the index's cursor on. It runs at Open, before the writer starts,
// so it is the only writer.
func (db *DB) backfillTerms(ctx context.Context) (int, error) {
	if db.cfg.Index == nil {
		return 0, nil
	}
	type todo struct {
		ws, from int64
		name     string
	}
	var wss []todo
	rows, err := db.write.QueryContext(ctx, `SELECT w.id, w.name, coalesce(c.next_seq, 0) FROM workspaces w
		LEFT JOIN cursors c ON c.consumer = ? AND c.ws = w.id ORDER BY w.id`, termsConsumer)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var t todo
		if err := rows.Scan(&t.ws, &t.name, &t.from); err != nil {
			rows.Close()
			return 0, err
		}
		wss = append(wss, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	done := 0
	for _, t := range wss {
		for from := t.from; ; {
			events, err := db.eventsFrom(ctx, t.ws, t.name, from, 1000)
			if err != nil {
				return done, err
			}
			if len(events) == 0 {
				break
			}
			from = events[len(events)-1].Sequence + 1
			if err := db.indexEvents(ctx, t.ws, t.name, events, from); err != nil {
				return done, err
			}
			done += len(events)
		}
	}
	return done, nil
}

// eventsFrom reads up to n events of ws from sequence from on.
func (db *DB) eventsFrom(ctx context.Context, ws int64, workspace string, from int64, n int) ([]vigil.Event, error) {
	rows, err := db.write.QueryContext(ctx, "SELECT "+eventColumns+" FROM events e WHERE e.ws = ? AND e.seq >= ? ORDER BY e.seq LIMIT ?", ws, from, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []vigil.Event
	for rows.Next() {
		e, err := db.scanEvent(rows, workspace)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// indexEvents writes the terms of events and moves the cursor to next,
// in one transaction.
func (db *DB) indexEvents(ctx context.Context, ws int64, workspace string, events []vigil.Event, next int64) error {
	var key *vigil.Blinder
	for i := range events {
		if events[i].Seal != nil && key == nil {
			// Before the transaction, which holds the one connection the
			// key lookup would need.
			var err error
			if key, err = db.keys.Blinder(ctx, workspace); err != nil {
				return err
			}
		}
	}
	var stmts stmtCache
	defer stmts.close()
	if err := stmts.prepare(ctx, db.write, inserterSQL); err != nil {
		return err
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins, err := newInserter(ctx, tx, &stmts)
	if err != nil {
		return err
	}
	defer ins.close()
	for _, e := range events {
		if err := ins.terms(ctx, ws, e.Sequence, termTokens(indexTerms(db.cfg.Index, e), sealedBlinder(&e, key))); err != nil {
			return err
		}
	}
	if err := ins.indexedThrough(ctx, ws, next); err != nil {
		return err
	}
	if err := ins.flush(ctx); err != nil {
		return err
	}
	return tx.Commit()
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/vigilhq/vigil"
	"golang.org/x/mod/sumdb/tlog"
)

// inserter holds the writer's statements bound to one transaction.
type inserter struct {
	tx                                       *sql.Tx
	insEvent, insTarget, insHashes, insTerms *sql.Stmt
	setCursor                                *sql.Stmt

	// pending holds stored hashes not yet written: they go in multi-row
	// inserts of hashBatch rows, which costs SQLite and database/sql far
	// less than one statement per hash.
	pending []any

	// pendingTerms holds search terms not yet written, for multi-row
	// inserts of termBatch rows in the same way.
	pendingTerms []any
}

// hashBatch is the number of stored hashes per multi-row insert.
const hashBatch = 256

const insertEventSQL = `INSERT INTO events (ws, seq, id, created_at, occurred_at, actor_id, actor_name, actor_type,
	action, action_category, resource, resource_id, resource_name, targets, metadata, tenant_id, session_id,
	idempotency_key, version, outcome, patient_id, purpose_of_use, ip_address, user_agent, source,
	ip_country, ip_city, ip_region, ip_from_connection, key_id, commitments, sealed)
	VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

// newInserter binds the writer's statements to a transaction. They are
// prepared once on the write connection (stmts) and only bound here:
// database/sql reuses a statement prepared on the transaction's own
// connection, so no transaction re-prepares them.
var (
	insertTargetSQL = "INSERT INTO event_targets (ws, seq, pos, type, id) VALUES (?,?,?,?,?)"
	setCursorSQL    = `INSERT INTO cursors (consumer, ws, next_seq) VALUES (?,?,?)
		ON CONFLICT (consumer, ws) DO UPDATE SET next_seq = excluded.next_seq`
	insertTermsSQL  = "INSERT INTO event_terms (rowid, terms) VALUES " + strings.TrimSuffix(strings.Repeat("(?,?),", termBatch), ",")
	insertHashesSQL = "INSERT INTO ledger_hashes (ws, idx, hash) VALUES " + strings.TrimSuffix(strings.Repeat("(?,?,?),", hashBatch), ",")

	// inserterSQL are the statements an inserter binds.
	inserterSQL = []string{insertEventSQL, insertTargetSQL, setCursorSQL, insertTermsSQL, insertHashesSQL}
)

func newInserter(ctx context.Context, tx *sql.Tx, stmts *stmtCache) (*inserter, error) {
	ins := &inserter{tx: tx}
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		if s, err = stmts.get(ctx, q); err != nil {
			return nil
		}
		return tx.StmtContext(ctx, s)
	}
	ins.insEvent = prep(insertEventSQL)
	ins.insTarget = prep(insertTargetSQL)
	ins.setCursor = prep(setCursorSQL)
	ins.insTerms = prep(insertTermsSQL)
	ins.insHashes = prep(insertHashesSQL)
	if err != nil {
		ins.close()
		return nil, err
	}
	return ins, nil
}

func (ins *inserter) close() {
	for _, s := range []*sql.Stmt{ins.insEvent, ins.insTarget, ins.insHashes, ins.insTerms, ins.setCursor} {
		if s != nil {
			s.Close()
		}
	}
}

// event writes an event's row and its targets. A sealed event (its
// record's sealed payload given) is stored with blind indexes under b in
// its filtered identifying columns, nothing in the others, and the
// payload, commitments and key id from which it is read back.
func (ins *inserter) event(ctx context.Context, ws int64, e *vigil.Event, sealed []byte, b *vigil.Blinder) error {
	if e.Seal != nil {
		if b == nil {
			return errors.New("sqlite: a sealed event needs its workspace's blind-index key")
		}
		c := blindOf(b, e)
		_, err := ins.insEvent.ExecContext(ctx, ws, e.Sequence, e.ID, e.CreatedAt.UnixNano(), e.OccurredAt.UnixNano(),
			c.actor, nil, null(e.ActorType), e.Action, null(e.ActionCategory),
			null(e.Resource), c.resource, nil, nil, nil,
			null(e.TenantID), c.session, c.idem, null(e.Version), string(e.Outcome),
			c.patient, null(e.PurposeOfUse), nil, nil, null(e.Source),
			null(e.IPCountry), nil, null(e.IPRegion), fromConnection(e),
			e.Seal.KeyID, encodeCommitments(e.Seal.Commitments), sealed)
		if err != nil {
			return err
		}
		for i, t := range e.Targets {
			if _, err := ins.insTarget.ExecContext(ctx, ws, e.Sequence, i, t.Type, c.targets[i]); err != nil {
				return err
			}
		}
		return nil
	}
	_, err := ins.insEvent.ExecContext(ctx, ws, e.Sequence, e.ID, e.CreatedAt.UnixNano(), e.OccurredAt.UnixNano(),
		e.ActorID, null(e.ActorName), null(e.ActorType), e.Action, null(e.ActionCategory),
		null(e.Resource), null(e.ResourceID), null(e.ResourceName), targetsJSON(e.Targets), nullBytes(e.Metadata),
		null(e.TenantID), null(e.SessionID), null(e.IdempotencyKey), null(e.Version), string(e.Outcome),
		null(e.PatientID), null(e.PurposeOfUse), null(e.IPAddress), null(e.UserAgent), null(e.Source),
		null(e.IPCountry), null(e.IPCity), null(e.IPRegion), fromConnection(e), nil, nil, nil)
	if err != nil {
		return err
	}
	for i, t := range e.Targets {
		if _, err := ins.insTarget.ExecContext(ctx, ws, e.Sequence, i, t.Type, t.ID); err != nil {
			return err
		}
	}
	return nil
}

// hash queues one stored hash; flush writes the queue.
func (ins *inserter) hash(ctx context.Context, ws, idx int64, h tlog.Hash) error {
	ins.pending = append(ins.pending, ws, idx, h[:])
	if len(ins.pending) == 3*hashBatch {
		_, err := ins.insHashes.ExecContext(ctx, ins.pending...)
		ins.pending = ins.pending[:0]
		return err
	}
	return nil
}

// flush writes the queued hashes, then every queued search term, last in
// the transaction: FTS5 writes its pending terms to disk whenever a later
// statement opens a savepoint, so terms written between other inserts
// would be flushed (and merged) once per statement instead of once per
// batch.
func (ins *inserter) flush(ctx context.Context) error {
	if err := ins.insertRows(ctx, "INSERT INTO ledger_hashes (ws, idx, hash) VALUES ", 3, ins.pending); err != nil {
		return err
	}
	ins.pending = ins.pending[:0]
	for len(ins.pendingTerms) >= 2*termBatch {
		if _, err := ins.insTerms.ExecContext(ctx, ins.pendingTerms[:2*termBatch]...); err != nil {
			return err
		}
		ins.pendingTerms = ins.pendingTerms[2*termBatch:]
	}
	if err := ins.insertRows(ctx, "INSERT INTO event_terms (rowid, terms) VALUES ", 2, ins.pendingTerms); err != nil {
		return err
	}
	ins.pendingTerms = ins.pendingTerms[:0]
	return nil
}

// insertRows writes what is left of a queue (fewer rows than a full
// batch) in one multi-row statement.
func (ins *inserter) insertRows(ctx context.Context, insert string, columns int, args []any) error {
	if len(args) == 0 {
		return nil
	}
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", columns), ",") + "),"
	_, err := ins.tx.ExecContext(ctx, insert+strings.TrimSuffix(strings.Repeat(row, len(args)/columns), ","), args...)
	return err
}

// fromConnection is the ip_from_connection column of an event about to
// be stored: never NULL, which is kept for events stored before it.
func fromConnection(e *vigil.Event) int {
	if e.IPFromConnection && e.IPAddress != "" {
		return 1
	}
	return 0
}

// null stores an absent string as SQL NULL, so partial indexes skip it.
func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

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
	tx                           *sql.Tx
	insEvent, insTarget, insHash *sql.Stmt
	insHashes, insTerm, insTerms *sql.Stmt
	setCursor                    *sql.Stmt

	// pending holds stored hashes not yet written: they go in multi-row
	// inserts of hashBatch rows, which costs SQLite and database/sql far
	// less than one statement per hash.
	pending []any

	// pendingTerms holds search terms not yet written, for multi-row
	// inserts of termBatch rows in the same way.
	pendingTerms []any
}

// hashBatch is the number of stored hashes per multi-row insert.
const hashBatch = 64

const insertEventSQL = `INSERT INTO events (ws, seq, id, created_at, occurred_at, actor_id, actor_name, actor_type,
	action, action_category, resource, resource_id, resource_name, targets, metadata, tenant_id, session_id,
	idempotency_key, version, outcome, patient_id, purpose_of_use, ip_address, user_agent, source,
	ip_country, ip_city, ip_region, ip_from_connection, key_id, commitments, sealed)
	VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

func newInserter(ctx context.Context, tx *sql.Tx) (*inserter, error) {
	ins := &inserter{tx: tx}
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		s, err = tx.PrepareContext(ctx, q)
		return s
	}
	ins.insEvent = prep(insertEventSQL)
	ins.insTarget = prep("INSERT INTO event_targets (ws, seq, pos, type, id) VALUES (?,?,?,?,?)")
	ins.insHash = prep("INSERT INTO ledger_hashes (ws, idx, hash) VALUES (?,?,?)")
	ins.insTerm = prep("INSERT INTO event_terms (rowid, terms) VALUES (?,?)")
	ins.setCursor = prep(`INSERT INTO cursors (consumer, ws, next_seq) VALUES (?,?,?)
		ON CONFLICT (consumer, ws) DO UPDATE SET next_seq = excluded.next_seq`)
	ins.insTerms = prep("INSERT INTO event_terms (rowid, terms) VALUES " + strings.TrimSuffix(strings.Repeat("(?,?),", termBatch), ","))
	ins.insHashes = prep("INSERT INTO ledger_hashes (ws, idx, hash) VALUES " + strings.TrimSuffix(strings.Repeat("(?,?,?),", hashBatch), ","))
	if err != nil {
		ins.close()
		return nil, err
	}
	return ins, nil
}

func (ins *inserter) close() {
	for _, s := range []*sql.Stmt{ins.insEvent, ins.insTarget, ins.insHash, ins.insHashes, ins.insTerm, ins.insTerms, ins.setCursor} {
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

// flush writes the queued hashes; the writer calls it before commit and
// before reading hashes back.
func (ins *inserter) flush(ctx context.Context) error {
	for i := 0; i < len(ins.pending); i += 3 {
		if _, err := ins.insHash.ExecContext(ctx, ins.pending[i:i+3]...); err != nil {
			return err
		}
	}
	ins.pending = ins.pending[:0]
	for i := 0; i < len(ins.pendingTerms); i += 2 {
		if _, err := ins.insTerm.ExecContext(ctx, ins.pendingTerms[i:i+2]...); err != nil {
			return err
		}
	}
	ins.pendingTerms = ins.pendingTerms[:0]
	return nil
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

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/crypt"
	"golang.org/x/mod/sumdb/tlog"
)

// writer is the one goroutine that writes the projection of the log:
// the event rows, their targets and search terms, the ledger's stored
// hashes and the checkpoints. The engine applies the log's records
// through Apply, after they were acknowledged; the writer writes each
// batch in one transaction together with the cursor it implies (the
// workspace's size), so a crash leaves the projection at a batch boundary
// and the engine feeds it again from there.
type writer struct {
	db    *DB
	queue chan *applyReq
	signs chan *signReq // checkpoints readers need now (demand.go)
	stop  chan struct{}
	done  chan struct{}

	mu     sync.RWMutex // guards closed against concurrent enqueues
	closed bool

	stmts     stmtCache       // the writer's statements, prepared once on the write connection
	resume    chan chan error // Resume
	paused    bool            // opened with DeferWitness and not resumed: no checkpoint is signed
	lastErr   atomic.Pointer[commitFailure]
	logs      map[int64]*logState // by workspace id; only the writer goroutine touches it
	witnessed map[string]string   // what the writer last wrote to (or found in) the witness, by workspace (witness.go)
	batchHook func(events int)    // observes commit batch sizes (metrics)
}

type commitFailure struct {
	at  time.Time
	err error
}

// applyReq is one batch of log records of one workspace to project.
type applyReq struct {
	ctx    context.Context
	ws     int64
	wsName string
	recs   []vigil.LogRecord
	events []vigil.Event  // the records' events, parsed in the caller's goroutine
	terms  []string       // search tokens of each event, from Config.Index
	blind  *vigil.Blinder // the workspace's blind-index key, when an event is sealed
	done   chan error
}

// logState is the writer's memory of one workspace's log: its size and the
// right edge of the tree, so appends read no hashes from disk.
type logState struct {
	size int64
	// edge[level] is the latest stored hash at that level, at index
	// edgeIndex[level]; tlog.StoredHashesForRecordHash reads only these.
	edge      [64]tlog.Hash
	edgeIndex [64]int64
	lastLeaf  tlog.Hash
	// lastCreated keeps created_at strictly increasing along the log even
	// if the wall clock steps back, so order in time is order in sequence.
	lastCreated time.Time

	checkpointSize int64
	checkpointAt   time.Time
}

func newWriter(ctx context.Context, db *DB) (*writer, error) {
	w := &writer{
		db:     db,
		queue:  make(chan *applyReq, 64),
		signs:  make(chan *signReq, 64),
		resume: make(chan chan error),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		logs:   map[int64]*logState{},
	}
	if err := w.stmts.prepare(ctx, db.write, inserterSQL); err != nil {
		return nil, err
	}
	rows, err := db.write.QueryContext(ctx, "SELECT id FROM workspaces")
	if err != nil {
		return nil, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		if _, err := w.loadState(ctx, id); err != nil {
			return nil, err
		}
	}
	var rebuilding int
	if err := db.write.QueryRowContext(ctx, "SELECT count(*) FROM cursors WHERE consumer = ?", rebuildMarker).Scan(&rebuilding); err != nil {
		return nil, err
	}
	if rebuilding > 0 {
		// The projection was cleared on purpose (ClearProjection) and
		// is being rebuilt from the log: compare the witness only once
		// it has caught up (Resume), and sign nothing before, so the
		// rebuild is not taken for a truncated database. Any other
		// projection behind its checkpoints is compared now: rows
		// removed, or the database replaced by an older copy, are
		// recorded before the engine puts the events back.
		w.paused = true
		w.witnessed = map[string]string{}
	} else if err := w.openWitness(ctx); err != nil {
		return nil, err
	}
	go w.run()
	return w, nil
}

// Resume ends the pause of a store whose projection is being rebuilt
// (ClearProjection), once the engine has brought it up to the log: it
// compares the witness with the projection (recording a rollback it
// shows), forgets the rebuild and lets the writer sign checkpoints again.
// It does nothing for a store that was not paused.
func (db *DB) Resume(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case db.writer.resume <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// loadState reads a workspace's log size, tree edge and last checkpoint.
func (w *writer) loadState(ctx context.Context, ws int64) (*logState, error) {
	st := &logState{}
	var maxSeq sql.NullInt64
	if err := w.db.write.QueryRowContext(ctx, "SELECT max(seq) FROM events WHERE ws = ?", ws).Scan(&maxSeq); err != nil {
		return nil, err
	}
	if maxSeq.Valid {
		st.size = maxSeq.Int64 + 1
		var created int64
		if err := w.db.write.QueryRowContext(ctx, "SELECT created_at FROM events WHERE ws = ? AND seq = ?", ws, maxSeq.Int64).Scan(&created); err != nil {
			return nil, err
		}
		st.lastCreated = time.Unix(0, created).UTC()
	}
	for level := 0; level < 64 && st.size>>level > 0; level++ {
		k := st.size>>level - 1
		idx := tlog.StoredHashIndex(level, k)
		var h []byte
		err := w.db.write.QueryRowContext(ctx, "SELECT hash FROM ledger_hashes WHERE ws = ? AND idx = ?", ws, idx).Scan(&h)
		if err != nil {
			return nil, errors.Join(errors.New("sqlite: ledger hash missing for the last event"), err)
		}
		copy(st.edge[level][:], h)
		st.edgeIndex[level] = k
	}
	st.lastLeaf = st.edge[0]
	var cpSize sql.NullInt64
	var cpAt sql.NullInt64
	if err := w.db.write.QueryRowContext(ctx, "SELECT size, created_at FROM checkpoints WHERE ws = ? ORDER BY size DESC LIMIT 1", ws).Scan(&cpSize, &cpAt); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	st.checkpointSize = cpSize.Int64
	if cpAt.Valid {
		st.checkpointAt = time.Unix(0, cpAt.Int64)
	}
	w.logs[ws] = st
	return st, nil
}

// enqueue hands a batch to the writer, waiting while the queue is full:
// the engine's back-pressure bounds what is waiting.
func (w *writer) enqueue(r *applyReq) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return vigil.Errorf(vigil.EUNAVAILABLE, "the store is shutting down")
	}
	select {
	case w.queue <- r:
		return nil
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}

func (w *writer) close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.done
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	<-w.done
	return nil
}

func (w *writer) healthy() error {
	if f := w.lastErr.Load(); f != nil && time.Since(f.at) < 10*time.Second {
		return vigil.Unavailable("the last commit failed", f.err)
	}
	return nil
}

func (w *writer) run() {
	defer close(w.done)
	defer w.stmts.close()
	tick := time.NewTicker(w.tickInterval())
	defer tick.Stop()
	for {
		select {
		case r := <-w.queue:
			w.commitGroup(r)
		case <-tick.C:
			w.checkpointDue(false)
		case r := <-w.signs:
			w.signNow(r)
		case done := <-w.resume:
			var err error
			if w.paused {
				err = w.openWitness(context.Background())
				if err == nil {
					_, err = w.db.write.Exec("DELETE FROM cursors WHERE consumer = ?", rebuildMarker)
				}
				w.paused = err != nil
			}
			done <- err
		case <-w.stop:
			// Enqueues have stopped; commit what is waiting, then sign.
			for {
				select {
				case r := <-w.queue:
					w.commitGroup(r)
					continue
				default:
				}
				break
			}
			w.checkpointDue(true)
			return
		}
	}
}

func (w *writer) tickInterval() time.Duration {
	if d := w.db.cfg.CheckpointInterval; d > 0 {
		return d
	}
	return time.Second
}

// commitGroup gathers every request waiting behind first, up to the batch
// limit, and commits them together.
func (w *writer) commitGroup(first *applyReq) {
	group := []*applyReq{first}
	n := len(first.recs)
gather:
	for n < w.db.cfg.MaxBatchEvents {
		select {
		case r := <-w.queue:
			group = append(group, r)
			n += len(r.recs)
		default:
			break gather
		}
	}
	live := group[:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.done <- err // the caller gave up before the write began
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	err := w.writeGroup(live)
	if err != nil {
		w.lastErr.Store(&commitFailure{at: time.Now(), err: err})
		w.db.log.Error("commit failed", "err", err, "requests", len(live))
		// The in-memory tree edge may be ahead of the rolled-back database.
		for _, r := range live {
			if _, lerr := w.loadState(context.Background(), r.ws); lerr != nil {
				w.db.log.Error("reloading ledger state failed", "err", lerr)
			}
		}
		err = vigil.Unavailable("storage failed; nothing was stored", err)
	} else {
		w.lastErr.Store(nil)
		if w.batchHook != nil {
			w.batchHook(n)
		}
	}
	for _, r := range live {
		r.done <- err
	}
	if err == nil && w.db.cfg.CheckpointInterval == 0 {
		w.checkpointDue(false)
	}
}

func (w *writer) writeGroup(group []*applyReq) error {
	ctx := context.Background()
	tx, err := w.db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins, err := newInserter(ctx, tx, &w.stmts)
	if err != nil {
		return err
	}
	defer ins.close()
	for _, r := range group {
		st := w.logs[r.ws]
		if st == nil {
			st = &logState{}
			w.logs[r.ws] = st
		}
		if len(r.recs) > 0 && r.recs[0].Sequence != st.size {
			return fmt.Errorf("sqlite: the projection of %s has %d events; the batch starts at %d", r.wsName, st.size, r.recs[0].Sequence)
		}
		for i := range r.recs {
			if err := w.projectEvent(ctx, ins, r.ws, st, &r.recs[i], &r.events[i], r.blind); err != nil {
				return err
			}
			if r.terms != nil {
				if err := ins.terms(ctx, r.ws, r.events[i].Sequence, r.terms[i]); err != nil {
					return err
				}
			}
		}
	}
	if w.db.cfg.Index != nil {
		// The index is complete up to here: a later Open indexes only
		// what a process without an index may have written after.
		for _, r := range group {
			if err := ins.indexedThrough(ctx, r.ws, w.logs[r.ws].size); err != nil {
				return err
			}
		}
	}
	if err := ins.flush(ctx); err != nil {
		return err
	}
	return tx.Commit()
}

// projectEvent writes an event's row, its targets and the stored hashes
// its record carries, and moves the writer's memory of the tree with it.
func (w *writer) projectEvent(ctx context.Context, ins *inserter, ws int64, st *logState, rec *vigil.LogRecord, e *vigil.Event, b *vigil.Blinder) error {
	if e.Sequence != rec.Sequence || e.Sequence != st.size {
		return fmt.Errorf("sqlite: record %d holds the event of sequence %d", rec.Sequence, e.Sequence)
	}
	if err := ins.event(ctx, ws, e, rec.Sealed, b); err != nil {
		return err
	}
	base := tlog.StoredHashIndex(0, e.Sequence)
	for level, h := range rec.Hashes {
		if err := ins.hash(ctx, ws, base+int64(level), tlog.Hash(h)); err != nil {
			return err
		}
		st.edge[level] = tlog.Hash(h)
		st.edgeIndex[level] = e.Sequence >> level
	}
	if len(rec.Hashes) > 0 {
		st.lastLeaf = tlog.Hash(rec.Hashes[0])
	}
	st.lastCreated = e.CreatedAt
	st.size++
	return nil
}

// Name implements engine.Projection.
func (db *DB) Name() string { return "sqlite" }

// Cursors implements engine.Projection: a workspace's projection is
// complete up to its size, written in the transaction of each batch.
func (db *DB) Cursors(ctx context.Context) (map[string]int64, error) {
	rows, err := db.write.QueryContext(ctx, "SELECT w.name, (SELECT max(seq) FROM events e WHERE e.ws = w.id) FROM workspaces w")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var maxSeq sql.NullInt64
		if err := rows.Scan(&name, &maxSeq); err != nil {
			return nil, err
		}
		if maxSeq.Valid {
			out[name] = maxSeq.Int64 + 1
		}
	}
	return out, rows.Err()
}

// Apply implements engine.Projection: it writes the records' events, their
// targets, search terms and stored hashes in one transaction.
func (db *DB) Apply(ctx context.Context, workspace string, recs []vigil.LogRecord) error {
	if len(recs) == 0 {
		return nil
	}
	ws, err := db.workspaceID(ctx, workspace)
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		// A log restored or moved without its state: the workspace is
		// created once, not looked up with a write on every batch.
		if _, err = db.EnsureWorkspace(ctx, workspace); err == nil {
			ws, err = db.workspaceID(ctx, workspace)
		}
	}
	if err != nil {
		return err
	}
	req := &applyReq{ctx: ctx, ws: ws, wsName: workspace, recs: recs, events: make([]vigil.Event, len(recs)), done: make(chan error, 1)}
	for i := range recs {
		rec := &recs[i]
		// Decrypted here, so the blind indexes and search tokens are
		// derived from the values, in the caller's goroutine.
		e, err := crypt.OpenRecord(ctx, db.Keyring(), rec)
		if err != nil {
			return fmt.Errorf("sqlite: record %d of %s: %w", rec.Sequence, workspace, err)
		}
		if e.Workspace != workspace {
			return fmt.Errorf("sqlite: record %d of %s holds an event of %q", rec.Sequence, workspace, e.Workspace)
		}
		if (e.Seal == nil) != (rec.Sealed == nil) {
			return fmt.Errorf("sqlite: record %d of %s: a sealed payload goes with a version 2 leaf only", rec.Sequence, workspace)
		}
		if e.Seal != nil && req.blind == nil {
			if req.blind, err = db.keys.Blinder(ctx, workspace); err != nil {
				return err
			}
		}
		req.events[i] = e
	}
	if db.cfg.Index != nil {
		// Derived in the caller's goroutine, so the writer only writes.
		req.terms = make([]string, len(recs))
		for i, e := range req.events {
			req.terms[i] = termTokens(indexTerms(db.cfg.Index, e), sealedBlinder(&e, req.blind))
		}
	}
	if err := db.writer.enqueue(req); err != nil {
		return err
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// IdempotentEvent implements engine.Keys: the stored event of a tenant (or
// of no tenant) that holds an idempotency key.
func (db *DB) IdempotentEvent(ctx context.Context, workspace, tenant, key string) (vigil.Event, bool, bool, error) {
	ws, err := db.workspaceID(ctx, workspace)
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		return vigil.Event{}, false, false, nil
	}
	if err != nil {
		return vigil.Event{}, false, false, err
	}
	// The scope of a key is (workspace, tenant); ifnull matches the
	// expression of the unique index events_idempotency.
	b, err := db.readBlinder(ctx, workspace)
	if err != nil {
		return vigil.Event{}, false, false, err
	}
	keys := []any{key, key}
	if b != nil {
		keys[1] = b.Index("idempotency_key", key) // a sealed event's
	}
	row := db.read.QueryRowContext(ctx, "SELECT "+eventColumns+" FROM events e WHERE e.ws = ? AND ifnull(e.tenant_id, '') = ? AND e.idempotency_key IN (?, ?)", ws, tenant, keys[0], keys[1])
	e, originKnown, err := db.scanEventOrigin(row, workspace)
	if errors.Is(err, sql.ErrNoRows) {
		return vigil.Event{}, false, false, nil
	}
	if err != nil {
		return vigil.Event{}, false, false, err
	}
	return e, originKnown, true, nil
}

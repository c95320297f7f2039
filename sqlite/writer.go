package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// writer is the one goroutine that writes events. Requests queue on a
// bounded channel; the writer takes every request waiting, writes them in
// one transaction (group commit), and answers each only after the commit
// has been fsync'd. Throughput grows with concurrency while every request
// still waits for its own durable commit.
type writer struct {
	db    *DB
	queue chan *appendReq
	signs chan *signReq // checkpoints readers need now (demand.go)
	stop  chan struct{}
	done  chan struct{}

	mu     sync.RWMutex // guards closed against concurrent enqueues
	closed bool

	lastErr   atomic.Pointer[commitFailure]
	logs      map[int64]*logState // by workspace id; only the writer goroutine touches it
	witnessed map[string]string   // what the writer last wrote to (or found in) the witness, by workspace (witness.go)
	leafBuf   []byte
	batchHook func(events int) // observes commit batch sizes (metrics)
}

type commitFailure struct {
	at  time.Time
	err error
}

type appendReq struct {
	ctx     context.Context
	ws      int64
	wsName  string
	events  []vigil.Event
	terms   []string     // search tokens of each event, from Config.Index
	digests []vigil.Hash // content digest of each event with an idempotency key
	results []vigil.AppendResult
	refused error // set by the writer: a reused key refused the request, nothing of it was written
	done    chan error
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
		db:    db,
		queue: make(chan *appendReq, db.cfg.QueueSize),
		signs: make(chan *signReq, 64),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		logs:  map[int64]*logState{},
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
	if err := w.openWitness(ctx); err != nil {
		return nil, err
	}
	go w.run()
	return w, nil
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

// enqueue hands a request to the writer, or refuses at once when the queue
// is full: memory stays bounded and the client is told to retry.
func (w *writer) enqueue(r *appendReq) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return vigil.Errorf(vigil.EUNAVAILABLE, "the store is shutting down")
	}
	select {
	case w.queue <- r:
		return nil
	default:
		return vigil.Errorf(vigil.EUNAVAILABLE, "the ingest queue is full")
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
func (w *writer) commitGroup(first *appendReq) {
	group := []*appendReq{first}
	n := len(first.events)
gather:
	for n < w.db.cfg.MaxBatchEvents {
		select {
		case r := <-w.queue:
			group = append(group, r)
			n += len(r.events)
		default:
			break gather
		}
	}
	live := group[:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.done <- err // the caller gave up before the write began: nothing stored
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
		if err == nil && r.refused != nil {
			r.done <- r.refused
			continue
		}
		r.done <- err
	}
	if err == nil && w.db.cfg.CheckpointInterval == 0 {
		w.checkpointDue(false)
	}
}

func (w *writer) writeGroup(group []*appendReq) error {
	ctx := context.Background()
	tx, err := w.db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins, err := newInserter(ctx, tx)
	if err != nil {
		return err
	}
	defer ins.close()
	seen := map[idemKey]idemEntry{}
	written := 0
	for _, r := range group {
		st := w.logs[r.ws]
		if st == nil {
			st = &logState{}
			w.logs[r.ws] = st
		}
		r.results = make([]vigil.AppendResult, len(r.events))
		repeats, err := resolveKeys(ctx, ins, r, seen)
		if err != nil {
			return err
		}
		if r.refused != nil {
			continue // nothing of it is written
		}
		for i := range r.events {
			e := &r.events[i]
			if r.results[i].Duplicate {
				continue
			}
			if j := repeats[i]; j >= 0 {
				r.results[i] = vigil.AppendResult{ID: r.results[j].ID, Sequence: r.results[j].Sequence, Duplicate: true}
				continue
			}
			written++
			if err := w.appendEvent(ctx, ins, r.ws, r.wsName, st, e); err != nil {
				return err
			}
			if r.terms != nil {
				if err := ins.terms(ctx, r.ws, e.Sequence, r.terms[i]); err != nil {
					return err
				}
			}
			r.results[i] = vigil.AppendResult{ID: e.ID, Sequence: e.Sequence}
			if e.IdempotencyKey != "" {
				seen[keyOf(r.ws, e)] = idemEntry{r.results[i], r.digests[i]}
			}
		}
	}
	if written == 0 {
		// Only duplicates and refusals: there is nothing to commit, and
		// a refused request leaves the files as they were.
		return nil
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

// appendEvent assigns the event its place in the log and writes its row,
// its targets and its Merkle hashes.
func (w *writer) appendEvent(ctx context.Context, ins *inserter, ws int64, wsName string, st *logState, e *vigil.Event) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	e.ID = id.String()
	e.Workspace = wsName
	e.Sequence = st.size
	e.CreatedAt = vigil.Time(w.db.cfg.Now())
	if !e.CreatedAt.After(st.lastCreated) {
		e.CreatedAt = st.lastCreated.Add(time.Nanosecond)
	}
	if e.OccurredAt.IsZero() {
		e.OccurredAt = e.CreatedAt
	}
	if err := ins.event(ctx, ws, e); err != nil {
		return err
	}
	if w.db.cfg.SkipLedger {
		st.lastCreated = e.CreatedAt
		st.size++
		return nil
	}
	w.leafBuf = ledger.AppendEvent(w.leafBuf[:0], e)
	leaf := ledger.TlogHash(ledger.LeafHash(w.leafBuf))
	hashes, err := tlog.StoredHashesForRecordHash(e.Sequence, leaf, edgeReader{w, ins, ws, st})
	if err != nil {
		return err
	}
	base := tlog.StoredHashIndex(0, e.Sequence)
	for level, h := range hashes {
		if err := ins.hash(ctx, ws, base+int64(level), h); err != nil {
			return err
		}
		st.edge[level] = h
		st.edgeIndex[level] = e.Sequence >> level
	}
	st.lastLeaf = leaf
	st.lastCreated = e.CreatedAt
	st.size++
	return nil
}

// edgeReader serves tlog the right edge of the tree from memory, falling
// back to the transaction for anything else.
type edgeReader struct {
	w   *writer
	ins *inserter
	ws  int64
	st  *logState
}

func (r edgeReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		level, k := tlog.SplitStoredHashIndex(idx)
		if r.st.size > 0 && r.st.edgeIndex[level] == k && r.st.size>>level > k {
			out[i] = r.st.edge[level]
			continue
		}
		h, err := r.ins.readHash(context.Background(), r.ws, idx)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

// Append implements vigil.EventStore.
func (db *DB) Append(ctx context.Context, workspace string, events []vigil.Event) ([]vigil.AppendResult, error) {
	if len(events) == 0 {
		return nil, vigil.Invalid(vigil.ErrorDetail{Field: "events", Message: "at least one event is required"})
	}
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return nil, err
	}
	prepared := make([]vigil.Event, len(events))
	var details []vigil.ErrorDetail
	for i := range events {
		p, err := prepareEvent(events[i], db.cfg.Enrich)
		if err != nil {
			for _, d := range vigil.ErrorDetails(err) {
				if len(events) > 1 {
					idx := i
					d.Index = &idx
				}
				details = append(details, d)
			}
			continue
		}
		prepared[i] = p
	}
	if len(details) > 0 {
		return nil, vigil.Invalid(details...)
	}
	req := &appendReq{ctx: ctx, ws: ws, wsName: workspace, events: prepared, digests: contentDigests(prepared), done: make(chan error, 1)}
	if db.cfg.Index != nil {
		// Derived in the caller's goroutine, like preparation, so the
		// writer only writes.
		req.terms = make([]string, len(prepared))
		for i, e := range prepared {
			req.terms[i] = termTokens(indexTerms(db.cfg.Index, e))
		}
	}
	if err := db.writer.enqueue(req); err != nil {
		return nil, err
	}
	select {
	case err := <-req.done:
		if err != nil {
			return nil, err
		}
	case <-ctx.Done():
		// The writer may still commit; the caller retries with the same
		// idempotency key and learns the event was stored.
		return nil, ctx.Err()
	}
	return req.results, nil
}

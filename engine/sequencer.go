package engine

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/crypt"
	"github.com/vigilhq/vigil/ledger"
)

// sequence is the one goroutine that writes the log. Requests queue on a
// bounded channel; it takes every request waiting, sequences and hashes
// their events, appends them in one call (one fsync: group commit), and
// answers each only after that append returned. Throughput grows with
// concurrency while every request still waits for its own durable append.
func (e *Engine) sequence() {
	defer close(e.done)
	defer e.stopRunners()
	for {
		select {
		case r := <-e.queue:
			e.commitGroup(r)
		case <-e.stop:
			// Enqueues have stopped; commit what is waiting.
			for {
				select {
				case r := <-e.queue:
					e.commitGroup(r)
					continue
				default:
				}
				return
			}
		}
	}
}

// commitGroup gathers every request waiting behind first, up to the batch
// limit, and commits them together.
func (e *Engine) commitGroup(first *request) {
	group := []*request{first}
	n := len(first.events)
gather:
	for n < e.cfg.MaxBatchEvents {
		select {
		case r := <-e.queue:
			group = append(group, r)
			n += len(r.events)
		default:
			break gather
		}
	}
	live := group[:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.done <- err // the caller gave up before the append began: nothing stored
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	written, err := e.appendGroup(live)
	if err != nil {
		e.lastErr.Store(&failure{at: time.Now(), err: err})
		e.log.Error("append to the log failed", "err", err, "requests", len(live))
		err = vigil.Unavailable("storage failed; nothing was stored", err)
	} else {
		e.lastErr.Store(nil)
		if e.cfg.OnGroup != nil && written > 0 {
			e.cfg.OnGroup(written)
		}
	}
	for _, r := range live {
		if err == nil && r.refused != nil {
			r.done <- r.refused
			continue
		}
		r.done <- err
	}
}

// appendGroup sequences and hashes the group's new events and appends
// them. On failure the sequencer's memory is put back as it was, so the
// next group continues the log as stored.
func (e *Engine) appendGroup(group []*request) (int, error) {
	e.forgetApplied()
	saved := map[string]wsLog{}
	var records []vigil.LogRecord
	seen := map[idemKey]idemEntry{}
	var added []idemKey
	undo := func() {
		for ws, l := range saved {
			*e.logs[ws] = l
		}
		for _, r := range group {
			r.refused = nil
		}
	}
	for _, r := range group {
		l := e.logs[r.ws]
		if l == nil {
			l = &wsLog{}
			e.logs[r.ws] = l
		}
		if _, ok := saved[r.ws]; !ok {
			saved[r.ws] = *l
		}
		r.results = make([]vigil.AppendResult, len(r.events))
		repeats, err := e.resolveKeys(r, seen)
		if err != nil {
			undo()
			return 0, err
		}
		if r.refused != nil {
			continue // nothing of it is appended
		}
		for i := range r.events {
			ev := &r.events[i]
			if r.results[i].Duplicate {
				continue
			}
			if j := repeats[i]; j >= 0 {
				r.results[i] = vigil.AppendResult{ID: r.results[j].ID, Sequence: r.results[j].Sequence, Duplicate: true}
				continue
			}
			var sealing *crypt.Sealing
			if r.seals != nil {
				sealing = r.seals[i]
			}
			rec, err := e.place(r.ws, l, ev, sealing)
			if err != nil {
				undo()
				return 0, err
			}
			records = append(records, rec)
			r.results[i] = vigil.AppendResult{ID: ev.ID, Sequence: ev.Sequence}
			if ev.IdempotencyKey != "" {
				k := keyOf(r.ws, ev)
				seen[k] = idemEntry{r.results[i], r.digests[i]}
				added = append(added, k)
			}
		}
	}
	if len(records) == 0 {
		// Only duplicates and refusals: there is nothing to append.
		return 0, nil
	}
	if err := e.cfg.Log.Append(context.Background(), records); err != nil {
		undo()
		return 0, err
	}
	for _, k := range added {
		e.unapplied.add(k, seen[k])
	}
	e.mu.Lock()
	for ws := range saved {
		e.heads[ws] = e.logs[ws].size
	}
	e.advanced()
	e.mu.Unlock()
	for _, r := range e.runners {
		r.poke()
	}
	return len(records), nil
}

// place gives an event its id, sequence and time, and makes its record:
// the canonical leaf and the tree hashes it completes.
func (e *Engine) place(ws string, l *wsLog, ev *vigil.Event, sealing *crypt.Sealing) (vigil.LogRecord, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return vigil.LogRecord{}, err
	}
	ev.ID = id.String()
	ev.Workspace = ws
	ev.Sequence = l.size
	ev.CreatedAt = vigil.Time(e.cfg.Now())
	if !ev.CreatedAt.After(l.lastCreated) {
		ev.CreatedAt = l.lastCreated.Add(time.Nanosecond)
	}
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = ev.CreatedAt
	}
	var leaf, sealed []byte
	if e.cfg.Keyring != nil {
		if leaf, sealed, err = crypt.SealEvent(context.Background(), e.cfg.Keyring, ev, sealing); err != nil {
			return vigil.LogRecord{}, err
		}
	} else {
		leaf = ledger.AppendEvent(nil, ev)
	}
	hashes, err := l.append(leaf)
	if err != nil {
		return vigil.LogRecord{}, err
	}
	l.lastCreated = ev.CreatedAt
	return vigil.LogRecord{Workspace: ws, Sequence: ev.Sequence, Leaf: leaf, Hashes: hashes, IPFromConnection: ev.IPFromConnection, Sealed: sealed}, nil
}

// forgetApplied drops the remembered keys the key projection has applied.
func (e *Engine) forgetApplied() {
	e.mu.Lock()
	cursors := make(map[string]int64, len(e.keys.cursors))
	for ws, c := range e.keys.cursors {
		cursors[ws] = c
	}
	e.mu.Unlock()
	for ws, c := range cursors {
		e.unapplied.forget(ws, c)
	}
}

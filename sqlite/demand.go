package sqlite

import (
	"context"
	"sync"
	"time"

	"github.com/vigilhq/vigil"
)

// DefaultDemandInterval is the least time between two checkpoints of a
// workspace signed because readers needed one.
const DefaultDemandInterval = 100 * time.Millisecond

// covering returns a checkpoint that covers every event acknowledged
// before the call. The writer signs at its cadence, after the answers
// went out, so the latest signed checkpoint may lag behind an
// acknowledgement (or not exist yet); then one is signed on demand.
// Without a signing key (a command run beside the server) the latest
// stored one is all there is.
func (db *DB) covering(ctx context.Context, ws int64, workspace string) (vigil.Checkpoint, error) {
	// An acknowledged event is committed, so a read begun now sees it.
	n, err := db.treeSize(ctx, ws)
	if err != nil {
		return vigil.Checkpoint{}, vigil.Unavailable("reading the ledger failed", err)
	}
	for attempt := 0; ; attempt++ {
		cp, err := db.latestCheckpoint(ctx, ws, workspace)
		switch code := vigil.ErrorCode(err); {
		case err == nil && cp.Size >= n:
			return cp, nil
		case err != nil && code != vigil.ENOTFOUND:
			return cp, err
		case db.cfg.SigningKey == "":
			if err != nil {
				return cp, vigil.Errorf(vigil.ENOTFOUND, "no checkpoint yet")
			}
			return cp, nil
		case n == 0:
			return cp, vigil.Errorf(vigil.ENOTFOUND, "no checkpoint yet: the log is empty")
		case attempt == 3:
			// The writer signed everything it committed, three times over: the
			// database holds rows it never wrote (verification says so).
			if err != nil {
				return cp, vigil.Errorf(vigil.ENOTFOUND, "no checkpoint yet")
			}
			return cp, nil
		}
		if err := db.demand.wait(ctx, ws, db.writer); err != nil {
			return vigil.Checkpoint{}, err
		}
		// The signature covers what was committed when the writer made it;
		// a reader that arrived after it was made waits for the next one.
	}
}

// demand coalesces readers' requests for a checkpoint: per workspace one
// signature at a time, at most one per interval, shared by every reader
// waiting for it. The signing rate stays bounded however many read.
type demand struct {
	interval time.Duration
	mu       sync.Mutex
	flights  map[int64]*flight
	last     map[int64]time.Time
}

type flight struct {
	done chan struct{}
	err  error
}

func newDemand(interval time.Duration) *demand {
	if interval <= 0 {
		interval = DefaultDemandInterval
	}
	return &demand{interval: interval, flights: map[int64]*flight{}, last: map[int64]time.Time{}}
}

// wait joins the signature under way for ws, or starts one (after the
// interval since the last), and waits for it to be made.
func (d *demand) wait(ctx context.Context, ws int64, w *writer) error {
	d.mu.Lock()
	f := d.flights[ws]
	if f == nil {
		f = &flight{done: make(chan struct{})}
		d.flights[ws] = f
		delay := time.Until(d.last[ws].Add(d.interval))
		go func() {
			if delay > 0 {
				t := time.NewTimer(delay)
				select {
				case <-t.C:
				case <-w.done:
					t.Stop()
				}
			}
			err := w.sign(ws)
			d.mu.Lock()
			d.last[ws] = time.Now()
			delete(d.flights, ws)
			d.mu.Unlock()
			f.err = err
			close(f.done)
		}()
	}
	d.mu.Unlock()
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// signReq asks the writer for a checkpoint of a workspace's log as it
// stands.
type signReq struct {
	ws   int64
	done chan error
}

// sign has the writer sign a checkpoint of ws now, if its log grew since
// the last one, and waits for it.
func (w *writer) sign(ws int64) error {
	req := &signReq{ws: ws, done: make(chan error, 1)}
	w.mu.RLock()
	closed := w.closed
	w.mu.RUnlock()
	if closed {
		return vigil.Errorf(vigil.EUNAVAILABLE, "the store is shutting down")
	}
	select {
	case w.signs <- req:
	case <-w.done:
		return vigil.Errorf(vigil.EUNAVAILABLE, "the store is shutting down")
	}
	select {
	case err := <-req.done:
		return err
	case <-w.done:
		return vigil.Errorf(vigil.EUNAVAILABLE, "the store is shutting down")
	}
}

// signNow runs on the writer goroutine.
func (w *writer) signNow(r *signReq) {
	if w.paused {
		r.done <- vigil.Errorf(vigil.EUNAVAILABLE, "the store is still bringing its projection up to the log")
		return
	}
	st := w.logs[r.ws]
	if st == nil || (st.size == st.checkpointSize && !st.checkpointAt.IsZero()) {
		r.done <- nil
		return
	}
	if err := w.issueCheckpoint(r.ws, st, time.Now()); err != nil {
		w.db.log.Error("signing checkpoint failed", "workspace_id", r.ws, "err", err)
		r.done <- vigil.Unavailable("signing a checkpoint failed", err)
		return
	}
	r.done <- nil
}

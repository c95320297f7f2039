package engine

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/vigilhq/vigil"
)

// runner feeds one projection from the log: it sleeps until the sequencer
// pokes it (nothing wakes while nothing is appended), then applies every
// workspace's unapplied records in batches of up to ProjectionBatch.
type runner struct {
	e *Engine
	p Projection
	// cursors is the next record the projection needs, by workspace;
	// guarded by e.mu.
	cursors map[string]int64
	wake    chan struct{}
	quit    chan struct{}
	lastErr atomic.Pointer[failure]
}

func (e *Engine) newRunner(ctx context.Context, p Projection) (*runner, error) {
	cursors, err := p.Cursors(ctx)
	if err != nil {
		return nil, fmt.Errorf("engine: the cursors of the %s projection: %w", p.Name(), err)
	}
	for ws, c := range cursors {
		if c > e.heads[ws] {
			// The projection holds records the log does not: the log was
			// replaced by an older copy, or belongs to another data set.
			return nil, fmt.Errorf("engine: the %s projection has %d records of %s but the log only %d: the log is not the one it was built from", p.Name(), c, ws, e.heads[ws])
		}
	}
	return &runner{e: e, p: p, cursors: cursors, wake: make(chan struct{}, 1), quit: make(chan struct{})}, nil
}

// poke tells the runner there may be records to apply; pokes coalesce.
func (r *runner) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (e *Engine) stopRunners() {
	for _, r := range e.runners {
		close(r.quit)
	}
}

func (r *runner) run() {
	defer r.e.wg.Done()
	backoff := 50 * time.Millisecond
	for {
		select {
		case <-r.wake:
		case <-r.quit:
			// The sequencer has stopped: catch up with the final log.
			r.catchUp()
			return
		}
		if err := r.catchUp(); err != nil {
			r.lastErr.Store(&failure{at: time.Now(), err: err})
			r.e.log.Error("projection failed; retrying", "projection", r.p.Name(), "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-r.quit:
				r.catchUp()
				return
			}
			backoff = min(2*backoff, 5*time.Second)
			r.poke()
			continue
		}
		r.lastErr.Store(nil)
		backoff = 50 * time.Millisecond
	}
}

// catchUp applies records until the projection has every record the log
// had when it looked.
func (r *runner) catchUp() error {
	ctx := context.Background()
	for {
		var todo []string
		r.e.mu.Lock()
		for ws, head := range r.e.heads {
			if r.cursors[ws] < head {
				todo = append(todo, ws)
			}
		}
		r.e.mu.Unlock()
		if len(todo) == 0 {
			return nil
		}
		for _, ws := range todo {
			if err := r.applyBatch(ctx, ws); err != nil {
				return err
			}
		}
	}
}

func (r *runner) applyBatch(ctx context.Context, ws string) error {
	r.e.mu.Lock()
	from, head := r.cursors[ws], r.e.heads[ws]
	r.e.mu.Unlock()
	n := min(int64(r.e.cfg.ProjectionBatch), head-from)
	recs, err := r.e.cfg.Log.Read(ctx, ws, from, int(n))
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return fmt.Errorf("engine: %s's log has no record %d below its head %d", ws, from, head)
	}
	if err := r.p.Apply(ctx, ws, recs); err != nil {
		return fmt.Errorf("%s: %w", r.p.Name(), err)
	}
	r.e.mu.Lock()
	r.cursors[ws] = from + int64(len(recs))
	r.e.advanced()
	r.e.mu.Unlock()
	return nil
}

// Await returns once every projection has applied every record of the
// workspace acknowledged before the call: a read after it sees its own
// writes and every write acknowledged before it began. Past ReadWait it
// answers EUNAVAILABLE naming the lag.
func (e *Engine) Await(ctx context.Context, workspace string) error {
	e.mu.Lock()
	head := e.heads[workspace]
	e.mu.Unlock()
	var timeout <-chan time.Time
	for {
		e.mu.Lock()
		behind := int64(0)
		for _, r := range e.runners {
			behind = max(behind, head-r.cursors[workspace])
		}
		wait := e.progress
		e.mu.Unlock()
		if behind <= 0 {
			return nil
		}
		if timeout == nil {
			t := time.NewTimer(e.cfg.ReadWait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-wait:
		case <-timeout:
			return vigil.Errorf(vigil.EUNAVAILABLE, "the query indexes are %d events behind the log after waiting %s; retry shortly", behind, e.cfg.ReadWait)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Cursors returns a copy of the named projection's cursors (metrics and
// tests), or nil when there is no such projection.
func (e *Engine) Cursors(name string) map[string]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range e.runners {
		if r.p.Name() == name {
			out := make(map[string]int64, len(r.cursors))
			for ws, c := range r.cursors {
				out[ws] = c
			}
			return out
		}
	}
	return nil
}

package sqlite

import (
	"context"
	"time"

	"github.com/vigilhq/vigil"
)

// OnCommit registers a function told the number of events of every batch
// the projection commits (the alert evaluator's wake-up). Call it before
// the first Apply.
func (db *DB) OnCommit(f func(events int)) { db.writer.batchHook = f }

// SetReadBarrier sets what every read of the log's events waits for
// first: the engine's Await, which returns once the projection has every
// event acknowledged before the read began. Call it before serving.
func (db *DB) SetReadBarrier(f func(ctx context.Context, workspace string) error) {
	db.barrier.Store(&f)
}

func (db *DB) await(ctx context.Context, workspace string) error {
	if f := db.barrier.Load(); f != nil {
		return (*f)(ctx, workspace)
	}
	return nil
}

// RunVerifier re-verifies every workspace's log continuously, re-hashing
// at most rate events per second, pausing between passes, until ctx ends.
// Each new finding is stored (so /verify reports it even if the evidence
// is later restored) and handed to onTamper.
func (db *DB) RunVerifier(ctx context.Context, rate int, pause time.Duration, onTamper func(workspace string, breaks []vigil.Break)) {
	for {
		if err := db.VerifyPass(ctx, rate, onTamper); err != nil && ctx.Err() == nil {
			db.log.Error("background verification failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
	}
}

// VerifyPass verifies every workspace once at the given rate (events per
// second; 0 means unthrottled) and records new findings.
func (db *DB) VerifyPass(ctx context.Context, rate int, onTamper func(workspace string, breaks []vigil.Break)) error {
	names, err := db.Workspaces(ctx)
	if err != nil {
		return err
	}
	for _, name := range names {
		ws, err := db.workspaceID(ctx, name)
		if err != nil {
			return err
		}
		rep, err := db.verify(ctx, ws, name, vigil.VerifyOptions{}, throttle(ctx, rate))
		if err != nil {
			return err
		}
		fresh, err := db.recordFindings(ctx, ws, name, "the background verifier", rep.Breaks)
		if err != nil {
			return err
		}
		findings, err := db.findings(ctx, ws)
		if err != nil {
			return err
		}
		rep.Breaks = findings // every finding so far, this pass's among them
		rep.Valid = len(findings) == 0
		if err := db.recordVerification(ctx, ws, rep); err != nil {
			return err
		}
		if len(fresh) > 0 && onTamper != nil {
			onTamper(name, fresh)
		}
	}
	return nil
}

// throttle returns a function that, called once per event, sleeps enough
// to keep to rate events per second.
func throttle(ctx context.Context, rate int) func() {
	if rate <= 0 {
		return nil
	}
	const chunk = 1000
	start, n := time.Now(), 0
	return func() {
		n++
		if n%chunk != 0 {
			return
		}
		due := start.Add(time.Duration(float64(n) / float64(rate) * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(d):
			}
		}
	}
}

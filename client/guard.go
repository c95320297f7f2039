package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"time"
)

// Metadata keys Guard adds to its two events.
const (
	GuardPhaseKey   = "vigil.guard"         // "attempt" or "result"
	GuardAttemptKey = "vigil.guard_attempt" // on the result: the attempt's idempotency key
)

// OutcomeError is an error a guarded function (or a handler under
// fail-closed Middleware) returns to choose the outcome Guard records for
// it; any other error records Failure.
type OutcomeError struct {
	Outcome Outcome
	Err     error
}

func (e *OutcomeError) Error() string { return e.Err.Error() }
func (e *OutcomeError) Unwrap() error { return e.Err }

// Guard is "no audit record, no access": it records the access e durably
// (the server's acknowledgement, or with a spool the spool's fsync)
// before it runs fn, the function that touches PHI. If the access cannot
// be recorded, fn does not run and Guard returns a *GuardError saying
// why. After fn it records the result. It returns fn's error.
//
// Guard writes exactly two events, sharing e's fields:
//
//  1. before fn, the attempt: e with metadata "vigil.guard": "attempt",
//     e's outcome (default success: the access was allowed to start),
//     and e's idempotency key K (a new one if e has none);
//  2. after fn, the result: e with metadata "vigil.guard": "result" and
//     "vigil.guard_attempt": K, idempotency key K+":result" (derived
//     from K, so the two are tied), occurred_at when fn returned, and
//     outcome success if fn returned nil, the outcome of an
//     *OutcomeError, failure for any other error, serious_failure if fn
//     panicked (the panic then goes on). The error's text is not
//     recorded: it may hold PHI.
//
// A key names one access. To retry a Guard that returned a *GuardError
// (its attempt may have been stored and the answer lost), call it again
// with the same IdempotencyKey and OccurredAt: the attempt is then the
// same event, which the server answers as a duplicate. The same key with
// other content (another OccurredAt, say) is refused for good with a 409
// conflict inside the *GuardError, and fn does not run.
//
// The result is recorded even if ctx was cancelled while fn ran (the
// access happened), within the retry policy's bounds. If only the result
// cannot be recorded, Guard returns that error joined with fn's.
func (c *Client) Guard(ctx context.Context, e Event, fn func() error) error {
	return c.guard(ctx, e, 0, func() (map[string]any, error) { return nil, fn() })
}

// guard is Guard with a function that may add metadata to the result,
// and a bound (if positive) on recording the result.
func (c *Client) guard(ctx context.Context, e Event, resultTimeout time.Duration, fn func() (map[string]any, error)) error {
	if e.IdempotencyKey == "" {
		e.IdempotencyKey = newKey()
	}
	attempt := e
	attempt.Metadata = withMeta(e.Metadata, map[string]any{GuardPhaseKey: "attempt"})
	if _, err := c.Track(ctx, attempt); err != nil {
		return &GuardError{err}
	}
	result := e
	result.IdempotencyKey = resultKey(e.IdempotencyKey)
	result.OccurredAt = time.Time{} // when fn returns
	record := func(o Outcome, extra map[string]any) error {
		result.Outcome = o
		result.Metadata = withMeta(e.Metadata, extra, map[string]any{GuardPhaseKey: "result", GuardAttemptKey: e.IdempotencyKey})
		rctx := context.WithoutCancel(ctx)
		if resultTimeout > 0 {
			var cancel context.CancelFunc
			rctx, cancel = context.WithTimeout(rctx, resultTimeout)
			defer cancel()
		}
		_, err := c.Track(rctx, result)
		return err
	}
	defer func() {
		if v := recover(); v != nil {
			if rerr := record(SeriousFailure, nil); rerr != nil {
				c.log.Error("vigil client: recording the result of a guarded function that panicked failed", "err", rerr)
			}
			panic(v)
		}
	}()
	extra, ferr := fn()
	o := Success
	if ferr != nil {
		o = Failure
		if oe, ok := errors.AsType[*OutcomeError](ferr); ok && oe.Outcome.valid() && oe.Outcome != "" {
			o = oe.Outcome
		}
	}
	if rerr := record(o, extra); rerr != nil {
		if ferr != nil {
			return errors.Join(ferr, fmt.Errorf("client: recording the result failed: %w", rerr))
		}
		return fmt.Errorf("client: the access ran but its result was not recorded: %w", rerr)
	}
	return ferr
}

// resultKey derives the result's idempotency key from the attempt's,
// hashing it when appending would pass the server's 255-byte limit.
func resultKey(k string) string {
	if len(k)+len(":result") <= 255 {
		return k + ":result"
	}
	sum := sha256.Sum256([]byte(k))
	return "guard-result:" + hex.EncodeToString(sum[:])
}

func withMeta(ms ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	return out
}

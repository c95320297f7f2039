package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
)

// GuardError is returned when Guard could not record the access, and so
// did not run the guarded function.
type GuardError struct{ Err error }

func (e *GuardError) Error() string {
	return "client: the access was not recorded, so it was not allowed: " + e.Err.Error()
}
func (e *GuardError) Unwrap() error { return e.Err }

// Guard is "no audit record, no access": it records e durably (the
// server's acknowledgement, or the spool's fsync when the client has a
// spool) before running fn; if it cannot, fn does not run and the error
// is a *GuardError. After fn it records the result.
//
// It writes two events: e itself with metadata "guard":"attempt" before
// fn, and e again with metadata "guard":"result", "guard_attempt" set to
// the first event's idempotency key, and outcome success, or failure when
// fn fails (or the outcome its error names through an Outcome() method);
// the error's text is not recorded: it may hold PHI. Guard returns
// fn's error; if only the result could not be recorded, that error is
// returned joined with fn's.
func (c *Client) Guard(ctx context.Context, e Event, fn func() error) error {
	attempt := e.withKey()
	attempt.Metadata = withMeta(e.Metadata, map[string]any{"guard": "attempt"})
	if _, err := c.Track(ctx, attempt); err != nil {
		return &GuardError{err}
	}
	ferr := fn()
	result := e
	result.IdempotencyKey = attempt.IdempotencyKey + ".result"
	result.Outcome = Success
	if ferr != nil {
		result.Outcome = Failure
		var o interface{ Outcome() Outcome }
		if errors.As(ferr, &o) {
			result.Outcome = o.Outcome()
		}
	}
	result.Metadata = withMeta(e.Metadata, map[string]any{"guard": "result", "guard_attempt": attempt.IdempotencyKey})
	if _, err := c.Track(ctx, result); err != nil {
		if ferr != nil {
			return fmt.Errorf("%w (and recording its result failed: %v)", ferr, err)
		}
		return fmt.Errorf("client: the access ran but its result was not recorded: %w", err)
	}
	return ferr
}

func withMeta(m map[string]any, add map[string]any) map[string]any {
	out := make(map[string]any, len(m)+len(add))
	maps.Copy(out, m)
	maps.Copy(out, add)
	return out
}

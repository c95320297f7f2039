package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vigilhq/vigil/api"
)

// BatchLimit is the most events one batch request carries: the server's
// default limit. TrackBatch and the spool's sender split at it.
const BatchLimit = 100

// Track records one event. Without a spool it returns once the server
// acknowledged the event, after retries that its idempotency key makes
// safe. With a spool it returns once the event is fsync'd in the spool;
// the background sender delivers it later.
//
// An event the client can tell is invalid is refused with an *Error of
// Status 0 and is not sent or spooled. An idempotency key the server holds
// for other content is refused with an *Error of Status 409 (Code
// "conflict"), at once and without retries; with a spool such an event is
// set aside in rejected.jsonl.
func (c *Client) Track(ctx context.Context, e Event) (Receipt, error) {
	rs, err := c.track(ctx, []Event{e})
	if err != nil {
		return Receipt{}, err
	}
	return rs[0], nil
}

// TrackBatch records events in requests of up to BatchLimit events, each
// of which the server stores all or nothing, and each retried as Track's
// request is. Receipts are in the order of events. If a request fails for
// good, TrackBatch stops and returns the receipts of the requests that
// succeeded, with an error naming the events not stored (an *Error's
// detail indexes count in events). Keys are assigned inside TrackBatch, so
// to call it again for the same events without duplicates, give them an
// IdempotencyKey first.
//
// With a spool, all events are spooled in one append and one fsync, or
// none are (ErrSpoolFull).
func (c *Client) TrackBatch(ctx context.Context, events []Event) ([]Receipt, error) {
	if len(events) == 0 {
		return nil, nil
	}
	return c.track(ctx, events)
}

func (c *Client) track(ctx context.Context, events []Event) ([]Receipt, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	now := time.Now()
	ins := make([]api.EventInput, len(events))
	for i, e := range events {
		in, err := e.prepare(now)
		if err != nil {
			if len(events) > 1 {
				return nil, fmt.Errorf("client: events[%d]: %w", i, err)
			}
			return nil, err
		}
		ins[i] = in
	}
	if c.spool != nil {
		if err := c.spool.append(ctx, ins); err != nil {
			return nil, err
		}
		out := make([]Receipt, len(ins))
		for i, in := range ins {
			out[i] = Receipt{Status: "spooled", IdempotencyKey: in.IdempotencyKey}
		}
		return out, nil
	}
	if len(ins) == 1 {
		var s api.Stored
		if err := c.post(ctx, "/api/v1/events", ins[0], &s); err != nil {
			return nil, err
		}
		return []Receipt{{ID: s.ID, Status: s.Status, IdempotencyKey: ins[0].IdempotencyKey}}, nil
	}
	out := make([]Receipt, 0, len(ins))
	for start := 0; start < len(ins); start += BatchLimit {
		chunk := ins[start:min(start+BatchLimit, len(ins))]
		var bs api.BatchStored
		if err := c.post(ctx, "/api/v1/events/batch", api.BatchInput{Events: chunk}, &bs); err != nil {
			return out, batchError(err, start, len(chunk), len(ins))
		}
		if len(bs.Events) != len(chunk) {
			return out, fmt.Errorf("client: the server answered %d results for %d events", len(bs.Events), len(chunk))
		}
		for i, s := range bs.Events {
			out = append(out, Receipt{ID: s.ID, Status: s.Status, IdempotencyKey: chunk[i].IdempotencyKey})
		}
	}
	return out, nil
}

func (c *Client) post(ctx context.Context, path string, v, out any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("client: encoding the request: %w", err)
	}
	return c.do(ctx, "POST", path, nil, body, out)
}

// batchError names the events of a failed chunk and rebases the server's
// detail indexes (which count within the chunk) onto the caller's slice.
func batchError(err error, start, n, total int) error {
	if e, ok := errors.AsType[*Error](err); ok && start > 0 {
		cp := *e
		cp.Details = make([]api.ErrorDetail, len(e.Details))
		for i, d := range e.Details {
			if d.Index != nil {
				idx := *d.Index + start
				d.Index = &idx
			}
			cp.Details[i] = d
		}
		err = &cp
	}
	return fmt.Errorf("client: events %d to %d of %d were not stored (earlier ones were): %w", start, start+n-1, total, err)
}

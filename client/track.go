package client

import (
	"context"
	"encoding/json"

	"github.com/vigilhq/vigil/api"
)

// BatchLimit is the most events the server takes in one batch request.
const BatchLimit = 100

// Track records one event. With a spool it returns once the event is
// fsync'd locally; otherwise once the server acknowledged it (after
// retries, which the idempotency key makes safe).
func (c *Client) Track(ctx context.Context, e Event) (Receipt, error) {
	e = e.withKey()
	in, err := e.wire()
	if err != nil {
		return Receipt{}, err
	}
	if c.spool != nil {
		if err := c.spool.append(ctx, in); err != nil {
			return Receipt{}, err
		}
		return Receipt{Status: "spooled", IdempotencyKey: e.IdempotencyKey}, nil
	}
	return c.send(ctx, in)
}

// send posts one event to the server, bypassing the spool.
func (c *Client) send(ctx context.Context, in api.EventInput) (Receipt, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return Receipt{}, err
	}
	var s api.Stored
	if err := c.do(ctx, "POST", "/api/v1/events", nil, body, &s); err != nil {
		return Receipt{}, err
	}
	return Receipt{ID: s.ID, Status: s.Status, IdempotencyKey: in.IdempotencyKey}, nil
}

// TrackBatch records events in requests of up to BatchLimit, each stored
// all or nothing by the server. With a spool every event is spooled.
// Receipts are in the order of events; on error, the receipts of the
// requests that succeeded are returned with it.
func (c *Client) TrackBatch(ctx context.Context, events []Event) ([]Receipt, error) {
	ins := make([]api.EventInput, len(events))
	for i, e := range events {
		in, err := e.withKey().wire()
		if err != nil {
			return nil, err
		}
		ins[i] = in
	}
	if c.spool != nil {
		if err := c.spool.append(ctx, ins...); err != nil {
			return nil, err
		}
		out := make([]Receipt, len(ins))
		for i, in := range ins {
			out[i] = Receipt{Status: "spooled", IdempotencyKey: in.IdempotencyKey}
		}
		return out, nil
	}
	var out []Receipt
	for start := 0; start < len(ins); start += BatchLimit {
		chunk := ins[start:min(start+BatchLimit, len(ins))]
		stored, err := c.sendBatch(ctx, chunk)
		if err != nil {
			return out, err
		}
		for i, s := range stored {
			out = append(out, Receipt{ID: s.ID, Status: s.Status, IdempotencyKey: chunk[i].IdempotencyKey})
		}
	}
	return out, nil
}

func (c *Client) sendBatch(ctx context.Context, ins []api.EventInput) ([]api.Stored, error) {
	body, err := json.Marshal(api.BatchInput{Events: ins})
	if err != nil {
		return nil, err
	}
	var bs api.BatchStored
	if err := c.do(ctx, "POST", "/api/v1/events/batch", nil, body, &bs); err != nil {
		return nil, err
	}
	return bs.Events, nil
}

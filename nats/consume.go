package nats

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Msg is one event as the stream delivers it.
type Msg struct {
	Workspace string
	// Key is the idempotency key it was published with, "" for none.
	Key  string
	Body []byte
	// Sequence is its place in the stream.
	Sequence uint64
	// Delivered counts its deliveries: 1 the first time, more after a
	// failed handler or an acknowledgement that did not arrive.
	Delivered uint64
}

// Consume delivers the stream's messages to handler in batches, in order,
// through the durable consumer, until ctx is done (it returns ctx's error)
// or handler fails. A batch is acknowledged only after handler returned
// nil for it, and Consume waits for the server to confirm; when handler
// fails, the batch is handed back (NAK) for immediate redelivery and
// Consume returns the error, for the caller to retry when it sees fit.
// Delivery is at least once: a crash between handler's success and the
// acknowledgement delivers the batch again, so handler must be idempotent
// (the store's idempotency keys make it so).
func (s *Stream) Consume(ctx context.Context, handler func(context.Context, []Msg) error) error {
	cons, err := s.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       s.consumer,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       s.opts.AckWait,
		MaxAckPending: 4 * s.opts.Batch,
		FilterSubject: s.subject,
	})
	if err != nil {
		return fmt.Errorf("nats: consumer %s: %w", s.consumer, err)
	}
	for {
		batch, err := s.next(ctx, cons)
		if ctx.Err() != nil {
			// Fetched while stopping: handed back at once (and flushed,
			// so a Close right after cannot drop the NAKs), or they would
			// wait out AckWait before another consumer gets them.
			nakAll(batch)
			s.nc.Flush()
			return ctx.Err()
		}
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			continue
		}
		msgs := make([]Msg, len(batch))
		for i, m := range batch {
			msgs[i] = message(m)
		}
		if err := handler(ctx, msgs); err != nil {
			nakAll(batch)
			s.nc.Flush()
			return fmt.Errorf("nats: handler: %w", err)
		}
		// The batch is committed: its acknowledgement goes out even if
		// Consume is being stopped meanwhile, or it would be delivered
		// again for nothing.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err = ackAll(actx, batch)
		cancel()
		if err != nil {
			return err
		}
	}
}

// next waits up to a few seconds for a first message, then takes what
// else is there without waiting: a batch is as large as the backlog, and
// a lone event is not held back to fill one.
func (s *Stream) next(ctx context.Context, cons jetstream.Consumer) ([]jetstream.Msg, error) {
	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	first, err := cons.Fetch(1, jetstream.FetchContext(wait))
	if err != nil {
		return nil, fmt.Errorf("nats: fetch: %w", err)
	}
	var out []jetstream.Msg
	for m := range first.Messages() {
		out = append(out, m)
	}
	if err := first.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) && !errors.Is(err, jetstream.ErrNoMessages) {
		return out, fmt.Errorf("nats: fetch: %w", err)
	}
	if len(out) == 0 || s.opts.Batch == 1 {
		return out, nil
	}
	rest, err := cons.FetchNoWait(s.opts.Batch - 1)
	if err != nil {
		return out, fmt.Errorf("nats: fetch: %w", err)
	}
	for m := range rest.Messages() {
		out = append(out, m)
	}
	if err := rest.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
		return out, fmt.Errorf("nats: fetch: %w", err)
	}
	return out, nil
}

func message(m jetstream.Msg) Msg {
	ws := m.Headers().Get(WorkspaceHeader)
	out := Msg{Workspace: ws, Body: m.Data()}
	out.Key = strings.TrimPrefix(m.Headers().Get(natsgo.MsgIdHdr), ws+"/")
	if md, err := m.Metadata(); err == nil {
		out.Sequence, out.Delivered = md.Sequence.Stream, md.NumDelivered
	}
	return out
}

// ackAll acknowledges a batch. The server handles one connection's
// messages in order, so its confirmation of the last acknowledgement
// confirms them all: one round trip per batch, not per message.
func ackAll(ctx context.Context, batch []jetstream.Msg) error {
	for _, m := range batch[:len(batch)-1] {
		if err := m.Ack(); err != nil {
			return fmt.Errorf("nats: ack: %w", err)
		}
	}
	if err := batch[len(batch)-1].DoubleAck(ctx); err != nil {
		return fmt.Errorf("nats: ack: %w", err)
	}
	return nil
}

func nakAll(batch []jetstream.Msg) {
	for _, m := range batch {
		m.Nak()
	}
}

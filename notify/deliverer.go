package notify

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/vigilhq/vigil"
)

// Deliverer sends what waits in a durable outbox through the configured
// channels, retrying failures with Policy's backoff. A crash between a
// send and its bookkeeping sends the alert again, with the same id (the
// webhook body's "id", the email's Message-ID), never as a new alert.
type Deliverer struct {
	outbox   vigil.Outbox
	channels map[string]Channel
	policy   Policy
	log      *slog.Logger
	now      func() time.Time
	wake     chan struct{}
}

// DelivererConfig configures a Deliverer.
type DelivererConfig struct {
	Outbox   vigil.Outbox
	Channels []Channel
	Policy   Policy // DefaultPolicy when zero
	Logger   *slog.Logger
	Now      func() time.Time
}

// NewDeliverer returns a deliverer; channel names must be unique.
func NewDeliverer(cfg DelivererConfig) (*Deliverer, error) {
	d := &Deliverer{outbox: cfg.Outbox, channels: map[string]Channel{}, policy: cfg.Policy, log: cfg.Logger, now: cfg.Now,
		wake: make(chan struct{}, 1)}
	for _, c := range cfg.Channels {
		if _, dup := d.channels[c.Name()]; dup {
			return nil, errors.New("notify: two channels are named " + c.Name())
		}
		d.channels[c.Name()] = c
	}
	if d.policy == (Policy{}) {
		d.policy = DefaultPolicy
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.now == nil {
		d.now = time.Now
	}
	return d, nil
}

// Wake asks Run to look at the outbox now; it never blocks.
func (d *Deliverer) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers what is due when woken and at least every poll, until ctx
// ends.
func (d *Deliverer) Run(ctx context.Context, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if _, err := d.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("alert delivery failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-t.C:
		}
	}
}

// DeliverDue sends every delivery due now, one at a time, and returns how
// many succeeded. Errors of channels are recorded in the outbox, not
// returned; an error of the outbox itself stops the round.
func (d *Deliverer) DeliverDue(ctx context.Context) (int, error) {
	sent := 0
	for {
		due, err := d.outbox.DueDeliveries(ctx, d.now(), 50)
		if err != nil || len(due) == 0 {
			return sent, err
		}
		for _, del := range due {
			ok, err := d.deliver(ctx, del)
			if err != nil {
				return sent, err
			}
			if ok {
				sent++
			}
		}
	}
}

func (d *Deliverer) deliver(ctx context.Context, del vigil.Delivery) (bool, error) {
	ch, ok := d.channels[del.Channel]
	var err error
	if !ok {
		// Configuration may come back (a restart with the channel); until
		// the attempts run out the alert waits for it.
		err = errors.New("no channel named " + del.Channel + " is configured")
	} else {
		err = ch.Send(ctx, del.Alert)
	}
	if err == nil {
		return true, d.outbox.Delivered(ctx, del.ID, d.now())
	}
	if ctx.Err() != nil {
		return false, ctx.Err() // shutting down: the attempt does not count
	}
	attempts := del.Attempts + 1
	wait, retry := d.policy.Retry(attempts, err)
	var next time.Time
	if retry {
		next = d.now().Add(wait)
	}
	attrs := []any{"alert_id", del.Alert.ID, "channel", del.Channel, "attempt", attempts, "err", err}
	if retry {
		d.log.Warn("alert delivery failed; will retry", append(attrs, "retry_in", wait.Round(time.Second))...)
	} else {
		d.log.Error("alert delivery given up", attrs...)
	}
	return false, d.outbox.DeliveryFailed(ctx, del.ID, attempts, next, err.Error())
}

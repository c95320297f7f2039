package stream

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilhq/vigil"
)

// Sender delivers events to one destination.
type Sender interface {
	// Name identifies the destination in metrics, logs and the cursor:
	// "syslog:<host:port>" or "https:<url>".
	Name() string
	// Send delivers events, in order: nil once the destination has them
	// all, an error otherwise (some may have arrived; they are sent again).
	Send(ctx context.Context, events []vigil.Event) error
	Close() error
}

// Config configures a Follower.
type Config struct {
	Log     vigil.EventLog
	Cursors vigil.CursorStore
	Sender  Sender
	// Batch is the most events sent at once (500).
	Batch int
	// Poll is the longest wait for new events when not woken (1 s).
	Poll time.Duration
	// BackoffMin and BackoffMax bound the wait after a failed send, which
	// doubles from the one to the other, with jitter (200 ms, 30 s).
	BackoffMin, BackoffMax time.Duration
	Logger                 *slog.Logger
}

// Follower streams each workspace's log to one destination from a durable
// cursor: the next sequence of the workspace it has yet to deliver. The
// cursor moves only after Send returned nil, so every event is delivered
// at least once, across crashes and outages.
type Follower struct {
	cfg      Config
	consumer string
	wake     chan struct{}
	lag      atomic.Int64
	sent     atomic.Int64
	failures atomic.Int64
	mu       sync.Mutex // one pass at a time
}

// maxBatchesPerPass bounds one workspace's share of a pass, so a long
// backlog in one delays no other.
const maxBatchesPerPass = 20

// New returns a Follower.
func New(cfg Config) *Follower {
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = 200 * time.Millisecond
	}
	if cfg.BackoffMax < cfg.BackoffMin {
		cfg.BackoffMax = max(30*time.Second, cfg.BackoffMin)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	f := &Follower{cfg: cfg, consumer: "stream:" + cfg.Sender.Name(), wake: make(chan struct{}, 1)}
	// Unknown until the first pass has compared the cursors with the log:
	// a follower that has not looked is not caught up.
	f.lag.Store(-1)
	return f
}

// Name is the destination's name.
func (f *Follower) Name() string { return f.cfg.Sender.Name() }

// Lag is the number of events not yet delivered, over every workspace, as
// of the last pass.
func (f *Follower) Lag() int64 { return f.lag.Load() }

// Sent counts the events delivered (duplicates after a failure included).
func (f *Follower) Sent() int64 { return f.sent.Load() }

// Failures counts the failed sends.
func (f *Follower) Failures() int64 { return f.failures.Load() }

// Wake asks for a pass soon (after a commit); it never blocks.
func (f *Follower) Wake() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Run streams until ctx ends: a pass when woken and at least every Poll,
// and after a failure a pass again once the backoff has passed.
func (f *Follower) Run(ctx context.Context) {
	defer f.cfg.Sender.Close()
	backoff := time.Duration(0)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		more, err := f.pass(ctx)
		wait := f.cfg.Poll
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			backoff = min(max(2*backoff, f.cfg.BackoffMin), f.cfg.BackoffMax)
			// Full jitter over the upper half: destinations that failed
			// together do not all come back at the same instant.
			wait = backoff/2 + rand.N(backoff/2+1)
			f.cfg.Logger.Warn("stream delivery failed; retrying", "stream", f.Name(), "lag", f.Lag(), "retry_in", wait, "err", err)
		case more:
			backoff = 0
			continue
		default:
			backoff = 0
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-f.wake:
			if err != nil {
				// Woken during a backoff: wait it out all the same.
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			} else {
				t.Stop() // since Go 1.23 no stale tick is left to drain
			}
		}
	}
}

// Pass delivers every workspace's events to the end of its log, and
// returns the first error.
func (f *Follower) Pass(ctx context.Context) error {
	for {
		more, err := f.pass(ctx)
		if err != nil || !more {
			return err
		}
	}
}

// pass gives each workspace a bounded share; more reports that some log
// was not followed to its end.
func (f *Follower) pass(ctx context.Context) (more bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	names, err := f.cfg.Log.Workspaces(ctx)
	if err != nil {
		return false, err
	}
	lags := make([]int64, len(names))
	total := func() int64 {
		var n int64
		for _, l := range lags {
			n += l
		}
		return n
	}
	var firstErr error
	for i, ws := range names {
		next, err := f.cfg.Cursors.Cursor(ctx, f.consumer, ws)
		if err != nil {
			return false, err
		}
		size, err := f.cfg.Log.LogSize(ctx, ws)
		if err != nil {
			return false, err
		}
		lags[i] = size - next
		for batches := 0; next < size && firstErr == nil; batches++ {
			if batches == maxBatchesPerPass {
				more = true
				break
			}
			evs, err := f.cfg.Log.EventsFrom(ctx, ws, next, f.cfg.Batch)
			if err != nil {
				return false, err
			}
			if len(evs) == 0 {
				break
			}
			if err := f.cfg.Sender.Send(ctx, evs); err != nil {
				f.failures.Add(1)
				firstErr = err
				break
			}
			next = evs[len(evs)-1].Sequence + 1
			if err := f.cfg.Cursors.SetCursor(ctx, f.consumer, ws, next); err != nil {
				return false, err
			}
			f.sent.Add(int64(len(evs)))
			lags[i] = size - next
			f.lag.Store(total())
		}
		if firstErr != nil {
			// The other workspaces' lags are as of this pass's start at
			// worst; go on measuring them, but send nothing more.
			continue
		}
	}
	f.lag.Store(total())
	return more && firstErr == nil, firstErr
}

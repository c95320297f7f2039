// Package engine owns Vigil's write path, independent of any database:
// the queue, group commit, sequencing, leaf and tree hashing over an
// in-memory right edge, idempotency, the durable append through the
// storage seam (vigil.LogStorage) that is the acknowledgement point, and
// after it the projections, each fed from its own durable cursor, with
// the back-pressure that bounds their lag and the barrier that gives
// readers their own writes.
package engine

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilhq/vigil"
)

// Projection is what is derived from the log after the acknowledgement:
// query indexes, search terms, the ledger's query tables. It keeps its
// own durable cursor, written with what it derives, so that it survives
// kill -9 and can be rebuilt from the log at any time.
type Projection interface {
	// Name names the projection in logs and errors.
	Name() string
	// Cursors returns, for each workspace it has applied records of, the
	// sequence of the next record it needs.
	Cursors(ctx context.Context) (map[string]int64, error)
	// Apply derives what it keeps from records of one workspace that
	// continue its cursor, and moves the cursor past them, atomically.
	Apply(ctx context.Context, workspace string, records []vigil.LogRecord) error
}

// Keys finds the event that holds an idempotency key, among the events
// a projection has applied: the engine itself remembers the keys of the
// records the projection has not applied yet.
type Keys interface {
	Projection
	// IdempotentEvent returns the event of the workspace and tenant (""
	// for none) that holds key, and whether the origin of its address is
	// known (vigil.Event.IPFromConnection was kept).
	IdempotentEvent(ctx context.Context, workspace, tenant, key string) (e vigil.Event, originKnown, found bool, err error)
	// WorkspaceExists returns ENOTFOUND for a workspace never created:
	// workspaces are state, created with their keys.
	WorkspaceExists(ctx context.Context, workspace string) error
}

// Config configures an Engine.
type Config struct {
	Log vigil.LogStorage
	// Keys is the projection idempotency keys are looked up in; it is one
	// of the projections the engine feeds.
	Keys Keys
	// Projections are fed after the acknowledgement, Keys among them or
	// not (it is added when missing).
	Projections []Projection

	// Enrich adds what the server knows about an event before it is
	// hashed (geolocation), so the ledger covers it.
	Enrich func(*vigil.Event)

	// Canonicalize puts metadata in canonical form (ledger.Canonicalize).
	Canonicalize func([]byte) ([]byte, error)

	// PHIGuard, when set, screens the free text of every event a client
	// sends, after its preparation and before it is sealed or hashed: it
	// refuses the event or marks it, by its mode. The server's own
	// records (vigil.ServerRecord) pass unscreened.
	PHIGuard *vigil.PHIGuard

	// Keyring, when set, seals every event (encryption at rest): its
	// record holds a version 2 leaf and the encrypted identifying fields
	// (crypt.SealEvent). Without it events have version 1 leaves.
	Keyring vigil.Keyring

	QueueSize      int // requests waiting for the sequencer; full means EUNAVAILABLE
	MaxBatchEvents int // events in one group commit

	// MaxLag is how many events a projection may be behind the log of a
	// workspace before ingest of that workspace is refused with
	// EUNAVAILABLE (a 503 with Retry-After), so lag cannot grow unbounded.
	MaxLag int64
	// ReadWait is how long a read waits for the projections to reach the
	// log head it saw before it answers EUNAVAILABLE naming the lag.
	ReadWait time.Duration
	// ProjectionBatch is the most records a projection applies at once.
	ProjectionBatch int

	Now    func() time.Time
	Logger *slog.Logger

	// OnGroup, when set, observes the events of each group committed
	// (metrics).
	OnGroup func(events int)
}

// Defaults.
const (
	DefaultQueueSize       = 8192
	DefaultMaxBatchEvents  = 4096
	DefaultMaxLag          = 50_000
	DefaultReadWait        = 5 * time.Second
	DefaultProjectionBatch = 4096
)

// Engine is the one write path of a process.
type Engine struct {
	cfg   Config
	log   *slog.Logger
	queue chan *request
	stop  chan struct{}
	done  chan struct{}

	closeMu sync.RWMutex // guards closed against concurrent enqueues
	closed  bool

	// logs is the sequencer's memory of each workspace's log; only the
	// sequencer goroutine touches it after New.
	logs      map[string]*wsLog
	unapplied *unapplied // idempotency keys the key projection has not applied

	// mu guards heads and every runner's cursors; progress is closed and
	// replaced whenever either moves, to wake readers waiting on them.
	mu       sync.Mutex
	heads    map[string]int64
	progress chan struct{}

	runners []*runner
	keys    *runner // the runner of cfg.Keys

	lastErr atomic.Pointer[failure]
	wg      sync.WaitGroup
}

type failure struct {
	at  time.Time
	err error
}

// New opens the engine over its log: it loads every workspace's head and
// right edge, remembers the idempotency keys of records the key
// projection has not applied, and starts the sequencer and a runner per
// projection, which first catch up with the log.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.Log == nil || cfg.Keys == nil {
		return nil, errors.New("engine: a log and a key projection are required")
	}
	if cfg.Canonicalize == nil {
		return nil, errors.New("engine: no canonicalizer")
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.MaxBatchEvents <= 0 {
		cfg.MaxBatchEvents = DefaultMaxBatchEvents
	}
	if cfg.MaxLag <= 0 {
		cfg.MaxLag = DefaultMaxLag
	}
	if cfg.ReadWait <= 0 {
		cfg.ReadWait = DefaultReadWait
	}
	if cfg.ProjectionBatch <= 0 {
		cfg.ProjectionBatch = DefaultProjectionBatch
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{
		cfg: cfg, log: cfg.Logger,
		queue: make(chan *request, cfg.QueueSize),
		stop:  make(chan struct{}), done: make(chan struct{}),
		logs: map[string]*wsLog{}, heads: map[string]int64{}, progress: make(chan struct{}),
	}
	heads, err := cfg.Log.Heads(ctx)
	if err != nil {
		return nil, err
	}
	for ws, size := range heads {
		l, err := loadLog(ctx, cfg.Log, ws, size)
		if err != nil {
			return nil, err
		}
		e.logs[ws] = l
		e.heads[ws] = size
	}
	projections := cfg.Projections
	found := false
	for _, p := range projections {
		if p == Projection(cfg.Keys) {
			found = true
		}
	}
	if !found {
		projections = append([]Projection{cfg.Keys}, projections...)
	}
	for _, p := range projections {
		r, err := e.newRunner(ctx, p)
		if err != nil {
			return nil, err
		}
		if p == Projection(cfg.Keys) {
			e.keys = r
		}
		e.runners = append(e.runners, r)
	}
	if err := e.rememberUnappliedKeys(ctx); err != nil {
		return nil, err
	}
	go e.sequence()
	for _, r := range e.runners {
		e.wg.Add(1)
		go r.run()
		r.poke()
	}
	return e, nil
}

// Close stops taking requests, commits what is queued, lets every
// projection catch up with the log, and stops.
func (e *Engine) Close() error {
	e.closeMu.Lock()
	if e.closed {
		e.closeMu.Unlock()
		<-e.done
		return nil
	}
	e.closed = true
	e.closeMu.Unlock()
	close(e.stop)
	<-e.done
	e.wg.Wait()
	return nil
}

// Healthy reports a recent failure of the log or of a projection.
func (e *Engine) Healthy() error {
	if f := e.lastErr.Load(); f != nil && time.Since(f.at) < 10*time.Second {
		return vigil.Unavailable("the last append to the log failed", f.err)
	}
	for _, r := range e.runners {
		if f := r.lastErr.Load(); f != nil && time.Since(f.at) < 10*time.Second {
			return vigil.Unavailable("the "+r.p.Name()+" projection failed", f.err)
		}
	}
	return nil
}

// Head returns the size of a workspace's acknowledged log.
func (e *Engine) Head(workspace string) int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.heads[workspace]
}

// Lag returns how many acknowledged events of the workspace the slowest
// projection has not applied yet.
func (e *Engine) Lag(workspace string) int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lagLocked(workspace)
}

func (e *Engine) lagLocked(workspace string) int64 {
	head := e.heads[workspace]
	var lag int64
	for _, r := range e.runners {
		if d := head - r.cursors[workspace]; d > lag {
			lag = d
		}
	}
	return lag
}

// MaxLag returns the largest lag of any workspace (metrics).
func (e *Engine) MaxLag() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	var lag int64
	for ws := range e.heads {
		lag = max(lag, e.lagLocked(ws))
	}
	return lag
}

// advanced wakes readers waiting on heads or cursors; callers hold mu.
func (e *Engine) advanced() {
	close(e.progress)
	e.progress = make(chan struct{})
}

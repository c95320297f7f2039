package anchor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
)

// Log is what anchoring reads of the store: the signed checkpoints, the
// tree behind them and the events they cover.
type Log interface {
	Workspaces(ctx context.Context) ([]string, error)
	Checkpoint(ctx context.Context, workspace string, size int64) (vigil.Checkpoint, error)
	ConsistencyProof(ctx context.Context, workspace string, first, second int64) ([]vigil.Hash, error)
	Integrity(ctx context.Context, workspace string, sequences ...int64) ([]vigil.Integrity, error)
	EventsFrom(ctx context.Context, workspace string, from int64, limit int) ([]vigil.Event, error)
	// TreeRoot is the root of the stored tree at size.
	TreeRoot(ctx context.Context, workspace string, size int64) (vigil.Hash, error)
}

// Config configures an Anchorer.
type Config struct {
	Log       Log
	Store     vigil.AnchorStore
	Witnesses []Witness
	// Verifier checks evidence when anchors are verified; its TSA roots
	// should be the TSAs' own.
	Verifier *Verifier
	// MaxAttempts bounds the tries of one anchor before it is given up as
	// failed (8). Retries back off from RetryBase (30 s), doubling.
	MaxAttempts int
	RetryBase   time.Duration
	// Timeout bounds one request to a witness (30 s).
	Timeout time.Duration
	Logger  *slog.Logger
	Now     func() time.Time
}

// Anchorer sends each workspace's latest checkpoint to every witness and
// keeps their evidence, following the checkpoints as a projection: the
// position of each (workspace, chain) is its latest anchor.
type Anchorer struct {
	cfg Config
	mu  sync.Mutex // one anchoring at a time: each chain's anchors stay in order
}

// New returns an Anchorer.
func New(cfg Config) *Anchorer {
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 30 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Verifier == nil {
		cfg.Verifier = &Verifier{}
	}
	return &Anchorer{cfg: cfg}
}

// Run anchors every workspace at each interval and resumes anchors due a
// retry in between, until ctx ends. The first pass comes after first,
// once the server has signed its first checkpoints.
func (an *Anchorer) Run(ctx context.Context, interval, first time.Duration) {
	if len(an.cfg.Witnesses) == 0 {
		return
	}
	poll := min(interval, an.cfg.RetryBase)
	next := an.cfg.Now().Add(first)
	t := time.NewTicker(poll)
	defer t.Stop()
	timer := time.NewTimer(first)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-t.C:
		}
		full := !an.cfg.Now().Before(next)
		if full {
			next = an.cfg.Now().Add(interval)
		}
		if err := an.pass(ctx, full); err != nil && ctx.Err() == nil {
			an.cfg.Logger.Error("anchoring failed", "err", err)
		}
	}
}

// Pass anchors every workspace's latest checkpoint now: what Run does at
// each interval.
func (an *Anchorer) Pass(ctx context.Context) error { return an.pass(ctx, true) }

func (an *Anchorer) pass(ctx context.Context, full bool) error {
	names, err := an.cfg.Log.Workspaces(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, ws := range names {
		if _, err := an.anchor(ctx, ws, full, false); err != nil {
			errs = append(errs, fmt.Errorf("workspace %s: %w", ws, err))
		}
	}
	return errors.Join(errs...)
}

// AnchorNow implements vigil.AnchorService.
func (an *Anchorer) AnchorNow(ctx context.Context, workspace string) ([]vigil.Anchor, error) {
	if len(an.cfg.Witnesses) == 0 {
		return nil, vigil.Errorf(vigil.EUNAVAILABLE, "%s", errNoWitness.Error())
	}
	return an.anchor(ctx, workspace, true, true)
}

// anchor brings every chain of a workspace up to its latest checkpoint:
// an unsettled anchor is resumed when due (or now, when forced), then a
// new one is made if the checkpoint is beyond the chain's last
// confirmed anchor (only on a full pass). It returns the anchors it
// touched.
func (an *Anchorer) anchor(ctx context.Context, ws string, full, force bool) ([]vigil.Anchor, error) {
	an.mu.Lock()
	defer an.mu.Unlock()
	cp, err := an.cfg.Log.Checkpoint(ctx, ws, -1)
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		return nil, nil // nothing signed yet
	} else if err != nil {
		return nil, err
	}
	var out []vigil.Anchor
	var errs []error
	for _, w := range an.cfg.Witnesses {
		a, err := an.chain(ctx, ws, w, cp, full, force)
		if a.ID != "" {
			out = append(out, a)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", w.Chain(), err))
		}
	}
	return out, errors.Join(errs...)
}

func (an *Anchorer) chain(ctx context.Context, ws string, w Witness, cp vigil.Checkpoint, full, force bool) (vigil.Anchor, error) {
	last, err := an.cfg.Store.LatestAnchor(ctx, ws, w.Chain(), false)
	switch {
	case vigil.ErrorCode(err) == vigil.ENOTFOUND:
	case err != nil:
		return vigil.Anchor{}, err
	case last.Status == vigil.AnchorPending || last.Status == vigil.AnchorSubmitted:
		if !force && an.cfg.Now().Before(last.NextTry) {
			return vigil.Anchor{}, nil
		}
		last, err = an.submit(ctx, w, last)
		if err != nil || last.Status != vigil.AnchorConfirmed || last.TreeSize >= cp.Size {
			return last, err
		}
	}
	if !full {
		return vigil.Anchor{}, nil
	}
	prev, err := an.cfg.Store.LatestAnchor(ctx, ws, w.Chain(), true)
	if err != nil && vigil.ErrorCode(err) != vigil.ENOTFOUND {
		return vigil.Anchor{}, err
	}
	if cp.Size == 0 || (prev.ID != "" && prev.TreeSize >= cp.Size) {
		return vigil.Anchor{}, nil // the witness has seen this checkpoint
	}
	a, err := an.newAnchor(ctx, ws, w, cp, prev)
	if err != nil {
		return vigil.Anchor{}, err
	}
	if a, err = an.cfg.Store.CreateAnchor(ctx, a); err != nil {
		return vigil.Anchor{}, err
	}
	return an.submit(ctx, w, a)
}

// newAnchor describes the anchor of cp after prev (the chain's last
// confirmed anchor, or none): the events it newly covers and the link to
// prev.
func (an *Anchorer) newAnchor(ctx context.Context, ws string, w Witness, cp vigil.Checkpoint, prev vigil.Anchor) (vigil.Anchor, error) {
	a := vigil.Anchor{Workspace: ws, Chain: w.Chain(), Kind: w.Kind(), Checkpoint: cp.Note, TreeSize: cp.Size, Root: cp.Root,
		Status: vigil.AnchorPending}
	if prev.ID != "" {
		h, err := Hash(prev)
		if err != nil {
			return a, err
		}
		a.PreviousID, a.PreviousHash, a.FromSequence = prev.ID, &h, prev.TreeSize
	}
	last := cp.Size - 1
	ends, err := an.cfg.Log.Integrity(ctx, ws, a.FromSequence, last)
	if err != nil {
		return a, err
	}
	first, err1 := ledger.ParseHash(ends[0].EventHash)
	lastHash, err2 := ledger.ParseHash(ends[1].EventHash)
	if err := errors.Join(err1, err2); err != nil {
		return a, err
	}
	a.FirstEventHash, a.LastEventHash = &first, &lastHash
	for _, s := range []int64{a.FromSequence, last} {
		evs, err := an.cfg.Log.EventsFrom(ctx, ws, s, 1)
		if err != nil {
			return a, err
		}
		if len(evs) == 0 || evs[0].Sequence != s {
			return a, fmt.Errorf("event %d of the checkpoint is not in the log", s)
		}
		if s == a.FromSequence {
			a.PeriodStart = evs[0].CreatedAt
		}
		if s == last {
			a.PeriodEnd = evs[0].CreatedAt
		}
	}
	return a, nil
}

// submit sends an anchor to its witness and records the outcome: the
// evidence (confirmed), a refusal (failed), or a failure to reach it
// (pending, to be tried again later, or failed after MaxAttempts).
func (an *Anchorer) submit(ctx context.Context, w Witness, a vigil.Anchor) (vigil.Anchor, error) {
	a.Status, a.Attempts = vigil.AnchorSubmitted, a.Attempts+1
	a, err := an.cfg.Store.UpdateAnchor(ctx, a)
	if err != nil {
		return a, err
	}
	req := Request{
		Checkpoint: vigil.Checkpoint{Size: a.TreeSize, Root: a.Root, Note: a.Checkpoint},
		Body:       Body(a.Checkpoint),
		OldSize:    a.FromSequence,
		Prove: func(ctx context.Context, from int64) ([]vigil.Hash, error) {
			return an.cfg.Log.ConsistencyProof(ctx, a.Workspace, from, a.TreeSize)
		},
	}
	wctx, cancel := context.WithTimeout(ctx, an.cfg.Timeout)
	start := time.Now()
	ev, werr := w.Witness(wctx, req)
	cancel()
	var refused *RefusedError
	switch {
	case werr == nil:
		a.Status, a.Evidence, a.EvidenceTime, a.WitnessKey, a.LastError, a.NextTry = vigil.AnchorConfirmed, ev.Bytes, ev.Time, ev.Key, "", time.Time{}
		an.cfg.Logger.Info("checkpoint anchored", "workspace", a.Workspace, "chain", a.Chain, "tree_size", a.TreeSize,
			"evidence_time", ev.Time, "latency_ms", time.Since(start).Milliseconds())
	case errors.As(werr, &refused) || a.Attempts >= an.cfg.MaxAttempts:
		a.Status, a.LastError, a.NextTry = vigil.AnchorFailed, werr.Error(), time.Time{}
		an.cfg.Logger.Error("anchoring refused", "workspace", a.Workspace, "chain", a.Chain, "tree_size", a.TreeSize,
			"attempts", a.Attempts, "err", werr)
	default:
		a.Status, a.LastError = vigil.AnchorPending, werr.Error()
		a.NextTry = an.cfg.Now().Add(an.cfg.RetryBase << min(a.Attempts-1, 6))
		an.cfg.Logger.Warn("witness unreachable; anchoring will be retried", "workspace", a.Workspace, "chain", a.Chain,
			"attempts", a.Attempts, "next_try", a.NextTry, "err", werr)
	}
	if ctx.Err() != nil {
		return a, ctx.Err() // shutting down: the anchor stays submitted and is resumed at the next start
	}
	return an.cfg.Store.UpdateAnchor(ctx, a)
}

// Anchors implements vigil.AnchorService.
func (an *Anchorer) Anchors(ctx context.Context, q vigil.AnchorQuery) (vigil.AnchorPage, error) {
	return an.cfg.Store.Anchors(ctx, q)
}

// Anchor implements vigil.AnchorService.
func (an *Anchorer) Anchor(ctx context.Context, workspace, id string) (vigil.Anchor, error) {
	return an.cfg.Store.Anchor(ctx, workspace, id)
}

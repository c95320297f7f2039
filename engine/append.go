package engine

import (
	"context"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/crypt"
	"github.com/vigilhq/vigil/ledger"
)

// request is one call of Append waiting for the sequencer.
type request struct {
	ctx     context.Context
	ws      string
	events  []vigil.Event
	seals   []*crypt.Sealing // each event's sealed fields, prepared, when the engine seals
	digests []vigil.Hash     // content digest of each event with an idempotency key
	results []vigil.AppendResult
	refused error // a reused key refused the request; nothing of it was written
	done    chan error
}

// Append implements vigil.EventStore: it prepares the events (one
// validation, every route), hands them to the sequencer and returns once
// they are durable in the log, with their tree hashes. Projections apply
// them after.
func (e *Engine) Append(ctx context.Context, workspace string, events []vigil.Event) ([]vigil.AppendResult, error) {
	if len(events) == 0 {
		return nil, vigil.Invalid(vigil.ErrorDetail{Field: "events", Message: "at least one event is required"})
	}
	prepared := make([]vigil.Event, len(events))
	var flagged [][]vigil.PHIFinding // what the PHI guard marked, by event
	var details []vigil.ErrorDetail
	for i := range events {
		p, found, err := e.prepare(ctx, events[i])
		if err != nil {
			for _, d := range vigil.ErrorDetails(err) {
				if len(events) > 1 {
					idx := i
					d.Index = &idx
				}
				details = append(details, d)
			}
			continue
		}
		prepared[i] = p
		if found != nil {
			if flagged == nil {
				flagged = make([][]vigil.PHIFinding, len(events))
			}
			flagged[i] = found
		}
	}
	if len(details) > 0 {
		return nil, vigil.Invalid(details...)
	}
	if err := e.cfg.Keys.WorkspaceExists(ctx, workspace); err != nil {
		return nil, err
	}
	if err := e.pushback(workspace); err != nil {
		return nil, err
	}
	r := &request{ctx: ctx, ws: workspace, events: prepared, digests: contentDigests(prepared), done: make(chan error, 1)}
	if e.cfg.Keyring != nil {
		// Salts, commitments and payload here, in parallel across callers.
		r.seals = make([]*crypt.Sealing, len(prepared))
		for i := range prepared {
			var err error
			if r.seals[i], err = crypt.PrepareSeal(&prepared[i]); err != nil {
				return nil, err
			}
		}
	}
	if err := e.enqueue(r); err != nil {
		return nil, err
	}
	select {
	case err := <-r.done:
		if err != nil {
			return nil, err
		}
	case <-ctx.Done():
		// The sequencer may still append; the caller retries with the
		// same idempotency key and learns the event was stored.
		return nil, ctx.Err()
	}
	e.observeFlagged(workspace, flagged, r.results)
	return r.results, nil
}

// observeFlagged tells the PHI guard's observer of the events it marked,
// now durable; an event that was a duplicate was counted when first
// stored.
func (e *Engine) observeFlagged(workspace string, flagged [][]vigil.PHIFinding, results []vigil.AppendResult) {
	if flagged == nil || e.cfg.PHIGuard.Flagged == nil {
		return
	}
	for i, f := range flagged {
		if f != nil && i < len(results) && !results[i].Duplicate {
			e.cfg.PHIGuard.Flagged(workspace, f)
		}
	}
}

// prepare normalises and validates an event, screens it for PHI and adds
// the server's enrichment, in the caller's goroutine so the sequencer
// only sequences.
func (e *Engine) prepare(ctx context.Context, ev vigil.Event) (vigil.Event, []vigil.PHIFinding, error) {
	ev, err := vigil.Prepare(ev, e.cfg.Canonicalize)
	if err != nil {
		return ev, nil, err
	}
	flagged, err := e.cfg.PHIGuard.Guard(ctx, &ev, e.cfg.Canonicalize)
	if err != nil {
		return ev, nil, err
	}
	// Enrichment is the server's: whatever a caller put there is replaced.
	ev.IPCountry, ev.IPCity, ev.IPRegion = "", "", ""
	if e.cfg.Enrich != nil && ev.IPAddress != "" {
		e.cfg.Enrich(&ev)
	}
	return ev, flagged, nil
}

// pushback refuses ingest of a workspace whose projections are more than
// MaxLag events behind its log, as Tessera pushes back: the client
// retries after a moment instead of the lag growing without bound.
func (e *Engine) pushback(workspace string) error {
	lag := e.Lag(workspace)
	if lag <= e.cfg.MaxLag {
		return nil
	}
	return vigil.Errorf(vigil.EUNAVAILABLE, "the query indexes are %d events behind the log (the bound is %d); retry shortly", lag, e.cfg.MaxLag)
}

// enqueue hands a request to the sequencer, or refuses at once when the
// queue is full: memory stays bounded and the client is told to retry.
func (e *Engine) enqueue(r *request) error {
	e.closeMu.RLock()
	defer e.closeMu.RUnlock()
	if e.closed {
		return vigil.Errorf(vigil.EUNAVAILABLE, "the store is shutting down")
	}
	select {
	case e.queue <- r:
		return nil
	default:
		return vigil.Errorf(vigil.EUNAVAILABLE, "the ingest queue is full")
	}
}

// contentDigests returns the content digest of each event that has an
// idempotency key (zero for the others), or nil when none has one.
func contentDigests(events []vigil.Event) []vigil.Hash {
	var out []vigil.Hash
	for i := range events {
		if events[i].IdempotencyKey == "" {
			continue
		}
		if out == nil {
			out = make([]vigil.Hash, len(events))
		}
		out[i] = ledger.ContentDigest(&events[i])
	}
	return out
}

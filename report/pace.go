package report

import (
	"context"
	"iter"
	"time"

	"github.com/vigilhq/vigil"
)

// Paced returns src with its scans paced so that a job uses at most share
// of one core's time (0 < share <= 1): after every batch of events, the
// scan sleeps in proportion to the time the batch took, rendering
// included. Reports run beside ingest on the same machine; an unpaced
// scan takes a whole core from the writer and the HTTP handlers.
func Paced(src Source, share float64) Source {
	if share <= 0 || share >= 1 {
		return src
	}
	return paced{src, share}
}

type paced struct {
	Source
	share float64
}

const paceBatch = 512

func (p paced) ScanEvents(ctx context.Context, q vigil.Query, through int64, order vigil.ScanOrder) iter.Seq2[vigil.Event, error] {
	return func(yield func(vigil.Event, error) bool) {
		start, n := time.Now(), 0
		for e, err := range p.Source.ScanEvents(ctx, q, through, order) {
			if !yield(e, err) || err != nil {
				return
			}
			if n++; n%paceBatch == 0 {
				pause := time.Duration(float64(time.Since(start)) * (1 - p.share) / p.share)
				t := time.NewTimer(pause)
				select {
				case <-ctx.Done():
					t.Stop()
					yield(vigil.Event{}, ctx.Err())
					return
				case <-t.C:
				}
				start = time.Now()
			}
		}
	}
}

// InclusionProver keeps the source's batch prover visible through the
// wrapper.
func (p paced) InclusionProver(ctx context.Context, workspace string, treeSize int64) (vigil.InclusionProver, error) {
	if bp, ok := p.Source.(vigil.BatchProver); ok {
		return bp.InclusionProver(ctx, workspace, treeSize)
	}
	return p.Source, nil
}

package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
)

// moonshotConfig drives the moonshot phase: the batch sizes and client
// counts tried.
type moonshotConfig struct {
	batches, clients []int
}

// benchMoonshot looks for the most durable events per second the server
// takes over HTTP: batches of each size from each number of clients, for
// --duration each, on one server configured to accept the largest batch
// (vigil serve --batch-limit). It prints every combination and the best,
// with the load generator's ceiling for that shape.
func benchMoonshot(ctx context.Context, out io.Writer, c benchConfig, cs *ceilings) error {
	o := serverOpts{batchLimit: slices.Max(c.moonshot.batches)}
	var best result
	var bestShape loadShape
	_, err := withServerOpts(ctx, filepath.Join(c.dir, "moonshot"), o, func(s *benchServer) (result, error) {
		for _, size := range c.moonshot.batches {
			for _, n := range c.moonshot.clients {
				sh := batches(n, size)
				r, err := runLoad(ctx, s.target(), sh, c.duration, loadOptions{})
				if err != nil {
					return r, err
				}
				report(out, fmt.Sprintf("moonshot: %s over HTTP (--batch-limit %d)", sh, o.batchLimit), r)
				if r.errors == 0 && r.rate() > best.rate() {
					best, bestShape = r, sh
				}
			}
		}
		return result{}, nil
	})
	if err != nil {
		return err
	}
	if best.events == 0 {
		return fmt.Errorf("moonshot: no combination ran without errors")
	}
	fmt.Fprintf(out, "moonshot: best %.0f durable events/s with %s, p99 %s (target 100,000/s)\n", best.rate(), bestShape, round(best.percentile(0.99)))
	return cs.show(ctx, out, bestShape, best)
}

package main

import (
	"context"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/bench/workload"
)

// appender is one system under test. Append returns once e is durable
// (the system's own guarantee, used as its authors intend); it is the
// only seam, so another write path is measured by one more adapter.
type appender interface {
	Append(ctx context.Context, e vigil.Event) error
	Close() error
}

// system is a named way to open an appender in a fresh directory, for a
// given number of concurrent writers.
type system struct {
	name       string
	durability string // what an acknowledged append means, printed with the figures
	open       func(ctx context.Context, dir string, writers int) (appender, error)
}

// systems are every system this program measures, in the order printed.
var systems = []system{vigilSystem, immudbSystem, tesseraSystem}

func systemNames() []string {
	var names []string
	for _, s := range systems {
		names = append(names, s.name)
	}
	return names
}

// result is one system at one writer count.
type result struct {
	events, errors int64
	elapsed        time.Duration
	latencies      []time.Duration
}

func (r result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.events) / r.elapsed.Seconds()
}

func (r result) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	l := slices.Clone(r.latencies)
	slices.Sort(l)
	return l[int(p*float64(len(l)-1))]
}

// measure opens s in dir and has writers goroutines append workload
// events one at a time for d, each waiting for its append to return
// before the next. Appends under way at the deadline finish and count:
// the clock stops when the last returns.
func measure(ctx context.Context, s system, dir string, writers int, d time.Duration) (result, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return result{}, err
	}
	a, err := s.open(ctx, dir, writers)
	if err != nil {
		return result{}, err
	}
	var next atomic.Int64
	next.Store(workload.First)
	var events, errs atomic.Int64
	lat := make([][]time.Duration, writers)
	runCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var firstErr error
	var once sync.Once
	start := time.Now()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for runCtx.Err() == nil {
				e := workload.Event(w, next.Add(1)-1)
				t0 := time.Now()
				if err := a.Append(ctx, e); err != nil {
					errs.Add(1)
					once.Do(func() { firstErr = err })
					// A refusal is pushback (Vigil's projection bound, a
					// full queue): back off as a client obeying
					// Retry-After would, rather than spin and take the
					// CPU the system needs to catch up.
					time.Sleep(5 * time.Millisecond)
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
				events.Add(1)
			}
		})
	}
	wg.Wait()
	r := result{events: events.Load(), errors: errs.Load(), elapsed: time.Since(start)}
	for _, l := range lat {
		r.latencies = append(r.latencies, l...)
	}
	if err := a.Close(); err != nil {
		return r, err
	}
	if r.errors > 0 && r.events == 0 {
		return r, firstErr
	}
	return r, nil
}

package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// soakConfig drives the soak run: a long, steady load below the peak, to
// show that memory and latency stay flat over time.
type soakConfig struct {
	duration, sample, peakFor time.Duration
	fraction                  float64
}

// soakSample is one interval of the soak run.
type soakSample struct {
	at            time.Duration
	events, errs  int64
	p50, p99      time.Duration
	rssMB, heapMB float64
}

// runSoak measures the peak single-event ingest rate, then holds
// fraction of it for the soak's duration, printing events/s, p50/p99
// latency, RSS and Go heap every sample interval, and at the end how much
// memory grew after the first minute.
func runSoak(ctx context.Context, out io.Writer, c benchConfig) error {
	_, err := withServer(ctx, filepath.Join(c.dir, "soak"), func(s *benchServer) (result, error) {
		peak, err := runLoad(ctx, s.target(), singles(c.concurrency), c.soak.peakFor, loadOptions{})
		if err != nil {
			return result{}, err
		}
		report(out, fmt.Sprintf("soak: peak of single events over HTTP, %d clients", c.concurrency), peak)
		target := c.soak.fraction * peak.rate()
		fmt.Fprintf(out, "soak: %s at %.0f events/s (%.0f%% of peak), sampled every %s\n", c.soak.duration, target, 100*c.soak.fraction, c.soak.sample)
		fmt.Fprintf(out, "  %8s %10s %8s %10s %10s %8s %8s\n", "t", "events/s", "errors", "p50", "p99", "RSS MB", "heap MB")
		samples, err := s.soak(ctx, c.concurrency, target, c.soak, func(x soakSample) {
			fmt.Fprintf(out, "  %8s %10.0f %8d %10s %10s %8.0f %8.0f\n", x.at.Round(time.Second), float64(x.events)/c.soak.sample.Seconds(),
				x.errs, round(x.p50), round(x.p99), x.rssMB, x.heapMB)
		})
		if err != nil {
			return result{}, err
		}
		summariseSoak(out, samples, c.soak)
		return result{}, nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "peak RSS of the whole run: %.0f MB\n", maxRSSMB())
	return nil
}

// soak sends single events from n clients, paced to perSecond in all, for
// cfg.duration, and reports a sample every cfg.sample.
func (s *benchServer) soak(ctx context.Context, n int, perSecond float64, cfg soakConfig, each func(soakSample)) ([]soakSample, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	pace := rate.NewLimiter(rate.Limit(perSecond), max(1, n))
	var (
		mu      sync.Mutex
		lat     []time.Duration
		events  atomic.Int64
		errs    atomic.Int64
		samples []soakSample
	)
	loaded := make(chan error, 1)
	go func() {
		_, err := runLoad(ctx, s.target(), singles(n), cfg.duration, loadOptions{pace: pace, observe: func(acked bool, d time.Duration) {
			if !acked {
				errs.Add(1)
				return
			}
			mu.Lock()
			lat = append(lat, d)
			mu.Unlock()
			events.Add(1)
		}})
		loaded <- err
	}()
	var loadErr error
	start := time.Now()
	var last time.Duration // when the previous sample was taken
	tick := time.NewTicker(cfg.sample)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-tick.C:
		case <-ctx.Done():
			done = true
			loadErr = <-loaded
		}
		mu.Lock()
		l := lat
		lat = nil
		mu.Unlock()
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		x := soakSample{at: time.Since(start), events: events.Swap(0), errs: errs.Swap(0),
			rssMB: currentRSSMB(), heapMB: float64(ms.HeapAlloc) / (1 << 20)}
		if len(l) > 0 {
			x.p50, x.p99 = l[len(l)/2], l[int(0.99*float64(len(l)-1))]
		}
		if x.at-last >= cfg.sample/2 { // a final stub of an interval is not a sample
			samples = append(samples, x)
			each(x)
		}
		last = x.at
	}
	return samples, loadErr
}

// summariseSoak compares the samples after the first minute (warm-up:
// caches, pools and the page cache fill) with the last ones.
func summariseSoak(out io.Writer, samples []soakSample, cfg soakConfig) {
	if len(samples) < 2 {
		fmt.Fprintln(out, "soak: too short to compare samples")
		return
	}
	warm := 0
	for warm < len(samples)-1 && samples[warm].at < time.Minute {
		warm++
	}
	first, last := samples[warm], samples[len(samples)-1]
	var total, errs int64
	worstP99 := time.Duration(0)
	for _, x := range samples {
		total += x.events
		errs += x.errs
		worstP99 = max(worstP99, x.p99)
	}
	fmt.Fprintf(out, "soak summary: %d events, %d errors; RSS %.0f MB at %s, %.0f MB at the end (%+.0f MB); heap %.0f → %.0f MB; p99 %s → %s, worst %s\n",
		total, errs, first.rssMB, first.at.Round(time.Second), last.rssMB, last.rssMB-first.rssMB, first.heapMB, last.heapMB,
		round(first.p99), round(last.p99), round(worstP99))
}

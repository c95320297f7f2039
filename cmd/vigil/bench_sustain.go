package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	nethttp "net/http"
	"path/filepath"
	"time"

	"github.com/vigilhq/vigil/api"
	"github.com/vigilhq/vigil/bench/workload"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/time/rate"
)

// sustainConfig drives the sustain phase.
type sustainConfig struct {
	duration time.Duration
	fraction float64
	rules    bool // the ten alert rules of the alerts phase enabled
}

// catchUpLimit bounds how long the sustain phase waits for the
// projections after the load.
const catchUpLimit = time.Minute

// benchSustain measures the batch peak on a fresh server with every
// projection running as vigil serve runs it (query indexes, FHIR search
// terms, the alert evaluator following the log, checkpoints signed every
// second), holds a fraction of that peak for the sustain duration, and
// then measures how long until the projections hold every acknowledged
// event: queries count them all, the signed checkpoint covers them, the
// alert evaluator has passed them. While projections are written in the
// acknowledging transaction the first of these is immediate; the phase
// measures the real catch-up once they follow the log.
func benchSustain(ctx context.Context, out io.Writer, c benchConfig, cs *ceilings, base float64) error {
	sh := batches(c.batchConc, c.batchSize)
	_, err := withServer(ctx, filepath.Join(c.dir, "sustain"), func(s *benchServer) (result, error) {
		rules := 0
		if c.sustain.rules {
			rules = len(benchRules)
		}
		if err := createBenchRules(ctx, s.db, rules); err != nil {
			return result{}, err
		}
		_, stop := followAlerts(ctx, s.db)
		defer stop()
		peak, err := runLoad(ctx, s.target(), sh, c.duration, loadOptions{})
		if err != nil {
			return result{}, err
		}
		report(out, fmt.Sprintf("sustain: peak of %s over HTTP, every projection on, %d alert rules", sh, rules), peak)
		if base > 0 {
			fmt.Fprintf(out, "  ratio to raw SQLite at %d rows per transaction: %.2fx\n", c.batchBaseline, peak.rate()/base)
		}
		want := c.sustain.fraction * peak.rate()
		pace := rate.NewLimiter(rate.Limit(want), sh.perRequest()) // no burst: one request at a time
		held, err := runLoad(ctx, s.target(), sh, c.sustain.duration, loadOptions{pace: pace})
		if err != nil {
			return result{}, err
		}
		report(out, fmt.Sprintf("sustain: %s held at %.0f events/s (%.0f%% of the peak) for %s", sh, want, 100*c.sustain.fraction, c.sustain.duration), held)
		if err := cs.show(ctx, out, sh, held); err != nil {
			return result{}, err
		}
		acked := peak.events + held.events
		cu, err := s.catchUp(ctx, acked, func() int64 { return s.db.AlertCursor(ctx, defaultWS) })
		if err != nil {
			return result{}, err
		}
		cu.print(out, acked)
		return result{}, nil
	})
	return err
}

// catchUp is how long after the last acknowledgement each projection held
// every acknowledged event; a negative time is one not reached within
// catchUpLimit.
type catchUp struct {
	queries, checkpoint, alerts time.Duration
	counted                     int64 // what the query counted last
	polls                       int
}

func (cu catchUp) print(out io.Writer, acked int64) {
	at := func(d time.Duration) string {
		if d < 0 {
			return fmt.Sprintf("NOT within %s", catchUpLimit)
		}
		return "after " + round(d).String()
	}
	fmt.Fprintf(out, "  catch-up: queries counted all %d acknowledged events %s (counted %d; %d polls); the signed checkpoint covered them %s; alert evaluation passed them %s\n",
		acked, at(cu.queries), cu.counted, cu.polls, at(cu.checkpoint), at(cu.alerts))
}

// catchUp polls, from now, GET /api/v1/events?action=…&limit=1 until its
// total reaches acked (the newest match names the last event's
// sequence), GET /api/v1/ledger/checkpoint until the signed size passes
// that sequence, and alertCursor until it passes it too.
func (s *benchServer) catchUp(ctx context.Context, acked int64, alertCursor func() int64) (catchUp, error) {
	start := time.Now()
	cu := catchUp{queries: -1, checkpoint: -1, alerts: -1}
	last := int64(-1) // sequence of the newest acknowledged event, once counted
	for time.Since(start) < catchUpLimit && (cu.queries < 0 || cu.checkpoint < 0 || cu.alerts < 0) {
		if cu.queries < 0 {
			var list api.EventList
			if err := s.getJSON(ctx, "/api/v1/events?limit=1&action="+workload.Action, &list); err != nil {
				return cu, err
			}
			cu.polls++
			cu.counted = list.Pagination.Total
			if list.Pagination.Total >= acked && len(list.Data) == 1 {
				cu.queries, last = time.Since(start), list.Data[0].Sequence
			}
		}
		if last >= 0 && cu.checkpoint < 0 {
			size, err := s.checkpointSize(ctx)
			if err != nil {
				return cu, err
			}
			if size > last {
				cu.checkpoint = time.Since(start)
			}
		}
		if last >= 0 && cu.alerts < 0 && alertCursor() > last {
			cu.alerts = time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cu, nil
}

func (s *benchServer) get(ctx context.Context, path string) ([]byte, error) {
	req, err := nethttp.NewRequestWithContext(ctx, "GET", s.url+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.auditor)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("GET %s answered %d: %s", path, resp.StatusCode, body)
	}
	return body, err
}

func (s *benchServer) getJSON(ctx context.Context, path string, v any) error {
	body, err := s.get(ctx, path)
	if err != nil {
		return err
	}
	return json.Unmarshal(body, v)
}

// checkpointSize is the size of the server's latest checkpoint, once its
// signature verifies.
func (s *benchServer) checkpointSize(ctx context.Context) (int64, error) {
	note, err := s.get(ctx, "/api/v1/ledger/checkpoint")
	if err != nil {
		return 0, err
	}
	cp, err := ledger.Open(note, s.vkey)
	return cp.Size, err
}

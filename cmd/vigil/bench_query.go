package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	nethttp "net/http"
	"path/filepath"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/bench/workload"
	"github.com/vigilhq/vigil/sqlite"
)

// benchQueries fills a store with c.queryEvents events through the write
// path, then measures queries by patient and resource, inclusion proofs,
// and a full re-verification.
func benchQueries(ctx context.Context, out io.Writer, c benchConfig, skip map[string]bool) error {
	_, err := withServer(ctx, filepath.Join(c.dir, "query"), func(s *benchServer) (result, error) {
		const batch = 1000
		start := time.Now()
		events := make([]vigil.Event, batch)
		for n := 0; n < c.queryEvents; n += batch {
			events = events[:min(batch, c.queryEvents-n)]
			for j := range events {
				i := n + j
				events[j] = workload.Event(i%256, s.take(1))
				events[j].OccurredAt = queryOccurred(i, c.queryEvents)
			}
			for {
				_, err := s.db.Append(ctx, defaultWS, events)
				if vigil.ErrorCode(err) == vigil.EUNAVAILABLE && ctx.Err() == nil {
					// The projection's pushback: retry as a client would.
					time.Sleep(10 * time.Millisecond)
					continue
				}
				if err != nil {
					return result{}, err
				}
				break
			}
		}
		load := result{events: int64(c.queryEvents), elapsed: time.Since(start)}
		report(out, fmt.Sprintf("store: %d events appended in batches of %d (write path with ledger, no HTTP)", c.queryEvents, batch), load)
		// The queries are timed over a projection that has every event,
		// not while it catches up.
		for caught := time.Now(); s.db.Engine.MaxLag() > 0; time.Sleep(10 * time.Millisecond) {
			if ctx.Err() != nil {
				return result{}, ctx.Err()
			}
			if time.Since(caught) > 10*time.Minute {
				return result{}, fmt.Errorf("the projection is still %d events behind after 10 minutes", s.db.Engine.MaxLag())
			}
		}
		fmt.Fprintf(out, "  projection caught up %s after the load began\n", time.Since(start).Round(time.Millisecond))
		if !skip["query"] {
			for _, q := range []struct {
				name  string
				param func() string
			}{
				{"patient_id", func() string { return workload.Event(0, workload.First+rand.Int64N(int64(c.queryEvents))).PatientID }},
				{"resource_id", func() string { return workload.Event(0, workload.First+rand.Int64N(int64(c.queryEvents))).ResourceID }},
			} {
				r, err := s.probe(ctx, c.queryProbes, func(int) string {
					return "/api/v1/events?" + q.name + "=" + q.param()
				})
				if err != nil {
					return r, err
				}
				report(out, fmt.Sprintf("GET /api/v1/events?%s over %d events (each read recorded durably first)", q.name, c.queryEvents), r)
			}
			cp, err := waitBenchCheckpoint(ctx, s, int64(c.queryEvents))
			if err != nil {
				return result{}, err
			}
			r, err := s.timeEach(c.queryProbes, func() error {
				_, err := s.db.InclusionProof(ctx, defaultWS, rand.Int64N(cp.Size), cp.Size)
				return err
			})
			if err != nil {
				return r, err
			}
			report(out, fmt.Sprintf("inclusion proof (store) in a tree of %d events", cp.Size), r)
		}
		if !skip["verify"] {
			raw, err := rawScan(ctx, filepath.Join(c.dir, "query", dbFile))
			if err != nil {
				return result{}, err
			}
			report(out, "baseline: raw scan of every event row and stored hash (database/sql, no hashing)", raw)
			start := time.Now()
			rep, err := s.db.Verify(ctx, defaultWS, vigil.VerifyOptions{})
			if err != nil {
				return result{}, err
			}
			r := result{events: rep.EventsChecked, elapsed: time.Since(start)}
			report(out, fmt.Sprintf("full re-verification (one goroutine), valid=%v", rep.Valid), r)
			fmt.Fprintf(out, "  ratio to the raw scan: %.2fx\n", r.rate()/raw.rate())
		}
		if err := benchReports(ctx, out, c, s, skip); err != nil {
			return result{}, err
		}
		return result{}, nil
	})
	return err
}

// probe sends GET requests one at a time and records each latency.
func (s *benchServer) probe(ctx context.Context, n int, path func(i int) string) (result, error) {
	return s.timeEach(n, func() error {
		req, _ := nethttp.NewRequestWithContext(ctx, "GET", s.url+path(0), nil)
		req.Header.Set("Authorization", "Bearer "+s.auditor)
		resp, err := s.client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("GET answered %d", resp.StatusCode)
		}
		return nil
	})
}

func (s *benchServer) timeEach(n int, f func() error) (result, error) {
	r := result{latencies: make([]time.Duration, 0, n)}
	start := time.Now()
	for range n {
		t0 := time.Now()
		if err := f(); err != nil {
			return r, err
		}
		r.latencies = append(r.latencies, time.Since(t0))
		r.events++
	}
	r.elapsed = time.Since(start)
	return r, nil
}

// rawScan reads every event row and every stored hash, in the order
// verification does, without decoding or hashing: the ceiling for a
// re-verification through the same driver.
func rawScan(ctx context.Context, path string) (result, error) {
	db, err := sql.Open("sqlite", sqlite.DSN(path))
	if err != nil {
		return result{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(2)
	start := time.Now()
	var n int64
	for _, q := range []struct {
		sql    string
		events bool
	}{{"SELECT * FROM events ORDER BY ws, seq", true}, {"SELECT * FROM ledger_hashes ORDER BY ws, idx", false}} {
		rows, err := db.QueryContext(ctx, q.sql)
		if err != nil {
			return result{}, err
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		for i := range vals {
			vals[i] = new(sql.RawBytes)
		}
		for rows.Next() {
			if err := rows.Scan(vals...); err != nil {
				rows.Close()
				return result{}, err
			}
			if q.events {
				n++
			}
		}
		rows.Close()
	}
	return result{events: n, elapsed: time.Since(start)}, nil
}

package main

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/vigilhq/vigil/bench/workload"
	"github.com/vigilhq/vigil/sqlite"
	"golang.org/x/time/rate"
)

// loadShape is what one ingest phase sends: single events or batches,
// from a number of keep-alive connections.
type loadShape struct {
	clients int
	batch   int // events per request; 0 sends single events
	// body, when set, replaces the workload's bodies: it returns client
	// c's body maker, which gives the body of the events numbered from
	// first.
	body func(c int) (func(first int64) []byte, error)
}

func singles(clients int) loadShape       { return loadShape{clients: clients} }
func batches(clients, size int) loadShape { return loadShape{clients: clients, batch: size} }

func (sh loadShape) perRequest() int { return max(1, sh.batch) }

func (sh loadShape) path() string {
	if sh.batch > 0 {
		return "/api/v1/events/batch"
	}
	return "/api/v1/events"
}

func (sh loadShape) String() string {
	if sh.batch > 0 {
		return fmt.Sprintf("batches of %d, %d clients", sh.batch, sh.clients)
	}
	if sh.clients == 1 {
		return "single events, 1 client"
	}
	return fmt.Sprintf("single events, %d clients", sh.clients)
}

// bodies makes client c's body maker: the workload's pre-encoded
// template, whose event numbers are written in place per request.
func (sh loadShape) bodies(c int) (func(first int64) []byte, error) {
	if sh.body != nil {
		return sh.body(c)
	}
	var t *workload.Template
	var err error
	if sh.batch > 0 {
		t, err = workload.NewBatch(c, sh.batch)
	} else {
		t, err = workload.NewSingle(c)
	}
	if err != nil {
		return nil, err
	}
	return t.Fill, nil
}

// target is where a load goes: a server's address, the ingest key sent,
// and the next unused event number (each event has its own resource_id).
type target struct {
	addr, key string
	next      *atomic.Int64
}

// take reserves n event numbers and returns the first.
func (t target) take(n int) int64 { return t.next.Add(int64(n)) - int64(n) }

// loadOptions vary a load: pace holds it to a rate of events (nil: as
// fast as the server answers); observe, when set, receives every
// request's outcome (acknowledged or not) and latency instead of the
// result keeping the latencies (a long soak would hold too many).
type loadOptions struct {
	pace    *rate.Limiter
	observe func(acked bool, lat time.Duration)
}

// runLoad sends sh to t for d and measures it: events acknowledged
// (answered 201), requests, latencies, the process's CPU time and peak
// RSS over the phase. The bodies are made before the clock starts.
func runLoad(ctx context.Context, t target, sh loadShape, d time.Duration, o loadOptions) (result, error) {
	makers := make([]func(int64) []byte, sh.clients)
	for c := range makers {
		var err error
		if makers[c], err = sh.bodies(c); err != nil {
			return result{}, err
		}
	}
	var events, requests, errs atomic.Int64
	lat := make([][]time.Duration, sh.clients)
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	per := sh.perRequest()
	resetPeakRSS()
	cpu0 := processCPU()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range sh.clients {
		wg.Go(func() {
			cl := newRawClient(t.addr)
			defer cl.close()
			for ctx.Err() == nil {
				if o.pace != nil && o.pace.WaitN(ctx, per) != nil {
					return
				}
				body := makers[c](t.take(per))
				t0 := time.Now()
				status, err := cl.post(sh.path(), t.key, body)
				if err != nil || status != 201 {
					if ctx.Err() == nil {
						errs.Add(1)
						if o.observe != nil {
							o.observe(false, time.Since(t0))
						}
					}
					continue
				}
				d := time.Since(t0)
				if o.observe != nil {
					o.observe(true, d)
				} else {
					lat[c] = append(lat[c], d)
				}
				requests.Add(1)
				events.Add(int64(per))
			}
		})
	}
	wg.Wait()
	r := result{events: events.Load(), requests: requests.Load(), elapsed: time.Since(start), errors: errs.Load(),
		cpu: processCPU() - cpu0, rssMB: peakRSSMB()}
	for _, l := range lat {
		r.latencies = append(r.latencies, l...)
	}
	return r, nil
}

// processCPU is the CPU time (user and system) the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// baselineInserts inserts the rows the store writes for the workload's
// events, straight into SQLite with the store's own schema (the events
// table and every index, sqlite.Schema) and durability (WAL,
// synchronous=FULL), in transactions of perTx rows, from one goroutine,
// for d. The rows come from writers writers in turn, as the matching
// HTTP phase's clients send them.
func baselineInserts(ctx context.Context, path string, d time.Duration, perTx, writers int) (result, error) {
	db, err := sql.Open("sqlite", sqlite.DSN(path))
	if err != nil {
		return result{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, sqlite.Schema()); err != nil {
		return result{}, err
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO workspaces (id, name, created_at) VALUES (1, 'default', 0)"); err != nil {
		return result{}, err
	}
	var r result
	var seq int64
	resetPeakRSS()
	cpu0 := processCPU()
	start := time.Now()
	deadline := start.Add(d)
	for time.Now().Before(deadline) {
		t0 := time.Now()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return r, err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO events (ws, seq, id, created_at, occurred_at, actor_id, actor_name, actor_type,
			action, resource, resource_id, metadata, tenant_id, session_id, outcome, patient_id, ip_address)
			VALUES (1,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
		if err != nil {
			tx.Rollback()
			return r, err
		}
		for range perTx {
			e := workload.Event(int(seq%int64(writers)), workload.First+seq)
			id, err := uuid.NewV7()
			if err != nil {
				stmt.Close()
				tx.Rollback()
				return r, err
			}
			now := time.Now().UnixNano()
			_, err = stmt.ExecContext(ctx, seq, id.String(), now, now, e.ActorID, e.ActorName, e.ActorType,
				e.Action, e.Resource, e.ResourceID, string(e.Metadata), e.TenantID, e.SessionID,
				string(e.Outcome), e.PatientID, e.IPAddress)
			if err != nil {
				stmt.Close()
				tx.Rollback()
				return r, err
			}
			seq++
		}
		stmt.Close()
		if err := tx.Commit(); err != nil {
			return r, err
		}
		r.latencies = append(r.latencies, time.Since(t0))
	}
	r.events, r.requests, r.elapsed = seq, int64(len(r.latencies)), time.Since(start)
	r.cpu, r.rssMB = processCPU()-cpu0, peakRSSMB()
	return r, nil
}

package main

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilhq/vigil/sqlite"
)

// benchEvent is a realistic event body: the seed's patient record view.
func benchEvent(client, i int) string {
	return fmt.Sprintf(`{"actor_id":"dr_%d","actor_name":"Dr. Emily Nakamura","actor_type":"physician","tenant_id":"clinic_bayview_medical",`+
		`"session_id":"sess_%d","action":"patient_record.viewed","resource":"patient_record","resource_id":"rec_%d","resource_name":"Record",`+
		`"patient_id":"pt_%d","purpose_of_use":"TREAT","ip_address":"203.0.113.42",`+
		`"metadata":{"sections_accessed":["demographics","medications"],"department":"internal_medicine"}}`, client, client, i%100000, i%50000)
}

// loadSingle sends one event per request from n clients for d.
func (s *benchServer) loadSingle(ctx context.Context, n int, d time.Duration) (result, error) {
	return s.load(ctx, n, d, 1, func(client, i int) string { return benchEvent(client, i) }, "/api/v1/events")
}

// loadBatch sends batches of size events from n clients for d.
func (s *benchServer) loadBatch(ctx context.Context, n, size int, d time.Duration) (result, error) {
	return s.load(ctx, n, d, size, func(client, i int) string {
		var b strings.Builder
		b.WriteString(`{"events":[`)
		for j := range size {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(benchEvent(client, i*size+j))
		}
		b.WriteString(`]}`)
		return b.String()
	}, "/api/v1/events/batch")
}

func (s *benchServer) load(ctx context.Context, n int, d time.Duration, perRequest int, body func(client, i int) string, path string) (result, error) {
	var events, errs atomic.Int64
	lat := make([][]time.Duration, n)
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	addr := strings.TrimPrefix(s.url, "http://")
	for c := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := newRawClient(addr)
			defer cl.close()
			for i := 0; ctx.Err() == nil; i++ {
				b := []byte(body(c, i))
				t0 := time.Now()
				status, err := cl.post(path, s.ingest, b)
				if err != nil || status != 201 {
					errs.Add(1)
					continue
				}
				lat[c] = append(lat[c], time.Since(t0))
				events.Add(int64(perRequest))
			}
		}()
	}
	wg.Wait()
	r := result{events: events.Load(), elapsed: time.Since(start), errors: errs.Load(), rssMB: currentRSSMB()}
	for _, l := range lat {
		r.latencies = append(r.latencies, l...)
	}
	return r, nil
}

// baselineInserts inserts the same rows the store writes, straight into
// SQLite with the same schema and durability (WAL, synchronous=FULL), in
// transactions of perTx rows, from one goroutine, for d.
func baselineInserts(ctx context.Context, path string, d time.Duration, perTx int) (result, error) {
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
	meta := `{"department":"internal_medicine","sections_accessed":["demographics","medications"]}`
	// The row values are made before the clock starts, so the baseline
	// measures SQLite alone.
	const pool = 4096
	actors, sessions, records, patients := make([]string, pool), make([]string, pool), make([]string, pool), make([]string, pool)
	for i := range pool {
		actors[i], sessions[i] = fmt.Sprintf("dr_%d", i%256), fmt.Sprintf("sess_%d", i%256)
		records[i], patients[i] = fmt.Sprintf("rec_%d", i), fmt.Sprintf("pt_%d", i/2)
	}
	var r result
	var seq int64
	start := time.Now()
	deadline := start.Add(d)
	for time.Now().Before(deadline) {
		t0 := time.Now()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return r, err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO events (ws, seq, id, created_at, occurred_at, actor_id, actor_name, actor_type,
			action, resource, resource_id, resource_name, metadata, tenant_id, session_id, outcome, patient_id, purpose_of_use, ip_address)
			VALUES (1,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
		if err != nil {
			tx.Rollback()
			return r, err
		}
		for j := 0; j < perTx; j++ {
			now := t0.UnixNano() + int64(j)
			i := seq % pool
			_, err := stmt.ExecContext(ctx, seq, "0190b5a0-0000-7000-8000-"+strconv.FormatInt(1e11+seq, 10)[:12], now, now,
				actors[i], "Dr. Emily Nakamura", "physician", "patient_record.viewed", "patient_record",
				records[i], "Record", meta, "clinic_bayview_medical", sessions[i],
				"success", patients[i], "TREAT", "203.0.113.42")
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
	r.events, r.elapsed = seq, time.Since(start)
	return r, nil
}

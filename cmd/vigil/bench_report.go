package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/bench/workload"
	vreport "github.com/vigilhq/vigil/report"
)

// The query data set's events occur evenly over one year from
// queryEpoch, so "one day" selects 1/365 of them, as in a real log.
var queryEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func queryStep(n int) time.Duration { return 365 * 24 * time.Hour / time.Duration(max(n, 1)) }

func queryOccurred(i, n int) time.Time { return queryEpoch.Add(time.Duration(i) * queryStep(n)) }

// benchReports measures reports and exports over the query data set of
// s: report 2 for one patient, report 1 for one day, an export of
// c.exportEvents events in each format, each with its peak RSS, and batch
// ingest with and without a report running beside it.
func benchReports(ctx context.Context, out io.Writer, c benchConfig, s *benchServer, skip map[string]bool) error {
	n := c.queryEvents
	cp, err := waitBenchCheckpoint(ctx, s, int64(n))
	if err != nil {
		return err
	}
	dir := filepath.Join(c.dir, "reports")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	gen := func(typ, params, format string) (result, int64, error) {
		job := vigil.Report{Workspace: defaultWS, CreatedBy: "bench", Kind: vigil.KindReport, Type: typ, Params: []byte(params), Format: format}
		if typ == "export" {
			job.Kind, job.Type = vigil.KindExport, ""
		}
		if err := vreport.Prepare(ctx, &job, time.Now(), nil); err != nil {
			return result{}, 0, err
		}
		resetPeakRSS()
		start := time.Now()
		rows, size, _, err := vreport.WriteFile(filepath.Join(dir, job.ID+"."+format), func(w io.Writer) (int64, error) {
			return vreport.Generate(ctx, s.db, job, cp, "", w, time.Now())
		})
		r := result{events: rows, elapsed: time.Since(start), rssMB: peakRSSMB()}
		os.Remove(filepath.Join(dir, job.ID+"."+format))
		return r, size, err
	}
	show := func(name string, r result, size int64) {
		fmt.Fprintf(out, "%s\n  %d rows in %.3fs = %.0f rows/s, file %.1f MB, peak RSS during the phase %.0f MB\n",
			name, r.events, r.elapsed.Seconds(), r.rate(), float64(size)/1e6, r.rssMB)
	}
	if !skip["reports"] {
		var worst result
		var total time.Duration
		const patients = 20
		for i := range patients {
			r, size, err := gen(vigil.ReportPatientAccess, fmt.Sprintf(`{"patient_id":%q}`, workload.Event(0, workload.First+int64((i*7919)%min(workload.Patients, n))).PatientID), "csv")
			if err != nil {
				return err
			}
			total += r.elapsed
			if r.elapsed > worst.elapsed {
				worst = r
			}
			_ = size
		}
		fmt.Fprintf(out, "report 2 (everyone who accessed one patient, whole log of %d events), CSV, %d patients\n  mean %s, slowest %s (%d rows), peak RSS %.0f MB\n",
			n, patients, round(total/patients), round(worst.elapsed), worst.events, worst.rssMB)
		day := queryEpoch.Add(100 * 24 * time.Hour)
		r, size, err := gen(vigil.ReportAccessByInterval, fmt.Sprintf(`{"from":%q,"to":%q}`, day.Format(time.RFC3339), day.Add(24*time.Hour).Format(time.RFC3339)), "csv")
		if err != nil {
			return err
		}
		show(fmt.Sprintf("report 1 (PHI access per actor, one day = %d events of %d), CSV", n/365, n), r, size)
		r, size, err = gen(vigil.ReportAccessByInterval, fmt.Sprintf(`{"from":%q,"to":%q}`, day.Format(time.RFC3339), day.Add(24*time.Hour).Format(time.RFC3339)), "pdf")
		if err != nil {
			return err
		}
		show("report 1, same day, PDF", r, size)
	}
	if !skip["export"] {
		m := min(c.exportEvents, n)
		if m < c.exportEvents {
			fmt.Fprintf(out, "export: --export-events %d exceeds the %d stored events; exporting %d\n", c.exportEvents, n, m)
		}
		to := queryEpoch.Add(time.Duration(m) * queryStep(n))
		filters := fmt.Sprintf(`{"from":%q,"to":%q}`, queryEpoch.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
		for _, format := range vreport.ExportFormats {
			r, size, err := gen("export", filters, format)
			if err != nil {
				return err
			}
			show(fmt.Sprintf("export of %d events, %s", m, format), r, size)
		}
	}
	if !skip["reportload"] {
		base, err := runLoad(ctx, s.target(), batches(c.batchConc, c.batchSize), c.duration, loadOptions{})
		if err != nil {
			return err
		}
		report(out, fmt.Sprintf("ingest beside the query data set, batches of %d, %d clients, no report running", c.batchSize, c.batchConc), base)
		lctx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		var reports int64
		job := vigil.Report{Workspace: defaultWS, CreatedBy: "bench", Kind: vigil.KindReport, Type: vigil.ReportAccessByInterval,
			Params: []byte(`{"from":"2025-01-01","to":"2026-01-01"}`), Format: "csv"}
		what := "report 1 over the whole year (sorted by actor)"
		if c.besideJob == "export" {
			job = vigil.Report{Workspace: defaultWS, CreatedBy: "bench", Kind: vigil.KindExport, Format: "csv"}
			what = "a CSV export of the whole log (in sequence order)"
		}
		if err := vreport.Prepare(ctx, &job, time.Now(), nil); err != nil {
			stop()
			return err
		}
		wg.Go(func() {
			// The same job again and again, beside ingest the whole time.
			for lctx.Err() == nil {
				if _, err := vreport.Generate(lctx, vreport.Paced(s.db, c.reportShare), job, cp, "", io.Discard, time.Now()); err == nil {
					reports++
				}
			}
		})
		with, err := runLoad(ctx, s.target(), batches(c.batchConc, c.batchSize), c.duration, loadOptions{})
		report(out, fmt.Sprintf("same ingest while %s runs in a loop beside it, paced to %.2f of a core", what, c.reportShare), with)
		stop()
		wg.Wait()
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  ingest with a report running is %.2fx ingest without (%.0f%% slowdown; %d whole jobs completed meanwhile)\n",
			with.rate()/base.rate(), 100*(1-with.rate()/base.rate()), reports)
	}
	return nil
}

func waitBenchCheckpoint(ctx context.Context, s *benchServer, n int64) (vigil.Checkpoint, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		cp, err := s.db.Checkpoint(ctx, defaultWS, -1)
		if err == nil && cp.Size >= n {
			return cp, nil
		}
		if time.Now().After(deadline) {
			return cp, fmt.Errorf("no checkpoint of the %d stored events: %v", n, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

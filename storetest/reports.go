package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

// ReportBackend is what RunReports exercises: report and export jobs.
type ReportBackend interface {
	vigil.KeyStore
	vigil.ReportStore
	Close() error
}

// ReportOpener opens a fresh, empty store whose clock is now; the suite
// closes it.
type ReportOpener func(t *testing.T, now func() time.Time) ReportBackend

// RunReports is the conformance suite of vigil.ReportStore.
func RunReports(t *testing.T, open ReportOpener) {
	t.Run("CreateAndRead", func(t *testing.T) { testReportCreateAndRead(t, open) })
	t.Run("List", func(t *testing.T) { testReportList(t, open) })
	t.Run("Scope", func(t *testing.T) { testReportScope(t, open) })
	t.Run("BadJob", func(t *testing.T) { testReportBadJob(t, open) })
	t.Run("Claim", func(t *testing.T) { testReportClaim(t, open) })
	t.Run("ClaimOnce", func(t *testing.T) { testReportClaimOnce(t, open) })
	t.Run("Finish", func(t *testing.T) { testReportFinish(t, open) })
	t.Run("Requeue", func(t *testing.T) { testReportRequeue(t, open) })
	t.Run("Expiry", func(t *testing.T) { testReportExpiry(t, open) })
	t.Run("Purge", func(t *testing.T) { testReportPurge(t, open) })
}

func openReports(t *testing.T, open ReportOpener) (ReportBackend, *Clock) {
	t.Helper()
	c := NewClock()
	s := open(t, c.Now)
	t.Cleanup(func() { s.Close() })
	ensure(t, s, "ws", "other")
	return s, c
}

// job is a prepared job as ReportService.Prepare leaves it.
func job(ws, kind, tenant string, n int, created time.Time) vigil.Report {
	r := vigil.Report{ID: fmt.Sprintf("0190b000-0000-7000-8000-%012d", n), Workspace: ws, TenantScope: tenant,
		CreatedBy: "key_" + ws, Kind: kind, Type: vigil.ReportPatientAccess,
		Params: json.RawMessage(fmt.Sprintf(`{"patient_id":"pt_%d","from":"2029-01-01T00:00:00Z"}`, n)),
		Format: "csv", Status: vigil.JobPending, CreatedAt: created, RetainUntil: created.AddDate(7, 0, 0)}
	if kind == vigil.KindExport {
		r.Type, r.Format = "events", "ndjson"
	}
	return r
}

func mustCreateReport(t *testing.T, s vigil.ReportStore, r vigil.Report) vigil.Report {
	t.Helper()
	if err := s.CreateReport(ctx(t), r); err != nil {
		t.Fatalf("CreateReport(%s): %v", r.ID, err)
	}
	return r
}

func sameReport(t *testing.T, what string, got, want vigil.Report) {
	t.Helper()
	g, w := got, want
	g.Params, w.Params = nil, nil
	for _, r := range []*vigil.Report{&g, &w} {
		r.CreatedAt, r.StartedAt, r.GeneratedAt, r.FinishedAt, r.ExpiresAt, r.RetainUntil = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	}
	if !sameJSON(got.Params, want.Params) || fmt.Sprint(g) != fmt.Sprint(w) ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.StartedAt.Equal(want.StartedAt) || !got.GeneratedAt.Equal(want.GeneratedAt) ||
		!got.FinishedAt.Equal(want.FinishedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) || !got.RetainUntil.Equal(want.RetainUntil) {
		t.Fatalf("%s =\n %+v, want\n %+v", what, got, want)
	}
}

func reportIDs(rs []vigil.Report) string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return strings.Join(ids, ",")
}

func reportIDsOf(rs ...vigil.Report) string { return reportIDs(rs) }

func testReportCreateAndRead(t *testing.T, open ReportOpener) {
	s, c := openReports(t, open)
	r := mustCreateReport(t, s, job("ws", vigil.KindReport, "t1", 1, c.Now()))
	got, err := s.Report(ctx(t), "ws", "", vigil.KindReport, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameReport(t, "Report", got, r)
	if got.Downloadable() {
		t.Fatal("a pending job is downloadable")
	}
	for _, tc := range []struct{ ws, kind, id string }{
		{"ws", vigil.KindExport, r.ID}, // a report is not an export
		{"other", vigil.KindReport, r.ID},
		{"ws", vigil.KindReport, "0190b000-0000-7000-8000-999999999999"},
		{"never-made", vigil.KindReport, r.ID},
	} {
		if _, err := s.Report(ctx(t), tc.ws, "", tc.kind, tc.id); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Fatalf("Report(%s, %s, %s): %v, want %s", tc.ws, tc.kind, tc.id, err, vigil.ENOTFOUND)
		}
	}
	if err := s.CreateReport(ctx(t), job("never-made", vigil.KindReport, "", 2, c.Now())); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("CreateReport in no workspace: %v, want %s", err, vigil.ENOTFOUND)
	}
}

// testReportList: Reports lists one workspace's jobs of one kind, newest
// first, up to the limit.
func testReportList(t *testing.T, open ReportOpener) {
	s, c := openReports(t, open)
	base := c.Now()
	r1 := mustCreateReport(t, s, job("ws", vigil.KindReport, "", 1, base.Add(2*time.Second)))
	r2 := mustCreateReport(t, s, job("ws", vigil.KindReport, "", 2, base))
	r3 := mustCreateReport(t, s, job("ws", vigil.KindReport, "", 3, base.Add(time.Second)))
	e1 := mustCreateReport(t, s, job("ws", vigil.KindExport, "", 4, base.Add(3*time.Second)))
	o1 := mustCreateReport(t, s, job("other", vigil.KindReport, "", 5, base.Add(4*time.Second)))
	for _, tc := range []struct {
		ws, kind string
		limit    int
		want     []vigil.Report
	}{
		{"ws", vigil.KindReport, 10, []vigil.Report{r1, r3, r2}},
		{"ws", vigil.KindReport, 2, []vigil.Report{r1, r3}},
		{"ws", vigil.KindExport, 10, []vigil.Report{e1}},
		{"other", vigil.KindReport, 10, []vigil.Report{o1}},
		{"other", vigil.KindExport, 10, nil},
	} {
		got, err := s.Reports(ctx(t), tc.ws, "", tc.kind, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if reportIDs(got) != reportIDsOf(tc.want...) {
			t.Fatalf("Reports(%s, %s, %d) = [%s], want [%s]", tc.ws, tc.kind, tc.limit, reportIDs(got), reportIDsOf(tc.want...))
		}
		for i := range got {
			sameReport(t, "listed job", got[i], tc.want[i])
		}
	}
}

// testReportScope: a tenant scope sees only the jobs created in that
// scope; an unrestricted reader sees every job.
func testReportScope(t *testing.T, open ReportOpener) {
	s, c := openReports(t, open)
	a := mustCreateReport(t, s, job("ws", vigil.KindReport, "t1", 1, c.Now()))
	b := mustCreateReport(t, s, job("ws", vigil.KindReport, "t2", 2, c.Advance(time.Second)))
	all := mustCreateReport(t, s, job("ws", vigil.KindReport, "", 3, c.Advance(time.Second)))
	if got, err := s.Reports(ctx(t), "ws", "t1", vigil.KindReport, 10); err != nil || reportIDs(got) != a.ID {
		t.Fatalf("Reports in scope t1 = [%s] %v, want [%s]", reportIDs(got), err, a.ID)
	}
	if got, err := s.Reports(ctx(t), "ws", "", vigil.KindReport, 10); err != nil || reportIDs(got) != reportIDsOf(all, b, a) {
		t.Fatalf("Reports unrestricted = [%s] %v", reportIDs(got), err)
	}
	if _, err := s.Report(ctx(t), "ws", "t1", vigil.KindReport, a.ID); err != nil {
		t.Fatalf("t1 reading its job: %v", err)
	}
	for _, id := range []string{b.ID, all.ID} {
		if _, err := s.Report(ctx(t), "ws", "t1", vigil.KindReport, id); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Fatalf("t1 read job %s: %v, want %s", id, err, vigil.ENOTFOUND)
		}
	}
}

// testReportBadJob: a job of no known kind or status, or whose id is
// taken, is refused (EINVALID, ECONFLICT) and nothing is stored or changed.
func testReportBadJob(t *testing.T, open ReportOpener) {
	s, c := openReports(t, open)
	first := mustCreateReport(t, s, job("ws", vigil.KindReport, "", 1, c.Now()))
	badKind := job("ws", "archive", "", 2, c.Now())
	badStatus := job("ws", vigil.KindReport, "", 3, c.Now())
	badStatus.Status = "queued"
	for _, r := range []vigil.Report{badKind, badStatus} {
		if err := s.CreateReport(ctx(t), r); vigil.ErrorCode(err) != vigil.EINVALID {
			t.Fatalf("CreateReport(kind %q, status %q): %v, want %s", r.Kind, r.Status, err, vigil.EINVALID)
		}
	}
	dup := job("ws", vigil.KindExport, "t9", 1, c.Advance(time.Hour))
	if err := s.CreateReport(ctx(t), dup); vigil.ErrorCode(err) != vigil.ECONFLICT {
		t.Fatalf("CreateReport with a taken id: %v, want %s", err, vigil.ECONFLICT)
	}
	got, err := s.Reports(ctx(t), "ws", "", vigil.KindReport, 10)
	if err != nil || reportIDs(got) != first.ID {
		t.Fatalf("Reports after refusals = [%s] %v, want [%s]", reportIDs(got), err, first.ID)
	}
	sameReport(t, "the first job", got[0], first)
	if got, _ := s.Reports(ctx(t), "ws", "", vigil.KindExport, 10); len(got) != 0 {
		t.Fatalf("a refused export was stored: [%s]", reportIDs(got))
	}
}

func mustClaim(t *testing.T, s vigil.ReportStore, now time.Time) vigil.Report {
	t.Helper()
	r, ok, err := s.ClaimReport(ctx(t), now)
	if err != nil || !ok {
		t.Fatalf("ClaimReport = %v %v, want a job", ok, err)
	}
	return r
}

// testReportClaim: claims take pending jobs oldest first, across
// workspaces and kinds, each marked processing at the claim's time.
func testReportClaim(t *testing.T, open ReportOpener) {
	s, c := openReports(t, open)
	if _, ok, err := s.ClaimReport(ctx(t), c.Now()); err != nil || ok {
		t.Fatalf("ClaimReport of an empty queue = %v %v", ok, err)
	}
	base := c.Now()
	r1 := mustCreateReport(t, s, job("other", vigil.KindExport, "", 1, base.Add(time.Second)))
	r2 := mustCreateReport(t, s, job("ws", vigil.KindReport, "t1", 2, base))
	r3 := mustCreateReport(t, s, job("ws", vigil.KindReport, "", 3, base.Add(2*time.Second)))
	for i, want := range []vigil.Report{r2, r1, r3} {
		at := c.Advance(time.Minute)
		got := mustClaim(t, s, at)
		want.Status, want.StartedAt = vigil.JobProcessing, at
		sameReport(t, fmt.Sprintf("claim %d", i), got, want)
		stored, err := s.Report(ctx(t), want.Workspace, "", want.Kind, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameReport(t, fmt.Sprintf("claimed job %d as stored", i), stored, want)
	}
	if _, ok, err := s.ClaimReport(ctx(t), c.Now()); err != nil || ok {
		t.Fatalf("ClaimReport once all are claimed = %v %v", ok, err)
	}
}

// testReportClaimOnce: workers claiming at once each get a different job,
// and every job is claimed exactly once.
func testReportClaimOnce(t *testing.T, open ReportOpener) {
	s, c := openReports(t, open)
	const jobs, workers = 24, 6
	var want []string
	for i := range jobs {
		r := mustCreateReport(t, s, job("ws", vigil.KindReport, "", i, c.Advance(time.Millisecond)))
		want = append(want, r.ID)
	}
	var mu sync.Mutex
	var claimed []string
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				r, ok, err := s.ClaimReport(ctx(t), c.Now())
				if err != nil {
					errs <- err
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				claimed = append(claimed, r.ID)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent ClaimReport: %v", err)
	}
	slices.Sort(claimed)
	if !slices.Equal(claimed, want) {
		t.Fatalf("claimed %d jobs %v, want each of %d once", len(claimed), claimed, jobs)
	}
}

// completed is the outcome a worker stores for a generated file.
func completed(r vigil.Report, at time.Time, file string) vigil.Report {
	r.Status = vigil.JobCompleted
	r.CheckpointSize, r.CheckpointRoot, r.Rows = 42, vigil.Hash{1, 2, 3, 4}, 17
	r.File, r.FileSize, r.SHA256 = file, 2048, strings.Repeat("ab", 32)
	r.GeneratedAt, r.FinishedAt, r.ExpiresAt = at, at.Add(time.Second), at.Add(24*time.Hour)
	return r
}

// testReportFinish: a processing job's outcome is stored exactly; a job
// not processing is not finished.
func testReportFinish(t *testing.T, open ReportOpener) {
	s, c := openReports(t, open)
	ok := mustCreateReport(t, s, job("ws", vigil.KindReport, "", 1, c.Now()))
	bad := mustCreateReport(t, s, job("ws", vigil.KindExport, "", 2, c.Advance(time.Second)))
	waiting := mustCreateReport(t, s, job("ws", vigil.KindReport, "", 3, c.Advance(time.Second)))
	okc := mustClaim(t, s, c.Advance(time.Minute))
	badc := mustClaim(t, s, c.Advance(time.Minute))
	if okc.ID != ok.ID || badc.ID != bad.ID {
		t.Fatalf("claimed %s and %s, want %s and %s", okc.ID, badc.ID, ok.ID, bad.ID)
	}
	done := completed(okc, c.Advance(time.Minute), ok.ID+".csv")
	if err := s.FinishReport(ctx(t), done); err != nil {
		t.Fatal(err)
	}
	got, err := s.Report(ctx(t), "ws", "", vigil.KindReport, ok.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameReport(t, "completed job", got, done)
	if !got.Downloadable() {
		t.Fatal("a completed job with its file is not downloadable")
	}
	failed := badc
	failed.Status, failed.Error, failed.FinishedAt = vigil.JobFailed, "the export is larger than the configured limit", c.Advance(time.Second)
	if err := s.FinishReport(ctx(t), failed); err != nil {
		t.Fatal(err)
	}
	if got, err = s.Report(ctx(t), "ws", "", vigil.KindExport, bad.ID); err != nil {
		t.Fatal(err)
	}
	sameReport(t, "failed job", got, failed)
	if got.Downloadable() {
		t.Fatal("a failed job is downloadable")
	}
	// Finishing a job that is not processing (pending, or finished
	// already) changes nothing.
	if err := s.FinishReport(ctx(t), completed(waiting, c.Now(), "stray.csv")); err != nil {
		t.Fatal(err)
	}
	if got, err = s.Report(ctx(t), "ws", "", vigil.KindReport, waiting.ID); err != nil {
		t.Fatal(err)
	}
	sameReport(t, "pending job after a stray finish", got, waiting)
	again := failed
	again.Error = "overwritten"
	if err := s.FinishReport(ctx(t), again); err != nil {
		t.Fatal(err)
	}
	if got, err = s.Report(ctx(t), "ws", "", vigil.KindExport, bad.ID); err != nil {
		t.Fatal(err)
	}
	sameReport(t, "failed job after a second finish", got, failed)
}

// testReportRequeue: jobs left processing go back to pending, unstarted,
// and are claimed again oldest first; finished jobs stay as they are.
func testReportRequeue(t *testing.T, open ReportOpener) {
	s, c := openReports(t, open)
	r1 := mustCreateReport(t, s, job("ws", vigil.KindReport, "", 1, c.Now()))
	r2 := mustCreateReport(t, s, job("ws", vigil.KindReport, "", 2, c.Advance(time.Second)))
	r3 := mustCreateReport(t, s, job("other", vigil.KindExport, "", 3, c.Advance(time.Second)))
	mustClaim(t, s, c.Advance(time.Minute))
	mustClaim(t, s, c.Advance(time.Minute))
	c3 := mustClaim(t, s, c.Advance(time.Minute))
	done := completed(c3, c.Advance(time.Minute), "r3.ndjson")
	if err := s.FinishReport(ctx(t), done); err != nil {
		t.Fatal(err)
	}
	n, err := s.RequeueRunning(ctx(t))
	if err != nil || n != 2 {
		t.Fatalf("RequeueRunning = %d %v, want 2", n, err)
	}
	for _, want := range []vigil.Report{r1, r2} {
		got, err := s.Report(ctx(t), "ws", "", vigil.KindReport, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameReport(t, "requeued job", got, want)
	}
	got, err := s.Report(ctx(t), "other", "", vigil.KindExport, r3.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameReport(t, "completed job after a requeue", got, done)
	if n, err := s.RequeueRunning(ctx(t)); err != nil || n != 0 {
		t.Fatalf("second RequeueRunning = %d %v, want 0", n, err)
	}
	if got := mustClaim(t, s, c.Advance(time.Minute)); got.ID != r1.ID {
		t.Fatalf("claim after the requeue got %s, want the oldest %s", got.ID, r1.ID)
	}
}

// finished creates, claims and completes a job whose file expires at
// expires.
func finished(t *testing.T, s vigil.ReportStore, c *Clock, n int, expires time.Time) vigil.Report {
	t.Helper()
	mustCreateReport(t, s, job("ws", vigil.KindReport, "", n, c.Now()))
	r := completed(mustClaim(t, s, c.Now()), c.Now(), fmt.Sprintf("r%d.csv", n))
	r.ExpiresAt = expires
	if err := s.FinishReport(ctx(t), r); err != nil {
		t.Fatal(err)
	}
	return r
}

// testReportExpiry: ExpiredReports lists the completed jobs whose file
// expired, soonest first; a forgotten file is no longer listed, a restored
// one is listed again when it expires.
func testReportExpiry(t *testing.T, open ReportOpener) {
	s, c := openReports(t, open)
	t0 := c.Now()
	late := finished(t, s, c, 1, t0.Add(3*time.Hour))
	soon := finished(t, s, c, 2, t0.Add(time.Hour))
	// A failed job has no file to expire.
	mustCreateReport(t, s, job("ws", vigil.KindReport, "", 3, c.Now()))
	f := mustClaim(t, s, c.Now())
	f.Status, f.Error, f.FinishedAt, f.ExpiresAt = vigil.JobFailed, "failed", c.Now(), t0.Add(time.Minute)
	if err := s.FinishReport(ctx(t), f); err != nil {
		t.Fatal(err)
	}
	expired := func(at time.Time) string {
		rs, err := s.ExpiredReports(ctx(t), at)
		if err != nil {
			t.Fatal(err)
		}
		return reportIDs(rs)
	}
	if got := expired(t0.Add(30 * time.Minute)); got != "" {
		t.Fatalf("expired before any expiry: [%s]", got)
	}
	if got := expired(t0.Add(2 * time.Hour)); got != soon.ID {
		t.Fatalf("expired at 2h = [%s], want [%s]", got, soon.ID)
	}
	if got := expired(t0.Add(4 * time.Hour)); got != reportIDsOf(soon, late) {
		t.Fatalf("expired at 4h = [%s], want [%s]", got, reportIDsOf(soon, late))
	}
	if err := s.ForgetReportFile(ctx(t), soon.ID); err != nil {
		t.Fatal(err)
	}
	if got := expired(t0.Add(4 * time.Hour)); got != late.ID {
		t.Fatalf("expired after forgetting a file = [%s], want [%s]", got, late.ID)
	}
	got, err := s.Report(ctx(t), "ws", "", vigil.KindReport, soon.ID)
	if err != nil {
		t.Fatal(err)
	}
	forgotten := soon
	forgotten.File = ""
	sameReport(t, "job with its file forgotten", got, forgotten)
	if !got.Downloadable() {
		t.Fatal("a completed job whose file can be regenerated is not downloadable")
	}
	restoredUntil := t0.Add(10 * time.Hour)
	if err := s.RestoreReportFile(ctx(t), soon.ID, "r2-again.csv", restoredUntil); err != nil {
		t.Fatal(err)
	}
	if got, err = s.Report(ctx(t), "ws", "", vigil.KindReport, soon.ID); err != nil {
		t.Fatal(err)
	}
	restored := soon
	restored.File, restored.ExpiresAt = "r2-again.csv", restoredUntil
	sameReport(t, "job with its file restored", got, restored)
	if got := expired(t0.Add(4 * time.Hour)); got != late.ID {
		t.Fatalf("expired at 4h after the restore = [%s], want [%s]", got, late.ID)
	}
	if got := expired(t0.Add(11 * time.Hour)); got != reportIDsOf(late, restored) {
		t.Fatalf("expired at 11h = [%s], want [%s]", got, reportIDsOf(late, restored))
	}
}

// testReportPurge: records past their retention are deleted and returned
// (id, kind, file), the others kept; a purge finds each record once.
func testReportPurge(t *testing.T, open ReportOpener) {
	s, c := openReports(t, open)
	t0 := c.Now()
	short := job("ws", vigil.KindReport, "", 1, t0)
	short.RetainUntil = t0.Add(24 * time.Hour)
	mustCreateReport(t, s, short)
	gone := completed(mustClaim(t, s, t0), t0, "r1.csv")
	if err := s.FinishReport(ctx(t), gone); err != nil {
		t.Fatal(err)
	}
	shortExport := job("other", vigil.KindExport, "", 2, t0)
	shortExport.RetainUntil = t0.Add(48 * time.Hour)
	mustCreateReport(t, s, shortExport)
	kept := mustCreateReport(t, s, job("ws", vigil.KindReport, "", 3, t0))
	if rs, err := s.PurgeReports(ctx(t), t0.Add(time.Hour)); err != nil || len(rs) != 0 {
		t.Fatalf("PurgeReports before any retention ended = [%s] %v", reportIDs(rs), err)
	}
	rs, err := s.PurgeReports(ctx(t), t0.Add(72*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(rs, func(a, b vigil.Report) int { return strings.Compare(a.ID, b.ID) })
	if len(rs) != 2 || rs[0].ID != short.ID || rs[0].Kind != vigil.KindReport || rs[0].File != "r1.csv" ||
		rs[1].ID != shortExport.ID || rs[1].Kind != vigil.KindExport || rs[1].File != "" {
		t.Fatalf("PurgeReports = %+v", rs)
	}
	if _, err := s.Report(ctx(t), "ws", "", vigil.KindReport, short.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("a purged job reads: %v, want %s", err, vigil.ENOTFOUND)
	}
	if _, err := s.Report(ctx(t), "other", "", vigil.KindExport, shortExport.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("a purged export reads: %v, want %s", err, vigil.ENOTFOUND)
	}
	got, err := s.Report(ctx(t), "ws", "", vigil.KindReport, kept.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameReport(t, "retained job", got, kept)
	if rs, err := s.PurgeReports(ctx(t), t0.Add(72*time.Hour)); err != nil || len(rs) != 0 {
		t.Fatalf("second PurgeReports = [%s] %v", reportIDs(rs), err)
	}
}

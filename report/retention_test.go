package report_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/report"
)

// TestRemovedFileRegenerated: a report's file removed after its lifetime
// is regenerated at its recorded checkpoint when it is opened, byte for
// byte (the log has grown and the clock moved on since), and its record
// names it again.
func TestRemovedFileRegenerated(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := seeded(t)
	c := &clock{t: time.Now()}
	svc := newService(t, db, dir, c)
	var jobs []vigil.Report
	for _, j := range []vigil.Report{
		{Kind: vigil.KindReport, Type: vigil.ReportPatientAccess, Params: json.RawMessage(`{"patient_id":"pt_1"}`), Format: "pdf"},
		{Kind: vigil.KindReport, Type: vigil.ReportOffHours, Params: json.RawMessage(`{"timezone":"UTC","start_hour":20,"end_hour":6}`), Format: "json"},
		{Kind: vigil.KindExport, Params: json.RawMessage(`{"tenant_id":"t1"}`), Format: "parquet"},
		{Kind: vigil.KindExport, Format: "ndjson"},
	} {
		j.Workspace, j.CreatedBy = "default", "key_auditor"
		queued, err := svc.Submit(ctx, j)
		if err != nil {
			t.Fatal(err)
		}
		if ran, err := svc.RunOne(ctx); !ran || err != nil {
			t.Fatal(ran, err)
		}
		r, err := db.Report(ctx, "default", "", j.Kind, queued.ID)
		if err != nil || r.Status != vigil.JobCompleted || r.GeneratedAt.IsZero() || r.CreatedBy != "key_auditor" {
			t.Fatalf("%+v %v", r, err)
		}
		if want := r.CreatedAt.Add(report.DefaultRetention); !r.RetainUntil.Equal(want) || !r.ExpiresAt.Equal(r.FinishedAt.Add(time.Hour)) {
			t.Fatalf("retained until %v (want %v), file until %v", r.RetainUntil, want, r.ExpiresAt)
		}
		jobs = append(jobs, r)
	}
	if _, err := db.Append(ctx, "default", []vigil.Event{{ActorID: "dr_a", Action: "patient_record.viewed", PatientID: "pt_1", TenantID: "t1"}}); err != nil {
		t.Fatal(err)
	}
	c.add(2 * time.Hour)
	svc.Sweep(ctx)
	for _, j := range jobs {
		r, err := db.Report(ctx, "default", "", j.Kind, j.ID)
		if err != nil || r.File != "" || r.SHA256 != j.SHA256 {
			t.Fatalf("after the file's lifetime: %+v %v", r, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "reports", j.File)); !os.IsNotExist(err) {
			t.Fatalf("%s: file still there", j.File)
		}
		f, err := svc.Open(ctx, r)
		if err != nil {
			t.Fatalf("%s %s: %v", j.Kind, j.Format, err)
		}
		b, _ := io.ReadAll(f)
		f.Close()
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != j.SHA256 || int64(len(b)) != j.FileSize {
			t.Errorf("%s %s: regenerated %d bytes do not match the recorded SHA-256", j.Kind, j.Format, len(b))
		}
		r, _ = db.Report(ctx, "default", "", j.Kind, j.ID)
		if r.File != j.File || !r.ExpiresAt.Equal(c.now().Add(time.Hour)) {
			t.Errorf("record after regeneration: %+v", r)
		}
		if fi, err := os.Stat(filepath.Join(dir, "reports", r.File)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("regenerated file: %v %v", fi, err)
		}
	}
}

// TestRegeneratedFileMustMatch: a regenerated file that is not the one
// first generated is refused, and not kept: the events below its
// checkpoint are not what they were.
func TestRegeneratedFileMustMatch(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openDB(t, dir)
	defer db.Close()
	if _, err := db.Append(ctx, "default", []vigil.Event{
		{ActorID: "dr_a", ActorName: "Dr. A", Action: "patient_record.viewed", PatientID: "pt_1", SessionID: "s1"},
		{ActorID: "dr_a", ActorName: "Dr. A", Action: "patient_record.viewed", PatientID: "pt_2", SessionID: "s1"},
	}); err != nil {
		t.Fatal(err)
	}
	waitCheckpoint(t, db, 2)
	c := &clock{t: time.Now()}
	var logs bytes.Buffer
	svc, err := report.New(report.Config{Store: db, Source: db, Dir: filepath.Join(dir, "reports"), VerifierKey: testVKey,
		Now: c.now, FileLifetime: time.Hour, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	job, err := svc.Submit(ctx, vigil.Report{Workspace: "default", CreatedBy: "k", Kind: vigil.KindReport, Type: vigil.ReportSession,
		Params: json.RawMessage(`{"session_id":"s1"}`), Format: "csv"})
	if err != nil {
		t.Fatal(err)
	}
	svc.RunOne(ctx)
	c.add(2 * time.Hour)
	svc.Sweep(ctx)
	// The events the report read are changed behind the store's back.
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "vigil.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{"DROP TRIGGER events_no_update", "UPDATE events SET action = 'patient_record.printed' WHERE session_id = 's1'"} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	r, _ := db.Report(ctx, "default", "", vigil.KindReport, job.ID)
	if _, err := svc.Open(ctx, r); vigil.ErrorCode(err) != vigil.ECONFLICT || !strings.Contains(vigil.ErrorMessage(err), "does not match its recorded SHA-256") {
		t.Fatalf("open: %v", err)
	}
	if files, _ := os.ReadDir(filepath.Join(dir, "reports")); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
	if r, _ := db.Report(ctx, "default", "", vigil.KindReport, job.ID); r.File != "" {
		t.Errorf("the record names a file: %+v", r)
	}
	if !strings.Contains(logs.String(), "differs from the one first generated") {
		t.Errorf("not logged: %s", logs.String())
	}
}

// TestRecordsKeptForRetention: a job's record outlives its file for the
// retention period (seven years by default), then goes with any file.
func TestRecordsKeptForRetention(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := seeded(t)
	c := &clock{t: time.Now()}
	svc := newService(t, db, dir, c)
	old, err := svc.Submit(ctx, vigil.Report{Workspace: "default", CreatedBy: "k", Kind: vigil.KindExport, Format: "csv"})
	if err != nil {
		t.Fatal(err)
	}
	svc.RunOne(ctx)
	c.add(report.DefaultRetention - 24*time.Hour)
	recent, err := svc.Submit(ctx, vigil.Report{Workspace: "default", CreatedBy: "k", Kind: vigil.KindExport, Format: "csv"})
	if err != nil {
		t.Fatal(err)
	}
	svc.RunOne(ctx)
	// Six years and more later, both records are there.
	svc.Sweep(ctx)
	for _, id := range []string{old.ID, recent.ID} {
		if _, err := db.Report(ctx, "default", "", vigil.KindExport, id); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	// Past seven years the first goes; the other's file goes after its
	// lifetime, its record stays.
	c.add(2 * 24 * time.Hour)
	svc.Sweep(ctx)
	if _, err := db.Report(ctx, "default", "", vigil.KindExport, old.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Errorf("a record past its retention: %v", err)
	}
	r, err := db.Report(ctx, "default", "", vigil.KindExport, recent.ID)
	if err != nil || r.File != "" {
		t.Errorf("the recent record: %+v %v", r, err)
	}
	if files, _ := os.ReadDir(filepath.Join(dir, "reports")); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
}

// TestRetentionAtLeastSixYears: a service refuses to keep records for
// less than six years, or files for longer than their records.
func TestRetentionAtLeastSixYears(t *testing.T) {
	db := seeded(t)
	for _, c := range []struct {
		retention, lifetime time.Duration
		want                string
	}{
		{7 * 24 * time.Hour, 0, "at least six years (2192d"},
		{report.MinRetention - time.Hour, 0, "at least six years"},
		{report.MinRetention, report.MinRetention + time.Hour, "at most its record's retention"},
	} {
		_, err := report.New(report.Config{Store: db, Source: db, Dir: t.TempDir(), Retention: c.retention, FileLifetime: c.lifetime})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("retention %v, lifetime %v: %v", c.retention, c.lifetime, err)
		}
	}
	if _, err := report.New(report.Config{Store: db, Source: db, Dir: t.TempDir(), Retention: report.MinRetention}); err != nil {
		t.Error(err)
	}
}

// TestEarlierFilesNotRegenerated: a job of an earlier version recorded no
// generation time, so its removed file cannot be regenerated; opening it
// says so.
func TestEarlierFilesNotRegenerated(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := seeded(t)
	c := &clock{t: time.Now()}
	svc := newService(t, db, dir, c)
	job, err := svc.Submit(ctx, vigil.Report{Workspace: "default", CreatedBy: "k", Kind: vigil.KindExport, Format: "csv"})
	if err != nil {
		t.Fatal(err)
	}
	svc.RunOne(ctx)
	c.add(2 * time.Hour)
	svc.Sweep(ctx)
	r, _ := db.Report(ctx, "default", "", vigil.KindExport, job.ID)
	r.GeneratedAt = time.Time{}
	if _, err := svc.Open(ctx, r); vigil.ErrorCode(err) != vigil.ENOTFOUND || !strings.Contains(vigil.ErrorMessage(err), "earlier version") {
		t.Errorf("open: %v", err)
	}
}

package sqlite_test

import (
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

// TestReportStatusesMigrated: jobs stored by earlier versions, with their
// statuses (queued, running, done), read in the SDKs' vocabulary
// (pending, processing, completed) after the upgrade, and keep their
// records for the default retention.
func TestReportStatusesMigrated(t *testing.T) {
	dir := t.TempDir()
	db := MustOpenDB(t, dir)
	if _, err := db.EnsureWorkspace(ctx(t), "default"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// The table as migration 0003 made it (before 0006 and 0007), holding one job of each status.
	raw := rawDB(t, dir)
	for _, q := range []string{
		`DROP TABLE reports`,
		`CREATE TABLE reports (
			id TEXT PRIMARY KEY, ws INTEGER NOT NULL REFERENCES workspaces(id), tenant_scope TEXT, created_by TEXT NOT NULL,
			kind TEXT NOT NULL CHECK (kind IN ('report', 'export')), type TEXT NOT NULL, params TEXT NOT NULL, format TEXT NOT NULL,
			status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
			checkpoint_size INTEGER, checkpoint_root BLOB, row_count INTEGER, file_path TEXT, file_size INTEGER, sha256 TEXT, error TEXT,
			created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER, expires_at INTEGER) STRICT`,
		`INSERT INTO reports (id, ws, created_by, kind, type, params, format, status, created_at, sha256, checkpoint_size) VALUES
			('q', 1, 'key_a', 'export', 'events', '{}', 'csv', 'queued', 1, NULL, NULL),
			('r', 1, 'key_a', 'export', 'events', '{}', 'csv', 'running', 2, NULL, NULL),
			('d', 1, 'key_a', 'export', 'events', '{}', 'csv', 'done', 3, 'abc', 7),
			('f', 1, 'key_a', 'export', 'events', '{}', 'csv', 'failed', 4, NULL, NULL)`,
		`DELETE FROM schema_migrations WHERE name IN ('0006_report_status.sql', '0007_report_retention.sql')`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()
	db = MustOpenDB(t, dir)
	defer db.Close()
	want := map[string]string{"q": vigil.JobPending, "r": vigil.JobProcessing, "d": vigil.JobCompleted, "f": vigil.JobFailed}
	for id, status := range want {
		r, err := db.Report(ctx(t), "default", "", vigil.KindExport, id)
		if err != nil || r.Status != status || r.CreatedBy != "key_a" {
			t.Errorf("%s: %+v %v, want status %s", id, r, err, status)
		}
	}
	// Their records are kept seven years from their request; their time
	// of generation was not recorded.
	r, _ := db.Report(ctx(t), "default", "", vigil.KindExport, "d")
	if r.SHA256 != "abc" || r.CheckpointSize != 7 || !r.GeneratedAt.IsZero() || !r.RetainUntil.Equal(time.Unix(0, 3).Add(2557*24*time.Hour)) {
		t.Errorf("the completed job's record: %+v", r)
	}
	// The pending one is the next to run.
	if r, ok, err := db.ClaimReport(ctx(t), time.Now()); err != nil || !ok || r.ID != "q" || r.Status != vigil.JobProcessing {
		t.Errorf("claim: %+v %v %v", r, ok, err)
	}
}

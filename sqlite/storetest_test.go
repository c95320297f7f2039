package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilhq/vigil/sqlite"
	"github.com/vigilhq/vigil/storetest"
)

// openAt opens a store on a fresh file whose clock is now.
func openAt(t *testing.T, now func() time.Time) *sqlite.DB {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(context.Background(), sqlite.Config{
		Path: filepath.Join(dir, "vigil.db"), LogName: "test.vigil", SigningKey: testKey,
		WitnessPath: filepath.Join(dir, "ledger.witness"), Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestKeyStoreConformance(t *testing.T) {
	storetest.RunKeys(t, func(t *testing.T, now func() time.Time) storetest.KeyBackend { return openAt(t, now) })
}

func TestAlertStoreConformance(t *testing.T) {
	storetest.RunAlerts(t, func(t *testing.T, now func() time.Time) (storetest.AlertBackend, storetest.RaiseFunc) {
		db := openAt(t, now)
		return db, db.RaiseAlert
	})
}

func TestOutboxConformance(t *testing.T) {
	storetest.RunOutbox(t, func(t *testing.T, now func() time.Time) (storetest.OutboxBackend, storetest.RaiseFunc) {
		db := openAt(t, now)
		return db, db.RaiseAlert
	})
}

func TestReportStoreConformance(t *testing.T) {
	storetest.RunReports(t, func(t *testing.T, now func() time.Time) storetest.ReportBackend { return openAt(t, now) })
}

func TestUserStoreConformance(t *testing.T) {
	storetest.RunUsers(t, func(t *testing.T, now func() time.Time) storetest.UserBackend { return openAt(t, now) })
}

func TestAnchorStoreConformance(t *testing.T) {
	storetest.RunAnchors(t, func(t *testing.T, now func() time.Time) storetest.AnchorBackend { return openAt(t, now) })
}

func TestProjectionConformance(t *testing.T) {
	storetest.RunProjections(t, func(t *testing.T) func() storetest.ProjectionBackend {
		dir := t.TempDir()
		return func() storetest.ProjectionBackend { return MustOpenDB(t, dir) }
	})
}

func TestLegalHoldConformance(t *testing.T) {
	storetest.RunLegalHolds(t, func(t *testing.T) storetest.LegalHoldBackend { return openAt(t, time.Now) })
}

// TestLegalHoldConformanceSealed runs the suite over a store that
// encrypts at rest, whose holds keep their patient as a blind index and
// their content sealed.
func TestLegalHoldConformanceSealed(t *testing.T) {
	storetest.RunLegalHolds(t, func(t *testing.T) storetest.LegalHoldBackend { return openSealed(t) })
}

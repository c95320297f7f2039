package sqlite_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/crypt"
	"github.com/vigilhq/vigil/sqlite"
)

// openSealed opens a store on a fresh file with a KEK beside it: the
// store encrypts at rest.
func openSealed(t *testing.T) *sqlite.DB {
	t.Helper()
	return openSealedAt(t, t.TempDir())
}

func openSealedAt(t *testing.T, dir string) *sqlite.DB {
	t.Helper()
	kek, err := crypt.OpenKEKFile(filepath.Join(dir, "kek.key"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(context.Background(), sqlite.Config{
		Path: filepath.Join(dir, "vigil.db"), LogName: "test.vigil", SigningKey: testKey,
		WitnessPath: filepath.Join(dir, "ledger.witness"), KEK: kek,
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// TestLegalHoldsHoldNoPatientOrReasonInClear: with encryption at rest, a
// hold's patient id and both its reasons are in no file of the store, in
// any case; the hold still reads back whole and covers its patient.
func TestLegalHoldsHoldNoPatientOrReasonInClear(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openSealedAt(t, dir)
	defer db.Close()
	if _, err := db.EnsureWorkspace(ctx, "ws"); err != nil {
		t.Fatal(err)
	}
	const patient, reason, release = "MarkerPatient7731", "MarkerReasonQx Litigation", "MarkerReleaseZv settled"
	h, err := db.CreateLegalHold(ctx, vigil.LegalHold{Workspace: "ws", PatientID: patient, Reason: reason, CreatedBy: "key_a", CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := db.Covers(ctx, "ws", vigil.HoldSubject{PatientID: patient}); err != nil || len(c) != 1 || c[0].PatientID != patient || c[0].Reason != reason {
		t.Fatalf("covers %+v %v", c, err)
	}
	if c, err := db.Covers(ctx, "ws", vigil.HoldSubject{PatientID: "someone else"}); err != nil || len(c) != 0 {
		t.Fatalf("another patient is covered: %+v %v", c, err)
	}
	if _, err := db.ReleaseLegalHold(ctx, "ws", h.ID, "key_b", release, time.Now()); err != nil {
		t.Fatal(err)
	}
	got, err := db.LegalHold(ctx, "ws", h.ID)
	if err != nil || got.PatientID != patient || got.Reason != reason || got.ReleaseReason != release {
		t.Fatalf("read back %+v %v", got, err)
	}
	// Every file: the database, its WAL (where the rows are until a
	// checkpoint), the keys.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	searched := 0
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // a directory
		}
		searched++
		for _, m := range []string{patient, "MarkerReasonQx", "MarkerReleaseZv"} {
			if bytes.Contains(bytes.ToLower(b), []byte(strings.ToLower(m))) {
				t.Errorf("%s holds %s", e.Name(), m)
			}
		}
	}
	if searched < 2 {
		t.Fatalf("only %d files searched", searched)
	}
}
